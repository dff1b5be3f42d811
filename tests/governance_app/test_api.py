"""The governance API: decisions (and escalation resolution), feedback classification (protocol
rule 13) and the MCR gate, each only for those allowed."""

import pytest

from governance_app.models import CanonAmendment, CanonDocument, CanonProposal, DecisionRecord
from requests_app.models import BrainRequest
from tests.api_client import (  # noqa: F401 - fixtures
    OUTCOME,
    affiliate,
    api_as,
    content,
    created,
    head_office,
    integration,
    moved,
    research,
    routed,
)
from tests.engine import CANON_BODY, CANON_PROPOSED, canon_document

pytestmark = pytest.mark.django_db

DECISION = {"decision_summary": "Proceed with a capped test budget of 500 EUR.",
            "reasoning": "The demand signal is strong but unproven in our markets."}


@pytest.fixture
def feedback(research) -> dict:
    """An MCR update suggestion from Research to HeadOffice (protocol flow example 4), with its
    exact change to the Request Protocol."""
    return created(research, destination_brain="headoffice", request_type="mcr_update_suggestion",
                   request_title="Add an awaiting_data status", source_origin="brain_site_feedback",
                   mcr_update_suggested=True, canon_document=canon_document().slug, proposed_text=CANON_PROPOSED,
                   request_summary="Our workspace needs a status for requests waiting on third-party data.")


@pytest.fixture
def escalated(routed, affiliate) -> dict:
    """The routed request, accepted and escalated by Affiliate to Finance."""
    moved(affiliate, routed["request_id"], to_status="in_progress")
    return moved(affiliate, routed["request_id"], to_status="escalated", escalation_owner="finance",
                 escalation_reason="Testing this offer needs 5,000 EUR, above Affiliate's limit.")


# --- POST /requests/{request_id}/decisions -------------------------------------------------------

def test_headoffice_records_a_decision_on_the_lineage(head_office, routed):
    response = head_office.post(f"/requests/{routed['request_id']}/decisions", {**DECISION,
                                                                              "evidence_used": "Research dossier"})

    assert response.status_code == 201
    body = response.json()
    decision = DecisionRecord.objects.get()
    assert body["decision"]["decision_id"] == str(decision.pk)
    assert (decision.authority_id, str(decision.related_request_id), decision.evidence_used) == (
        "headoffice", routed["request_id"], "Research dossier")
    assert body["request"]["request_status"] == "routed"


def test_an_operational_brain_may_not_record_a_decision(affiliate, routed):
    response = affiliate.post(f"/requests/{routed['request_id']}/decisions", DECISION)

    assert response.status_code == 403
    assert DecisionRecord.objects.count() == 0


def test_an_integration_may_not_record_a_decision(integration):
    request = created(integration)

    assert integration.post(f"/requests/{request['request_id']}/decisions", DECISION).status_code == 403


def test_a_decision_needs_real_reasoning(head_office, routed):
    response = head_office.post(f"/requests/{routed['request_id']}/decisions", {**DECISION, "reasoning": "ok"})

    assert response.status_code == 422
    assert "reasoning" in response.json()["errors"]


def test_affected_brains_are_brains_of_the_registry(head_office, routed):
    unknown = head_office.post(f"/requests/{routed['request_id']}/decisions",
                               {**DECISION, "affected_brains": ["finance", "marketing"]})
    named = head_office.post(f"/requests/{routed['request_id']}/decisions",
                             {**DECISION, "affected_brains": ["finance", "ads", "finance"]})

    assert unknown.status_code == 422
    assert "marketing" in unknown.json()["errors"]["affected_brains"]
    assert named.status_code == 201
    assert DecisionRecord.objects.get().affected_brains == ["finance", "ads"]


def test_a_correction_supersedes_and_never_edits(head_office, routed):
    first = head_office.post(f"/requests/{routed['request_id']}/decisions", DECISION).json()["decision"]

    second = head_office.post(f"/requests/{routed['request_id']}/decisions", {
        **DECISION, "decision_summary": "Proceed with a capped test budget of 300 EUR.",
        "supersedes_id": first["decision_id"]}).json()["decision"]

    assert second["supersedes_id"] == first["decision_id"]
    assert DecisionRecord.objects.get(pk=first["decision_id"]).decision_summary == DECISION["decision_summary"]
    auth = {"Authorization": f"Bearer {head_office.secret}"}
    for method in ("put", "patch", "delete"):
        assert getattr(head_office.client, method)(f"/api/v1/requests/{routed['request_id']}/decisions",
                                                   headers=auth).status_code == 405


def _decisions_of(request_id: str) -> list[tuple]:
    return list(DecisionRecord.objects.filter(related_request_id=request_id).order_by("created_at")
                .values_list("pk", "authority", "decision_summary", "supersedes"))


def test_a_decision_is_superseded_only_by_its_own_authority_or_headoffice(escalated, head_office, brains):
    """Issue 17: a Finance token superseded a HeadOffice decision. Finance corrects Finance's own
    decisions; HeadOffice corrects any; Finance correcting HeadOffice is 403 and records nothing."""
    url = f"/requests/{escalated['request_id']}/decisions"
    finance = api_as("finance")
    ours = head_office.post(url, DECISION).json()["decision"]
    theirs = finance.post(url, {**DECISION, "decision_summary": "Hold the budget at 300 EUR."}).json()["decision"]
    before = _decisions_of(escalated["request_id"])

    refused = finance.post(url, {**DECISION, "decision_summary": "Hold the budget at 200 EUR.",
                                 "supersedes_id": ours["decision_id"]})

    assert refused.status_code == 403
    assert refused.json()["detail"] == "A decision of headoffice is superseded only by headoffice, not by finance."
    assert refused.json()["errors"] == {"supersedes_id": refused.json()["detail"]}
    assert _decisions_of(escalated["request_id"]) == before
    own = finance.post(url, {**DECISION, "decision_summary": "Hold the budget at 250 EUR.",
                             "supersedes_id": theirs["decision_id"]})
    by_headoffice = head_office.post(url, {**DECISION, "decision_summary": "Hold the budget at 400 EUR.",
                                           "supersedes_id": theirs["decision_id"]})
    assert (own.status_code, own.json()["decision"]["supersedes_id"]) == (201, theirs["decision_id"])
    assert (by_headoffice.status_code, by_headoffice.json()["decision"]["authority"]) == (201, "headoffice")


def test_a_closed_request_takes_no_more_decisions_nor_corrections(escalated, head_office, brains):
    """Issue 17: a Finance token superseded HeadOffice's escalation decision on a closed request
    (201). A closed or rejected request takes no more decisions, from anyone: 409."""
    url = f"/requests/{escalated['request_id']}/decisions"
    closing = head_office.post(url, {**DECISION, "resolution": "close", **OUTCOME}).json()
    assert closing["request"]["request_status"] == "closed"
    resolution = closing["decision"]["decision_id"]
    before = _decisions_of(escalated["request_id"])
    events = BrainRequest.objects.get(pk=escalated["request_id"]).events.count()

    answers = [api_as("finance").post(url, {**DECISION, "supersedes_id": resolution}),
               head_office.post(url, {**DECISION, "supersedes_id": resolution}),
               head_office.post(url, DECISION)]

    assert [a.status_code for a in answers] == [409, 409, 409]
    assert answers[0].json()["detail"] == (
        "This request is closed: a closed or rejected request takes no more decisions, and its decisions are not "
        "superseded. Record a lesson, or open a new request.")
    assert _decisions_of(escalated["request_id"]) == before
    assert BrainRequest.objects.get(pk=escalated["request_id"]).events.count() == events


def test_a_decision_on_a_request_the_caller_cannot_see_is_404(routed, brains):
    finance = api_as("finance")

    assert finance.post(f"/requests/{routed['request_id']}/decisions", DECISION).status_code == 404


def test_headoffice_resolves_an_escalation_by_a_decision_and_the_request_continues(escalated, head_office):
    response = head_office.post(f"/requests/{escalated['request_id']}/decisions", {
        **DECISION, "resolution": "continue"})

    assert response.status_code == 201
    body = response.json()
    assert (body["decision"]["decision_kind"], body["decision"]["authority"]) == (
        "escalation_resolution", "headoffice")
    assert (body["request"]["request_status"], body["request"]["escalation_flag"]) == ("in_progress", True)


def test_the_escalation_owner_resolves_the_escalation_by_a_decision(escalated, brains):
    finance = api_as("finance")

    response = finance.post(f"/requests/{escalated['request_id']}/decisions", {
        **DECISION, "resolution": "continue"})

    assert response.status_code == 201
    body = response.json()
    assert (body["decision"]["decision_kind"], body["decision"]["authority"]) == ("escalation_resolution", "finance")
    assert body["request"]["request_status"] == "in_progress"


def test_closing_an_escalation_needs_a_complete_outcome(escalated, head_office):
    url = f"/requests/{escalated['request_id']}/decisions"

    incomplete = head_office.post(url, {**DECISION, "resolution": "close", "result_summary": "done"})
    closed = head_office.post(url, {**DECISION, "resolution": "close", **OUTCOME})

    assert incomplete.status_code == 422 and "result_summary" in incomplete.json()["errors"]
    assert closed.status_code == 201 and closed.json()["request"]["request_status"] == "closed"


def test_resolving_a_request_that_is_not_escalated_is_409(routed, head_office):
    response = head_office.post(f"/requests/{routed['request_id']}/decisions", {**DECISION, "resolution": "continue"})

    assert response.status_code == 409


def test_an_unknown_resolution_is_422(escalated, head_office):
    response = head_office.post(f"/requests/{escalated['request_id']}/decisions", {**DECISION, "resolution": "pause"})

    assert response.status_code == 422
    assert "resolution" in response.json()["errors"]


# --- POST /requests/{request_id}/classification --------------------------------------------------

@pytest.mark.parametrize(("classification", "status"), [
    ("approve", "routed"), ("reject", "rejected"), ("park", "parked"), ("investigate", "awaiting_evidence"),
    ("update_brain_working_copy", "routed"), ("update_plugin_ui_spec", "routed"),
    ("update_supabase_schema", "routed"), ("propose_mcr_update", "awaiting_mcr_decision"),
    ("no_action_required", "closed"),
])
def test_headoffice_classifies_feedback_and_the_request_moves(head_office, feedback, classification, status):
    response = head_office.post(f"/requests/{feedback['request_id']}/classification", {
        "classification": classification, "note": "Seen in three Brains' workspaces this month."})

    assert response.status_code == 201
    body = response.json()
    assert (body["decision"]["classification"], body["decision"]["decision_kind"]) == (
        classification, "feedback_classification")
    assert body["request"]["request_status"] == status


def test_routing_feedback_to_another_brain_names_the_brain(head_office, feedback):
    url = f"/requests/{feedback['request_id']}/classification"
    unnamed = head_office.post(url, {"classification": "route_to_another_brain",
                                     "note": "This is a data question for SIT to own."})
    named = head_office.post(url, {"classification": "route_to_another_brain", "route_to": "sit",
                                   "note": "This is a data question for SIT to own."})

    assert unnamed.status_code == 422 and "route_to" in unnamed.json()["errors"]
    assert named.status_code == 201 and named.json()["request"]["destination_brain"] == "sit"


def test_only_headoffice_classifies(research, feedback, brains):
    body = {"classification": "approve", "note": "Seen in three Brains' workspaces this month."}
    url = f"/requests/{feedback['request_id']}/classification"

    assert research.post(url, body).status_code == 403  # the origin sees it, but may not classify it
    assert api_as("finance").post(url, body).status_code == 404  # another Brain does not even see it
    assert DecisionRecord.objects.count() == 0


def test_a_request_that_is_not_feedback_is_not_classified(head_office, research):
    request = created(research)

    response = head_office.post(f"/requests/{request['request_id']}/classification", {
        "classification": "approve", "note": "Seen in three Brains' workspaces this month."})

    assert response.status_code == 409


def test_a_classification_outside_rule_13_is_422(head_office, feedback):
    response = head_office.post(f"/requests/{feedback['request_id']}/classification", {
        "classification": "maybe", "note": "Seen in three Brains' workspaces this month."})

    assert response.status_code == 422
    assert "classification" in response.json()["errors"]


# --- POST /requests/{request_id}/mcr-decision ----------------------------------------------------

def propose(head_office, feedback) -> None:
    head_office.post(f"/requests/{feedback['request_id']}/classification", {
        "classification": "propose_mcr_update", "note": "A real gap seen in three Brains; worth a canon change."})


@pytest.mark.parametrize(("decision", "status", "mcr_status"), [
    ("approved", "closed", "approved"), ("rejected", "rejected", "rejected"), ("parked", "parked", "parked")])
def test_headoffice_decides_the_mcr_update(head_office, feedback, decision, status, mcr_status):
    propose(head_office, feedback)

    response = head_office.post(f"/requests/{feedback['request_id']}/mcr-decision", {
        "decision": decision, "reasoning": "Reviewed the three workspaces' evidence with the canon owners."})

    assert response.status_code == 201
    request = response.json()["request"]
    assert (request["request_status"], request["mcr_update_status"]) == (status, mcr_status)
    assert response.json()["decision"]["mcr_decision"] == decision


def test_no_mcr_decision_before_headoffice_proposes_it(head_office, feedback):
    response = head_office.post(f"/requests/{feedback['request_id']}/mcr-decision", {
        "decision": "approved", "reasoning": "Reviewed the three workspaces' evidence with the canon owners."})

    assert response.status_code == 409
    assert BrainRequest.objects.get().mcr_update_status == "suggested"


def test_no_brain_token_can_approve_an_mcr_update(head_office, research, feedback):
    propose(head_office, feedback)

    response = research.post(f"/requests/{feedback['request_id']}/mcr-decision", {
        "decision": "approved", "reasoning": "We are sure this is right for everyone."})

    assert response.status_code == 403
    assert BrainRequest.objects.get().mcr_update_status == "proposed"


def test_an_mcr_decision_outside_approved_rejected_parked_is_422(head_office, feedback):
    propose(head_office, feedback)

    response = head_office.post(f"/requests/{feedback['request_id']}/mcr-decision", {
        "decision": "maybe", "reasoning": "Reviewed the three workspaces' evidence with the canon owners."})

    assert response.status_code == 422
    assert "decision" in response.json()["errors"]


# --- the canon (issue 15): a suggestion with its change, reads, rollback -----------------------------

REASONING = "Reviewed the three workspaces' evidence with the canon owners."


def approved(head_office, feedback) -> dict:
    propose(head_office, feedback)
    response = head_office.post(f"/requests/{feedback['request_id']}/mcr-decision",
                                {"decision": "approved", "reasoning": REASONING})
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_suggestion_posted_with_its_change_stores_the_proposal(feedback):
    proposal = CanonProposal.objects.get(request_id=feedback["request_id"])
    assert (proposal.document.slug, proposal.proposed_text, proposal.sections) == (
        "request-protocol", CANON_PROPOSED, ["Statuses"])
    assert proposal.proposed_by == "token:research-brain"


def test_a_suggestion_naming_an_unknown_document_is_422_and_creates_nothing(research):
    response = research.post("/requests", {
        "destination_brain": "headoffice", "request_type": "mcr_update_suggestion", "request_title": "A change",
        "request_summary": "Please add a status for requests waiting on data.", "canon_document": "nope",
        "proposed_text": "x"})
    assert response.status_code == 422 and "canon_document" in response.json()["errors"]
    assert not BrainRequest.objects.exists()


def test_the_canon_reads_list_the_document_its_text_versions_and_a_version(research, head_office, feedback):
    approved(head_office, feedback)
    listed = research.get("/canon").json()
    assert [(d["slug"], d["version"], d["amendments"]) for d in listed] == [("request-protocol", "v1.3", 1)]
    one = research.get("/canon/request-protocol").json()
    assert (one["text"], one["version"]) == (CANON_PROPOSED, "v1.3")
    versions = research.get("/canon/request-protocol/versions").json()
    assert [v["version"] for v in versions] == ["v1.2", "v1.3"]
    assert versions[1]["approved_by"] == "token:headoffice-headoffice" and versions[1]["rolled_back_at"] is None
    assert versions[1]["amendment_id"] == str(CanonAmendment.objects.get().pk) and versions[0]["amendment_id"] is None
    old = research.get("/canon/request-protocol/versions/v1.2").json()
    assert old["text"] == CANON_BODY and old["diff"] == ""
    new = research.get("/canon/request-protocol/versions/v1.3").json()
    assert "+new, routed, awaiting_data, closed." in new["diff"] and new["sections"] == ["Statuses"]
    assert research.get("/canon/nope").status_code == 404
    assert research.get("/canon/request-protocol/versions/v9").status_code == 404


def test_headoffice_rolls_back_through_the_api_and_a_brain_token_cannot(research, head_office, feedback):
    approved(head_office, feedback)
    amendment = CanonAmendment.objects.get()
    url = f"/canon/request-protocol/amendments/{amendment.pk}/rollback"

    refused = research.post(url, {"reason": "We changed our mind about the status."})
    assert refused.status_code == 403 and CanonDocument.objects.get().body == CANON_PROPOSED

    response = head_office.post(url, {"reason": "The new status confused two Brains' reports."})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["document"]["text"] == CANON_BODY and body["document"]["version"] == "v1.4"
    assert body["amendment"]["amendment_type"] == "rollback" and body["amendment"]["rolls_back"] == str(amendment.pk)
    versions = research.get("/canon/request-protocol/versions").json()
    assert versions[1]["rolled_back_at"] is not None and versions[1]["rolled_back_by"] == body["amendment"]["amendment_id"]
    again = head_office.post(url, {"reason": "Once more, to be sure."})
    assert again.status_code == 409 and "rolled back already" in again.json()["detail"]


def test_no_token_changes_canon_but_through_the_mcr_decision_and_the_rollback(research, head_office, feedback):
    # The MCR gate's other doors: a transition carrying canon fields, a decision, a rejected suggestion.
    before = CanonDocument.objects.values("body", "version").get()
    propose(head_office, feedback)
    for api in (research, head_office):
        api.post(f"/requests/{feedback['request_id']}/transition",
                 {"to_status": "closed", "body": "Rewritten", "version": "v9"})
        api.post(f"/requests/{feedback['request_id']}/decisions", {**DECISION, "canon_document": "request-protocol"})
    assert research.post(f"/requests/{feedback['request_id']}/mcr-decision", {
        "decision": "approved", "reasoning": REASONING}).status_code == 403
    head_office.post(f"/requests/{feedback['request_id']}/mcr-decision", {"decision": "rejected",
                                                                        "reasoning": REASONING})
    assert CanonDocument.objects.values("body", "version").get() == before
    assert not CanonAmendment.objects.exists()
