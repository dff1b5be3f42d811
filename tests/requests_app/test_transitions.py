"""Every request move, from every status, by every role: allowed exactly where the protocol says.

EXPECTED is written out here by hand from the design (ARCHITECTURE.md, "The request state
machine"); the engine's table lives in requests_app/transitions.py. A change to either that the
other does not share fails this test, so the rules change only on purpose.
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from governance_app import services as gs
from governance_app.kernel.errors import DomainError, Refusal
from requests_app import services as rs
from requests_app.models import BrainRequest, RequestEvent, RequestStatus
from requests_app.transitions import MOVE_NAMES, moves_open
from tests.conftest import _member
from tests.engine import OUTCOME, actor, token_actor

S = RequestStatus
ALL = set(S)
FINAL = {S.CLOSED, S.REJECTED}
WORKING = {S.NEW, S.UNDER_REVIEW, S.ROUTED, S.IN_PROGRESS, S.RESPONDED, S.RETURNED_FOR_REVISION,
           S.AWAITING_HEAD_OFFICE_REVIEW}
O, D, R, E, H = "origin", "destination", "review_owner", "escalation_owner", "head_office"
REVIEWERS = {H, R}


def _from(statuses, roles):
    return {status: set(roles) for status in statuses}


def _merge(*parts):
    merged: dict = {}
    for part in parts:
        for status, roles in part.items():
            merged.setdefault(status, set()).update(roles)
    return merged


EXPECTED: dict[str, dict[str, set[str]]] = {
    "submit_for_review": _from({S.NEW}, {O, H}),
    "route": _from({S.NEW, S.UNDER_REVIEW, S.AWAITING_HEAD_OFFICE_REVIEW, S.RETURNED_FOR_REVISION}, REVIEWERS),
    "accept": _from({S.ROUTED}, {D, H}),
    "respond": _from({S.IN_PROGRESS}, {D, H}),
    "return_for_revision": _from({S.UNDER_REVIEW, S.ROUTED, S.AWAITING_HEAD_OFFICE_REVIEW}, REVIEWERS | {D}),
    "return_response": _from({S.RESPONDED}, {O, H}),
    "resubmit": _from({S.RETURNED_FOR_REVISION}, {O, H}),
    "request_evidence": _from({S.UNDER_REVIEW, S.ROUTED, S.IN_PROGRESS, S.RESPONDED,
                               S.AWAITING_HEAD_OFFICE_REVIEW}, REVIEWERS | {D}),
    "provide_evidence": _from({S.AWAITING_EVIDENCE}, {O, D, H}),
    "ask_head_office": _from({S.NEW, S.UNDER_REVIEW, S.ROUTED, S.IN_PROGRESS, S.RESPONDED}, {O, D, R}),
    "escalate": _from(WORKING | {S.BLOCKED, S.AWAITING_EVIDENCE}, {O, D, H, R}),
    "resolve_escalation": _from({S.ESCALATED}, {E, H}),
    "block": _from(WORKING, REVIEWERS | {D, E}),
    "unblock": _from({S.BLOCKED}, REVIEWERS | {D, E}),
    "park": _from(WORKING | {S.AWAITING_EVIDENCE, S.BLOCKED}, REVIEWERS),
    "unpark": _from({S.PARKED}, REVIEWERS),
    "reject": _from({S.NEW, S.UNDER_REVIEW, S.ROUTED, S.AWAITING_HEAD_OFFICE_REVIEW, S.RETURNED_FOR_REVISION,
                     S.AWAITING_EVIDENCE, S.PARKED, S.BLOCKED}, REVIEWERS | {D}),
    "close": _merge(_from({S.RESPONDED}, {O, R, H}),
                    _from(ALL - FINAL - {S.RESPONDED, S.ESCALATED, S.AWAITING_MCR_DECISION}, {H})),
    "classify": _from({S.NEW, S.UNDER_REVIEW, S.AWAITING_HEAD_OFFICE_REVIEW}, {H}),
    "mcr_decide": _from({S.AWAITING_MCR_DECISION}, {H}),
}
ROLES = [O, D, R, E, H, "outsider", "executor", "integration"]
NOTE = "Checked against the workspace evidence and the routing rules."


def test_the_expected_table_names_every_move_of_the_engine():
    assert set(EXPECTED) == set(MOVE_NAMES)


@pytest.fixture
def cast(brains, reviewer):
    """One actor per role, each holding only that role on the requests built below."""
    return {
        O: actor(_member("origin_user", brains["research"], "owner")),
        D: actor(_member("destination_user", brains["affiliate"], "owner")),
        R: actor(_member("review_user", brains["sit"], "owner")),
        E: actor(_member("escalation_user", brains["finance"], "owner")),
        H: actor(reviewer),
        "outsider": actor(_member("outsider_user", brains["content"], "owner")),
        "executor": token_actor("affiliate"),
        "integration": token_actor("research", role="integration", label="plugin"),
    }


def request_in(status: str) -> BrainRequest:
    """A request sitting in `status`, carrying every field the database asks of that status."""
    now = timezone.now() - timedelta(days=1)
    return BrainRequest.objects.create(
        requesting_authority="research", requesting_brain_id="research", target_brain_id="affiliate",
        review_owner_id="sit", escalation_owner_id="finance", request_type="offer_review_request",
        request_title="Review the offer", request_summary="A rising demand signal needs an offer review.",
        required_output="A verdict", status=status, feedback_required=True, mcr_update_suggested=True,
        response_summary="The offer is strong enough to test.", escalation_reason="Budget beyond limit.",
        held_from_status=S.UNDER_REVIEW if status in {S.BLOCKED, S.PARKED, S.AWAITING_EVIDENCE, S.ESCALATED} else None,
        closed_at=now if status in FINAL else None, head_office_review_required=False if status in FINAL else None,
        outcome_type="rejected" if status in FINAL else None,
        result_summary="Reviewed and declined." if status in FINAL else "",
        outcome_decision="Declined the offer." if status in FINAL else "",
        next_step="Nothing further." if status in FINAL else "", next_step_owner="research" if status in FINAL else "",
        mcr_update_status="proposed" if status == S.AWAITING_MCR_DECISION else "suggested",
    )


def make_move(move: str, request: BrainRequest, who) -> None:
    if move == "resolve_escalation":
        gs.escalation_resolve(request=request, actor=who, resolution="continue",
                              decision_summary="Continue the review within the limit.", reasoning=NOTE)
    elif move == "classify":
        gs.feedback_classify(request=request, actor=who, classification="park", note=NOTE)
    elif move == "mcr_decide":
        gs.mcr_decide(request=request, actor=who, decision="parked", reasoning=NOTE)
    else:
        fields = {
            "route": {"review_owner": "sit", "destination_brain": "affiliate"},
            "respond": {"response_summary": "The offer converts well in two markets.",
                        "outcome_type": "recommendation_delivered"},
            "escalate": {"escalation_reason": "Exposure beyond the Brain's authority.",
                         "escalation_owner": "finance"},
            "close": OUTCOME, "reject": OUTCOME,
        }.get(move, {})
        rs.request_move(request=request, actor=who, move=move, fields=fields, note=NOTE)


@pytest.mark.django_db
@pytest.mark.parametrize("move", sorted(EXPECTED))
def test_each_move_is_allowed_exactly_where_the_protocol_allows_it(move, cast):
    could_move_from = set(EXPECTED[move])
    for status in S:
        request = request_in(status)
        for role in ROLES:
            allowed = role in EXPECTED[move].get(status, set())
            sid = transaction.savepoint()
            before = RequestEvent.objects.filter(request=request).exclude(event_type="rule_violation").count()
            shown = move in {m.name for m in moves_open(request, cast[role])}
            try:
                make_move(move, request, cast[role])
            except DomainError as error:
                assert not allowed, f"{role} should {move} from {status}: {error}"
                expected_kind = Refusal.FORBIDDEN if status in could_move_from else Refusal.CONFLICT
                assert error.kind == expected_kind, f"{move} from {status} by {role}: {error.kind} ({error})"
                fresh = BrainRequest.objects.get(pk=request.pk)
                assert fresh.status == status and fresh.lock_version == request.lock_version
                after = RequestEvent.objects.filter(request=request).exclude(event_type="rule_violation").count()
                assert after == before, "a refused move must leave no event"
            else:
                assert allowed, f"{role} must not {move} from {status}"
                assert RequestEvent.objects.filter(request=request, event_type="status_changed").count() == 1
            # The buttons the UI draws come from the same table (classify only shows for feedback).
            assert shown == allowed, f"moves_open disagrees for {move} from {status} by {role}"
            transaction.savepoint_rollback(sid)
