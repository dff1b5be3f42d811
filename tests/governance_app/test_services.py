"""Decisions, escalation review, feedback classification (protocol rule 13) and the MCR gate."""

import pytest

from governance_app import services as gs
from governance_app.kernel.errors import DomainError, Refusal
from governance_app.models import CanonAmendment, CanonDocument, DecisionRecord
from requests_app import services as rs
from requests_app.models import BrainRequest, McrUpdateStatus, RequestStatus
from tests.conftest import _member
from tests.engine import actor, in_progress_request, new_request, suggestion
from tests.factories import make_request, request_fields_for

pytestmark = pytest.mark.django_db
WHY = "Seen in three workspaces over two weeks; the evidence is consistent."


def feedback(owner, **extra) -> BrainRequest:
    return new_request(actor(owner), destination="headoffice", request_type="head_office_review_request", **extra)


def test_only_headoffice_or_a_deciding_brain_records_decisions(owner, reviewer, brains):
    request = new_request(actor(owner))
    with pytest.raises(DomainError) as refused:
        gs.decision_record(actor=actor(owner), request=request, decision_summary="Approve the test budget",
                           reasoning=WHY)
    assert refused.value.kind == Refusal.FORBIDDEN
    finance = actor(_member("fin", brains["finance"], "owner"))
    # Finance may decide, but only on a request it can see.
    with pytest.raises(DomainError) as unseen:
        gs.decision_record(actor=finance, request=request, decision_summary="Approve the budget", reasoning=WHY)
    assert unseen.value.kind == Refusal.NOT_FOUND
    decision = gs.decision_record(actor=actor(reviewer), request=request, decision_summary="Approve the budget",
                                  reasoning=WHY)
    assert decision.authority_id == "headoffice" and decision.affected_brains == ["affiliate", "research"]


def test_a_correction_is_a_new_decision_that_supersedes_the_old(owner, reviewer):
    request = new_request(actor(owner))
    first = gs.decision_record(actor=actor(reviewer), request=request, decision_summary="Cap at 1,000 EUR",
                               reasoning=WHY)
    second = gs.decision_record(actor=actor(reviewer), request=request, decision_summary="Cap at 1,500 EUR",
                                reasoning=WHY, supersedes_id=first.pk)
    assert second.supersedes == first
    assert DecisionRecord.objects.get(pk=first.pk).decision_summary == "Cap at 1,000 EUR"


def test_a_decision_is_superseded_only_in_its_own_authority_or_by_headoffice(reviewer, brains):
    request = make_request(status=RequestStatus.IN_PROGRESS, target_brain_id="finance")
    finance, sit = (actor(_member(name, brains[name], "owner")) for name in ("finance", "sit"))
    ours = gs.decision_record(actor=actor(reviewer), request=request, decision_summary="Cap at 1,000 EUR",
                              reasoning=WHY)
    theirs = gs.decision_record(actor=finance, request=request, decision_summary="Hold the budget at 300 EUR",
                                reasoning=WHY)
    count = DecisionRecord.objects.count()

    with pytest.raises(DomainError) as refused:
        gs.decision_record(actor=finance, request=request, decision_summary="Cap at 2,000 EUR", reasoning=WHY,
                           supersedes_id=ours.pk)

    assert (refused.value.kind, refused.value.field) == (Refusal.FORBIDDEN, "supersedes_id")
    assert refused.value.message == "A decision of headoffice is superseded only by headoffice, not by finance."
    assert DecisionRecord.objects.count() == count
    sit_request = make_request(status=RequestStatus.IN_PROGRESS, target_brain_id="sit", requesting_brain_id="finance")
    of_finance = gs.decision_record(actor=finance, request=sit_request, decision_summary="Hold it at 300 EUR",
                                    reasoning=WHY)
    with pytest.raises(DomainError, match="A decision of finance is superseded only by finance or headoffice, "
                                          "not by sit."):
        gs.decision_record(actor=sit, request=sit_request, decision_summary="Hold it at 200 EUR", reasoning=WHY,
                           supersedes_id=of_finance.pk)
    assert gs.decision_record(actor=finance, request=request, decision_summary="Hold the budget at 250 EUR",
                              reasoning=WHY, supersedes_id=theirs.pk).supersedes == theirs
    assert gs.decision_record(actor=actor(reviewer), request=request, decision_summary="Hold it at 400 EUR",
                              reasoning=WHY, supersedes_id=theirs.pk).authority_id == "headoffice"


@pytest.mark.parametrize("status", [RequestStatus.CLOSED, RequestStatus.REJECTED])
def test_a_closed_or_rejected_request_takes_no_decision_nor_correction(reviewer, status):
    request = make_request(status=RequestStatus.IN_PROGRESS)
    first = gs.decision_record(actor=actor(reviewer), request=request, decision_summary="Cap at 1,000 EUR",
                               reasoning=WHY)
    BrainRequest.objects.filter(pk=request.pk).update(status=status, **request_fields_for(status))
    before = (DecisionRecord.objects.count(), request.events.count())

    for supersedes_id in (first.pk, None):
        with pytest.raises(DomainError) as refused:
            gs.decision_record(actor=actor(reviewer), request=request, decision_summary="Cap at 1,500 EUR",
                               reasoning=WHY, supersedes_id=supersedes_id)
        assert refused.value.kind == Refusal.CONFLICT
        assert refused.value.message.startswith(f"This request is {status}: a closed or rejected request takes no "
                                                f"more decisions")
    assert (DecisionRecord.objects.count(), request.events.count()) == before


@pytest.mark.parametrize(("classification", "status"), [
    ("approve", "routed"), ("reject", "rejected"), ("park", "parked"), ("investigate", "awaiting_evidence"),
    ("update_brain_working_copy", "routed"), ("update_plugin_ui_spec", "routed"),
    ("update_supabase_schema", "routed"), ("propose_mcr_update", "awaiting_mcr_decision"),
    ("no_action_required", "closed"),
])
def test_each_classification_records_a_decision_and_moves_the_request(owner, reviewer, classification, status):
    request = feedback(owner)
    decision = gs.feedback_classify(request=request, actor=actor(reviewer), classification=classification, note=WHY)
    request.refresh_from_db()
    assert (request.status, request.feedback_classification) == (status, classification)
    assert (decision.decision_kind, decision.classification, decision.related_request_id) == (
        "feedback_classification", classification, request.pk)
    expected_mcr = McrUpdateStatus.PROPOSED if classification == "propose_mcr_update" else McrUpdateStatus.NONE
    assert request.mcr_update_status == expected_mcr


def test_route_to_another_brain_routes_to_the_named_brain(owner, reviewer):
    request = feedback(owner)
    with pytest.raises(DomainError) as unnamed:
        gs.feedback_classify(request=request, actor=actor(reviewer), classification="route_to_another_brain", note=WHY)
    assert unnamed.value.field == "route_to"
    gs.feedback_classify(request=request, actor=actor(reviewer), classification="route_to_another_brain", note=WHY,
                         route_to="sit")
    request.refresh_from_db()
    assert (request.status, request.target_brain_id, request.review_owner_id) == ("routed", "sit", "headoffice")


def test_a_brain_cannot_classify_its_own_feedback(owner):
    with pytest.raises(DomainError) as refused:
        gs.feedback_classify(request=feedback(owner), actor=actor(owner), classification="approve", note=WHY)
    assert refused.value.kind == Refusal.FORBIDDEN


def test_a_request_that_is_not_feedback_is_not_classified(owner, reviewer):
    with pytest.raises(DomainError) as refused:
        gs.feedback_classify(request=new_request(actor(owner)), actor=actor(reviewer), classification="park",
                             note=WHY)
    assert refused.value.kind == Refusal.CONFLICT


def proposed(owner, reviewer) -> BrainRequest:
    request = suggestion(actor(owner), mcr_update_suggested=True)
    gs.feedback_classify(request=request, actor=actor(reviewer), classification="propose_mcr_update", note=WHY)
    return BrainRequest.objects.get(pk=request.pk)


@pytest.mark.parametrize(("decision", "status"), [("approved", "closed"), ("rejected", "rejected"),
                                                  ("parked", "parked")])
def test_headoffice_mcr_decision_sets_the_mcr_status(owner, reviewer, decision, status):
    request = proposed(owner, reviewer)
    gs.mcr_decide(request=request, actor=actor(reviewer), decision=decision, reasoning=WHY)
    request.refresh_from_db()
    assert (request.status, request.mcr_update_status) == (status, decision)


def test_nobody_but_headoffice_decides_mcr(owner, reviewer, brains):
    request = proposed(owner, reviewer)
    for who in (actor(owner), actor(_member("sit_person", brains["sit"], "owner"))):
        with pytest.raises(DomainError) as refused:
            gs.mcr_decide(request=request, actor=who, decision="approved", reasoning=WHY)
        assert refused.value.kind == Refusal.FORBIDDEN
    assert BrainRequest.objects.get(pk=request.pk).mcr_update_status == McrUpdateStatus.PROPOSED


def test_a_deciding_brain_holding_every_other_role_still_cannot_decide_mcr(owner, reviewer, brains):
    # Finance may record decisions, receives the suggestion and is named its review and escalation
    # owner: only the transition table's mcr_decide roles (HeadOffice alone, protocol rule 13) stop it.
    finance = actor(_member("finance_person", brains["finance"], "owner"))
    request = new_request(actor(owner), destination="finance", request_type="mcr_update_suggestion",
                          mcr_update_suggested=True)
    gs.feedback_classify(request=request, actor=actor(reviewer), classification="propose_mcr_update", note=WHY)
    BrainRequest.objects.filter(pk=request.pk).update(review_owner_id="finance", escalation_owner_id="finance")
    request = BrainRequest.objects.get(pk=request.pk)
    decisions, events = DecisionRecord.objects.count(), request.events.count()

    with pytest.raises(DomainError) as refused:
        gs.mcr_decide(request=request, actor=finance, decision="approved", reasoning=WHY)

    assert refused.value.kind == Refusal.FORBIDDEN
    assert refused.value.message == "Decide MCR update needs one of these roles on this request: head office."
    after = BrainRequest.objects.get(pk=request.pk)
    assert (after.status, after.mcr_update_status, after.lock_version) == (
        RequestStatus.AWAITING_MCR_DECISION, McrUpdateStatus.PROPOSED, request.lock_version)
    assert (DecisionRecord.objects.count(), after.events.count()) == (decisions, events)


def test_mcr_cannot_be_decided_before_headoffice_proposes_it(owner, reviewer):
    request = new_request(actor(owner), destination="headoffice", request_type="mcr_update_suggestion",
                          mcr_update_suggested=True)
    with pytest.raises(DomainError) as refused:
        gs.mcr_decide(request=request, actor=actor(reviewer), decision="approved", reasoning=WHY)
    assert refused.value.kind == Refusal.CONFLICT


def test_no_ordinary_move_can_approve_an_mcr_update(owner, reviewer):
    request = proposed(owner, reviewer)
    for move in ("close", "route", "unpark"):
        with pytest.raises(DomainError):
            rs.request_move(request=request, actor=actor(reviewer), move=move,
                            fields={"mcr_update_status": "approved", "review_owner": "headoffice"})
    assert BrainRequest.objects.get(pk=request.pk).mcr_update_status == McrUpdateStatus.PROPOSED


def test_an_approved_amendment_changes_canon_with_before_after_and_diff(owner, reviewer):
    canon = CanonDocument.objects.create(slug="protocol", title="Request Protocol", version="v1.2",
                                         body="Rule 5.\nStatuses.")
    request = proposed(owner, reviewer)
    gs.mcr_decide(request=request, actor=actor(reviewer), decision="approved", reasoning=WHY,
                  canon_document_id=canon.pk, amended_body="Rule 5.\nStatuses and awaiting_data.", new_version="v1.3")
    amendment = CanonAmendment.objects.get()
    assert (amendment.version_before, amendment.version_after) == ("v1.2", "v1.3")
    assert "+Statuses and awaiting_data." in amendment.diff and amendment.request_id == request.pk
    canon.refresh_from_db()
    assert canon.body == "Rule 5.\nStatuses and awaiting_data."


def test_escalation_is_resolved_by_the_escalation_owner_with_a_decision(owner, reviewer, other_owner, brains):
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner))
    rs.request_escalate(request=request, actor=actor(other_owner), escalation_owner="finance",
                        escalation_reason="Budget request above the Brain's limit.")
    with pytest.raises(DomainError) as not_owner:
        gs.escalation_resolve(request=request, actor=actor(other_owner), resolution="continue",
                              decision_summary="Carry on with the test", reasoning=WHY)
    assert not_owner.value.kind == Refusal.FORBIDDEN
    finance = actor(_member("fin", brains["finance"], "owner"))
    blocked = gs.escalation_resolve(request=request, actor=finance, resolution="block",
                                    decision_summary="Block until pacing data arrives", reasoning=WHY)
    assert blocked.status == RequestStatus.BLOCKED
    assert DecisionRecord.objects.get(related_request=request).authority_id == "finance"


def test_resolving_an_escalation_by_closing_needs_the_complete_outcome(owner, reviewer, other_owner):
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner))
    rs.request_escalate(request=request, actor=actor(other_owner), escalation_owner="headoffice",
                        escalation_reason="Conflicting verdicts from two Brains.")
    with pytest.raises(DomainError) as refused:
        gs.escalation_resolve(request=request, actor=actor(reviewer), resolution="close",
                              decision_summary="Stop the offer", reasoning=WHY, outcome={"result_summary": "done"})
    assert refused.value.field in refused.value.errors
    assert not DecisionRecord.objects.exists(), "a refused resolution records no decision"


def test_a_lesson_is_tied_to_the_request_and_its_decision(owner, reviewer):
    request = new_request(actor(owner))
    decision = gs.decision_record(actor=actor(reviewer), request=request, decision_summary="Cap the budget",
                                  reasoning=WHY)
    lesson = gs.lesson_record(actor=actor(owner), request=request, decision_id=decision.pk,
                              event_or_experiment="Offer 881 test", result="Converted 2.1% against 1.4% control.",
                              insight="Research-led offers convert better in week one.",
                              recommended_improvement="Route research signals to Affiliate within 48 hours.")
    assert (lesson.originating_brain_id, lesson.related_decision, lesson.related_request) == (
        "research", decision, request)


def test_a_token_refused_a_decision_move_leaves_a_rule_violation_event(owner, reviewer):
    from requests_app.models import RequestEvent
    from tests.engine import token_actor

    request = feedback(owner)
    with pytest.raises(DomainError):
        gs.feedback_classify(request=request, actor=token_actor("research", role="brain", label="research-bot"),
                             classification="approve", note=WHY)
    assert RequestEvent.objects.filter(request=request, event_type="rule_violation").count() == 1
