"""The protocol's five standard flows (protocol: flow examples 1-5, docs/RULES.md), end to end through the services."""

import pytest

from governance_app import services as gs
from governance_app.models import CanonDocument, DecisionRecord
from requests_app import services as rs
from requests_app.models import BrainRequest, McrUpdateStatus, RequestEvent, RequestStatus
from tasks_app import services as ts
from tasks_app.models import TaskEvent, TaskStatus
from tests.engine import OUTCOME, actor, token_actor

pytestmark = pytest.mark.django_db


def test_flow_1_research_to_affiliate_offer_review_returns_a_complete_outcome(reviewer, owner, other_owner):
    research, affiliate, head_office = actor(owner), actor(other_owner), actor(reviewer)
    request = rs.request_create(
        actor=research, destination_brain="affiliate", request_type="offer_review_request",
        request_title="Review offer: collagen gummies", source_origin="research_signal", priority="high",
        request_summary="Search demand for collagen gummies rose 40% in four weeks; review the offer.",
    )
    rs.request_route(request=request, actor=head_office, review_owner="headoffice")
    rs.request_accept(request=request, actor=affiliate)
    task = ts.task_create(request=request, actor=affiliate, task_type="offer_review_task", title="Score the offer")
    executor = token_actor("affiliate")
    claimed = ts.task_claim_next(actor=executor)
    assert claimed.pk == task.pk
    ts.task_start(task=claimed, actor=executor)
    artifact = ts.task_artifact_save(task=claimed, actor=executor, artifact_type="verdict",
                                     artifact_summary="Offer scorecard: 8/10", content_json={"score": 8})
    ts.task_complete(task=claimed, actor=executor)
    request.refresh_from_db()
    rs.request_respond(request=request, actor=affiliate, outcome_type="recommendation_delivered",
                       response_summary="Strong offer: recommend a controlled test at a capped budget.")
    closed = rs.request_close(request=request, actor=research, **{**OUTCOME, "outcome_evidence": [str(artifact.pk)]})

    assert closed.status == RequestStatus.CLOSED
    assert closed.outcome_evidence == [{"kind": "artifact", "id": str(artifact.pk)}]
    statuses = list(RequestEvent.objects.filter(request=request, event_type="status_changed")
                    .values_list("to_status", flat=True))
    assert statuses == ["routed", "in_progress", "responded", "closed"]
    assert list(TaskEvent.objects.filter(task=task).values_list("event_type", flat=True)) == [
        "created", "picked_up", "started", "output_saved", "completed"]


def test_flow_2_affiliate_to_experimentation_keeps_offer_and_intake_lineage(reviewer, brains, django_user_model):
    from tests.conftest import _member

    affiliate = actor(_member("aff", brains["affiliate"], "owner"))
    experimentation = actor(_member("exp", brains["experimentation"], "owner"))
    head_office = actor(reviewer)
    parent = rs.request_create(actor=affiliate, destination_brain="research", request_type="research_request",
                               request_title="Background on the offer",
                               request_summary="We need a market background before testing this offer.")
    request = rs.request_create(
        actor=affiliate, destination_brain="experimentation", request_type="experimentation_request",
        request_title="Design a test for offer 881", offer_id="offer-881", intake_id="intake-42",
        parent_request_id=parent.pk,
        request_summary="The offer passed review; define a test structure with budget guardrails.",
    )
    rs.request_route(request=request, actor=head_office, review_owner="headoffice")
    rs.request_accept(request=request, actor=experimentation)
    rs.request_respond(request=request, actor=experimentation, outcome_type="approved_for_next_stage",
                       response_summary="A/B test defined: two landing pages, 14 days, 500 EUR cap.")
    request.refresh_from_db()
    assert (request.offer_id, request.intake_id, request.parent_request_id) == ("offer-881", "intake-42", parent.pk)
    assert request.status == RequestStatus.RESPONDED


def test_flow_3_experimentation_to_finance_escalates_material_capital_exposure(reviewer, brains):
    from tests.conftest import _member

    experimentation = actor(_member("exp", brains["experimentation"], "owner"))
    finance = actor(_member("fin", brains["finance"], "owner"))
    request = rs.request_create(
        actor=experimentation, destination_brain="finance", request_type="finance_review_request",
        request_title="Raise the test budget", source_origin="experiment_result", escalation_flag=True,
        request_summary="The test beat control by 22%; we ask to raise its budget from 500 to 5,000 EUR.",
    )
    rs.request_route(request=request, actor=actor(reviewer), review_owner="finance")
    rs.request_accept(request=request, actor=finance)
    rs.request_escalate(request=request, actor=finance, escalation_owner="headoffice",
                        escalation_reason="Exposure of 5,000 EUR exceeds Finance's 2,000 EUR limit.")
    resolved = gs.escalation_resolve(
        request=request, actor=actor(reviewer), resolution="continue",
        decision_summary="Approve 3,000 EUR with weekly pacing checks.",
        reasoning="The uplift is significant but the sample is one market; cap the exposure.",
    )
    assert resolved.status == RequestStatus.IN_PROGRESS
    assert resolved.escalation_flag is True
    decision = DecisionRecord.objects.get(related_request=request)
    assert decision.decision_kind == "escalation_resolution" and decision.authority_id == "headoffice"


def test_flow_4_brain_site_feedback_reaches_mcr_only_through_headoffice(reviewer, owner):
    research, head_office = actor(owner), actor(reviewer)
    canon = CanonDocument.objects.create(slug="request-protocol", title="Brain To Brain Request Protocol",
                                         version="v1.2", body="Rule 5 — statuses.")
    request = rs.request_create(
        actor=research, destination_brain="headoffice", request_type="mcr_update_suggestion",
        request_title="Add an awaiting_data status", source_origin="brain_site_feedback",
        mcr_update_suggested=True,
        request_summary="Our workspace needs a status for requests waiting on third-party data.",
    )
    assert request.mcr_update_status == McrUpdateStatus.SUGGESTED
    gs.feedback_classify(request=request, actor=head_office, classification="propose_mcr_update",
                         note="A real gap seen in three Brains; worth a canon change.")
    request.refresh_from_db()
    assert (request.status, request.mcr_update_status) == ("awaiting_mcr_decision", "proposed")
    gs.mcr_decide(request=request, actor=head_office, decision="approved", canon_document_id=canon.pk,
                  reasoning="Approved after review of the three workspaces' evidence.",
                  amended_body="Rule 5 — statuses, including awaiting_data.", new_version="v1.3")
    request.refresh_from_db()
    canon.refresh_from_db()
    assert (request.status, request.mcr_update_status) == ("closed", "approved")
    assert canon.version == "v1.3" and canon.amendments.get().decision.mcr_decision == "approved"


def test_flow_5_brain_room_message_becomes_a_routed_request_with_a_task(reviewer, brains):
    from tests.conftest import _member

    content = actor(_member("con", brains["content"], "owner"))
    room = token_actor("research", role="integration", label="brain-room")
    request = rs.request_create(
        actor=room, destination_brain="content", request_type="brain_room_request", priority="urgent",
        request_title="Draft three headlines", source_origin="brain_room", source_system="brain_room",
        request_summary="User asked in the Brain Room for three headline options for the gummies test.",
        meta_json={"expected_output": "three headlines", "task_type": "copywriting"},
    )
    rs.request_route(request=request, actor=actor(reviewer), review_owner="headoffice")
    task = ts.task_create(request=request, actor=content, task_type="copywriting")
    assert task.status == TaskStatus.QUEUED and task.priority == "urgent"
    assert BrainRequest.objects.get(pk=request.pk).requesting_brain_id == "research"
