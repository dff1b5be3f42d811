"""The protocol's five standard flows (protocol: flow examples 1-5, docs/RULES.md), driven only through the
JSON API: every step is an HTTP call with a bearer token, as a plugin, a Brain or an executor
would make it. What the tests assert is what a client reads back (and, at the end, what the
database holds)."""

import pytest

from governance_app.models import CanonDocument, TokenRole
from tests.api_client import OUTCOME, Api, api_as

pytestmark = pytest.mark.django_db


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:500])
    return response.json() if response.content else {}


def transition(api: Api, request_id: str, **body) -> dict:
    return ok(api.post(f"/requests/{request_id}/transition", body))


def status_trail(detail: dict) -> list[str]:
    return [e["to_status"] for e in detail["events"] if e["event_type"] == "status_changed"]


@pytest.fixture
def head_office(brains) -> Api:
    return api_as("headoffice", TokenRole.HEADOFFICE)


def test_flow_1_research_to_affiliate_offer_review_returns_a_complete_outcome(head_office):
    research, affiliate = api_as("research"), api_as("affiliate")
    executor = api_as("affiliate", TokenRole.EXECUTOR)
    request = ok(research.post("/requests", {
        "destination_brain": "affiliate", "request_type": "offer_review_request", "priority": "high",
        "request_title": "Review offer: collagen gummies", "source_origin": "research_signal",
        "request_summary": "Search demand for collagen gummies rose 40% in four weeks; review the offer."}), 201)
    rid = request["request_id"]

    transition(head_office, rid, to_status="routed", review_owner="headoffice")
    transition(affiliate, rid, to_status="in_progress")
    task = ok(affiliate.post(f"/requests/{rid}/tasks", {"task_type": "offer_review_task",
                                                        "title": "Score the offer"}), 201)
    claimed = ok(executor.post("/tasks/claim"))
    ok(executor.post(f"/tasks/{claimed['task_id']}/transition", {"to_status": "running"}))
    artifact = ok(executor.post(f"/tasks/{claimed['task_id']}/artifacts", {
        "artifact_type": "verdict", "artifact_summary": "Offer scorecard: 8/10", "content_json": {"score": 8}}), 201)
    ok(executor.post(f"/tasks/{claimed['task_id']}/transition", {"to_status": "completed"}))
    transition(affiliate, rid, to_status="responded", outcome_type="recommendation_delivered",
               response_summary="Strong offer: recommend a controlled test at a capped budget.")
    closed = transition(research, rid, to_status="closed", **{**OUTCOME, "outcome_evidence": [artifact["artifact_id"]]})

    assert claimed["task_id"] == task["task_id"]
    assert closed["request_status"] == "closed"
    assert closed["outcome_evidence"] == [{"kind": "artifact", "id": artifact["artifact_id"]}]
    chain = ok(head_office.get(f"/requests/{rid}"))  # HeadOffice remains able to view the chain
    assert status_trail(chain) == ["routed", "in_progress", "responded", "closed"]
    assert [e["event_type"] for e in chain["tasks"][0]["events"]] == [
        "created", "picked_up", "started", "output_saved", "completed"]
    assert chain["moves_open"] == []


def test_flow_2_affiliate_to_experimentation_keeps_offer_and_intake_lineage(head_office):
    affiliate, experimentation = api_as("affiliate"), api_as("experimentation")
    parent = ok(affiliate.post("/requests", {
        "destination_brain": "research", "request_type": "research_request",
        "request_title": "Background on offer 881",
        "request_summary": "We need a market background before testing this offer."}), 201)
    request = ok(affiliate.post("/requests", {
        "destination_brain": "experimentation", "request_type": "experimentation_request",
        "request_title": "Design a test for offer 881", "offer_id": "offer-881", "intake_id": "intake-42",
        "parent_request_id": parent["request_id"],
        "request_summary": "The offer passed review; define a test structure with budget guardrails."}), 201)
    rid = request["request_id"]

    transition(head_office, rid, to_status="routed", review_owner="headoffice")
    transition(experimentation, rid, to_status="in_progress")
    transition(experimentation, rid, to_status="responded", outcome_type="approved_for_next_stage",
               response_summary="A/B test defined: two landing pages, 14 days, 500 EUR cap.")
    closed = transition(affiliate, rid, to_status="closed", **{
        **OUTCOME, "outcome_type": "approved_for_next_stage", "next_step": "Affiliate launches the defined test.",
        "next_step_owner": "affiliate"})

    detail = ok(affiliate.get(f"/requests/{rid}"))
    assert (detail["offer_id"], detail["intake_id"], detail["parent"]["request_id"]) == (
        "offer-881", "intake-42", parent["request_id"])
    assert closed["request_status"] == "closed"
    assert [c["request_id"] for c in ok(head_office.get(f"/requests/{parent['request_id']}"))["children"]] == [rid]


def test_flow_3_experimentation_to_finance_escalates_material_capital_exposure(head_office):
    experimentation, finance = api_as("experimentation"), api_as("finance")
    request = ok(experimentation.post("/requests", {
        "destination_brain": "finance", "request_type": "finance_review_request",
        "request_title": "Raise the test budget", "source_origin": "experiment_result", "escalation_flag": True,
        "request_summary": "The test beat control by 22%; we ask to raise its budget from 500 to 5,000 EUR."}), 201)
    rid = request["request_id"]

    transition(head_office, rid, to_status="routed", review_owner="finance")
    transition(finance, rid, to_status="in_progress")
    escalated = transition(finance, rid, to_status="escalated", escalation_owner="headoffice",
                           escalation_reason="Exposure of 5,000 EUR exceeds Finance's 2,000 EUR limit.")
    resolved = ok(head_office.post(f"/requests/{rid}/decisions", {
        "resolution": "continue", "decision_summary": "Approve 3,000 EUR with weekly pacing checks.",
        "reasoning": "The uplift is significant but the sample is one market; cap the exposure."}), 201)
    transition(finance, rid, to_status="responded", outcome_type="decision_recorded",
               response_summary="Approved 3,000 EUR, paced weekly, per the HeadOffice decision.")
    closed = transition(experimentation, rid, to_status="closed", **{
        **OUTCOME, "outcome_type": "decision_recorded", "outcome_evidence": [resolved["decision"]["decision_id"]],
        "next_step": "Experimentation raises the budget to 3,000 EUR with weekly pacing.",
        "next_step_owner": "experimentation"})

    assert escalated["request_status"] == "escalated" and escalated["held_from_status"] == "in_progress"
    assert resolved["request"]["request_status"] == "in_progress" and resolved["request"]["escalation_flag"]
    assert resolved["decision"]["authority"] == "headoffice"
    assert closed["outcome_evidence"] == [{"kind": "decision", "id": resolved["decision"]["decision_id"]}]
    assert status_trail(ok(head_office.get(f"/requests/{rid}"))) == [
        "routed", "in_progress", "escalated", "in_progress", "responded", "closed"]


def test_flow_4_brain_site_feedback_reaches_mcr_only_through_headoffice(head_office):
    research = api_as("research")
    canon = CanonDocument.objects.create(slug="request-protocol", title="Brain To Brain Request Protocol",
                                         version="v1.2", body="Rule 5 — statuses.")
    request = ok(research.post("/requests", {
        "destination_brain": "headoffice", "request_type": "mcr_update_suggestion",
        "request_title": "Add an awaiting_data status", "source_origin": "brain_site_feedback",
        "mcr_update_suggested": True,
        "request_summary": "Our workspace needs a status for requests waiting on third-party data."}), 201)
    rid = request["request_id"]
    assert request["mcr_update_status"] == "suggested"

    # The Brain site cannot approve its own suggestion, nor classify it.
    assert research.post(f"/requests/{rid}/mcr-decision", {
        "decision": "approved", "reasoning": "We are confident this is right."}).status_code == 409
    assert research.post(f"/requests/{rid}/classification", {
        "classification": "propose_mcr_update", "note": "We are confident this is right."}).status_code == 403

    proposed = ok(head_office.post(f"/requests/{rid}/classification", {
        "classification": "propose_mcr_update", "note": "A real gap seen in three Brains; worth a canon change."}),
        201)
    assert research.post(f"/requests/{rid}/mcr-decision", {
        "decision": "approved", "reasoning": "We are confident this is right."}).status_code == 403
    decided = ok(head_office.post(f"/requests/{rid}/mcr-decision", {
        "decision": "approved", "reasoning": "Approved after review of the three workspaces' evidence.",
        "canon_document_id": str(canon.pk), "amended_body": "Rule 5 — statuses, including awaiting_data.",
        "new_version": "v1.3"}), 201)

    assert (proposed["request"]["request_status"], proposed["request"]["mcr_update_status"]) == (
        "awaiting_mcr_decision", "proposed")
    assert (decided["request"]["request_status"], decided["request"]["mcr_update_status"]) == ("closed", "approved")
    kinds = [d["decision_kind"] for d in ok(research.get(f"/requests/{rid}"))["decisions"]]
    assert kinds == ["feedback_classification", "mcr_decision"]
    canon.refresh_from_db()
    assert canon.version == "v1.3" and canon.amendments.get().decision.mcr_decision == "approved"


def test_flow_5_brain_room_message_becomes_a_routed_request_with_a_task(head_office):
    room, research = api_as("research", TokenRole.INTEGRATION, "brain-room"), api_as("research")
    content, content_executor = api_as("content"), api_as("content", TokenRole.EXECUTOR)
    request = ok(room.post("/brain-room/messages", {
        "requested_brain": "content", "urgency": "urgent", "task_type": "copywriting",
        "expected_output": "Three headline options under 60 characters.",
        "source_context": {"room": "gummies-test"},
        "user_instruction": "Draft three headlines for the collagen gummies test page."}), 201)
    rid = request["request_id"]

    transition(head_office, rid, to_status="routed", review_owner="headoffice")
    transition(content, rid, to_status="in_progress")
    task = ok(content.post(f"/requests/{rid}/tasks", {
        "task_type": request["meta_json"]["brain_room"]["task_type"],
        "input_payload": {"instruction": request["request_summary"]}}), 201)
    claimed = ok(content_executor.post("/tasks/claim"))
    ok(content_executor.post(f"/tasks/{claimed['task_id']}/transition", {"to_status": "running"}))
    ok(content_executor.post(f"/tasks/{claimed['task_id']}/transition", {
        "to_status": "completed", "result_summary": "Three headlines drafted and shared in the Brain Room."}))
    transition(content, rid, to_status="responded", outcome_type="recommendation_delivered",
               response_summary="Three headlines: 'Collagen you can chew', 'Gummies, not pills', 'Skin food'.")
    closed = transition(research, rid, to_status="closed", **{
        **OUTCOME, "result_summary": "Three headline options were drafted for the test page.",
        "next_step": "Experimentation tests the three headlines.", "next_step_owner": "experimentation"})

    assert (request["request_type"], request["origin_brain"], request["priority"]) == (
        "brain_room_request", "research", "urgent")
    assert (task["task_status"], task["priority"], claimed["task_id"]) == ("queued", "urgent", task["task_id"])
    assert closed["request_status"] == "closed" and closed["related_task_ids"] == [task["task_id"]]
    assert ok(room.get(f"/requests/{rid}"))["request_status"] == "closed"  # the Brain Room reads what it created
