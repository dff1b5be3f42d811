"""Request services: creation with lineage, routing rules, the outcome requirement (protocol rule 7)."""

import pytest

from governance_app.kernel.errors import DomainError, Refusal
from requests_app import services as rs
from requests_app.models import BrainRequest, RequestEvent, RequestStatus
from tasks_app import services as ts
from tests.engine import OUTCOME, actor, in_progress_request, new_request, routed_request, token_actor

pytestmark = pytest.mark.django_db


def responded(owner, reviewer, other_owner) -> BrainRequest:
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner))
    return rs.request_respond(request=request, actor=actor(other_owner), outcome_type="recommendation_delivered",
                              response_summary="Recommend a capped test in two markets.")


def test_create_writes_the_request_and_its_created_event(owner):
    request = new_request(actor(owner), intake_id="intake-7", source_origin="research_signal")
    event = RequestEvent.objects.get(request=request)
    assert (request.status, request.requesting_brain_id, request.created_by) == ("new", "research", "research_owner")
    assert (event.event_type, event.to_status, event.actor) == ("created", "new", "research_owner")


def test_create_from_another_brain_is_forbidden(owner):
    with pytest.raises(DomainError) as refused:
        new_request(actor(owner), origin_brain="finance")
    assert refused.value.kind == Refusal.FORBIDDEN
    assert not BrainRequest.objects.exists()


def test_create_refuses_an_unknown_brain_and_names_the_field(owner):
    with pytest.raises(DomainError) as refused:
        new_request(actor(owner), destination="marketing")
    assert refused.value.field == "destination_brain" and "marketing" in refused.value.message


@pytest.mark.parametrize("field, value", [("request_type", "offer_request"), ("request_type", ["research_request"]),
                                          ("priority", "asap"), ("priority", None), ("operating_layer", "strategic")])
def test_create_refuses_a_value_outside_the_choices_and_names_the_field(owner, field, value):
    with pytest.raises(DomainError) as refused:
        new_request(actor(owner), **{field: value})
    assert refused.value.field == field and "must be one of" in refused.value.message
    assert not BrainRequest.objects.exists()


def test_create_with_an_originating_task_inherits_the_task_request_as_parent(owner, reviewer, other_owner):
    parent = in_progress_request(actor(owner), actor(reviewer), actor(other_owner))
    task = ts.task_create(request=parent, actor=actor(other_owner), task_type="offer_review_task")
    child = new_request(actor(other_owner), destination="research", request_type="research_request",
                        originating_task_id=str(task.pk))
    assert (child.parent_request_id, child.originating_task_id) == (parent.pk, task.pk)


def test_a_parent_the_actor_cannot_see_is_refused(owner, outsider):
    hidden = new_request(actor(owner))
    with pytest.raises(DomainError) as refused:
        new_request(actor(outsider), parent_request_id=str(hidden.pk))
    assert refused.value.field == "parent_request_id"


def test_routing_refuses_a_destination_that_does_not_accept_the_type(owner, reviewer):
    request = new_request(actor(owner))
    with pytest.raises(DomainError) as refused:
        rs.request_route(request=request, actor=actor(reviewer), review_owner="headoffice", destination_brain="ads")
    assert refused.value.field == "destination_brain" and "does not accept" in refused.value.message
    assert BrainRequest.objects.get(pk=request.pk).status == RequestStatus.NEW


def test_routing_needs_a_review_owner(owner, reviewer):
    with pytest.raises(DomainError) as refused:
        rs.request_route(request=new_request(actor(owner)), actor=actor(reviewer), review_owner="")
    assert refused.value.field == "review_owner"


def test_routing_with_supporting_brains_needs_a_primary_brain(owner, reviewer):
    request = new_request(actor(owner))
    with pytest.raises(DomainError) as refused:
        rs.request_route(request=request, actor=actor(reviewer), review_owner="headoffice",
                         supporting_brains=["research", "content"])
    assert refused.value.field == "primary_brain"
    routed = rs.request_route(request=request, actor=actor(reviewer), review_owner="headoffice",
                              supporting_brains=["research", "content"], primary_brain="affiliate")
    assert (routed.primary_brain_id, routed.supporting_brains) == ("affiliate", ["research", "content"])


def test_routing_records_the_changed_fields_in_its_event(owner, reviewer):
    request = routed_request(actor(owner), actor(reviewer))
    event = RequestEvent.objects.get(request=request, event_type="status_changed")
    assert event.changed_fields["status"] == ["new", "routed"]
    assert event.changed_fields["review_owner"] == [None, "headoffice"]


@pytest.mark.parametrize("placeholder", ["done", "OK", "completed.", "n/a", "   ", "fixed it"])
def test_respond_refuses_a_placeholder_summary(owner, reviewer, other_owner, placeholder):
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner))
    with pytest.raises(DomainError) as refused:
        rs.request_respond(request=request, actor=actor(other_owner), response_summary=placeholder,
                           outcome_type="recommendation_delivered")
    assert refused.value.field == "response_summary"
    assert BrainRequest.objects.get(pk=request.pk).status == RequestStatus.IN_PROGRESS


@pytest.mark.parametrize("field", ["result_summary", "outcome_decision", "next_step"])
def test_close_refuses_done_as_an_outcome_and_says_what_is_missing(owner, reviewer, other_owner, field):
    request = responded(owner, reviewer, other_owner)
    with pytest.raises(DomainError) as refused:
        rs.request_close(request=request, actor=actor(owner), **{**OUTCOME, field: "done"})
    assert refused.value.field == field
    assert "'done' is a placeholder" in refused.value.message
    assert BrainRequest.objects.get(pk=request.pk).status == RequestStatus.RESPONDED


def test_close_lists_every_missing_part_of_the_outcome(owner, reviewer, other_owner):
    request = responded(owner, reviewer, other_owner)
    with pytest.raises(DomainError) as refused:
        rs.request_close(request=request, actor=actor(owner), outcome_type="recommendation_delivered")
    assert set(refused.value.errors) == {"result_summary", "outcome_decision", "outcome_evidence", "next_step",
                                         "next_step_owner", "head_office_review_required"}
    assert refused.value.message.startswith("Close needs a complete outcome")


def test_close_refuses_evidence_from_outside_the_lineage(owner, reviewer, other_owner):
    request = responded(owner, reviewer, other_owner)
    stranger = new_request(actor(owner))
    foreign_event = RequestEvent.objects.get(request=stranger)
    with pytest.raises(DomainError) as refused:
        rs.request_close(request=request, actor=actor(owner), **{**OUTCOME, "outcome_evidence": [str(foreign_event.pk)]})
    assert refused.value.field == "outcome_evidence"


def test_close_accepts_evidence_from_its_own_events_and_external_links(owner, reviewer, other_owner):
    request = responded(owner, reviewer, other_owner)
    own_event = RequestEvent.objects.filter(request=request).first()
    closed = rs.request_close(request=request, actor=actor(owner), **{
        **OUTCOME, "outcome_evidence": [str(own_event.pk), "https://example.org/report.pdf"]})
    assert closed.outcome_evidence == [{"kind": "request_event", "id": str(own_event.pk)},
                                       {"kind": "external", "text": "https://example.org/report.pdf"}]
    assert closed.closed_at is not None


def test_a_request_with_open_tasks_cannot_close(owner, reviewer, other_owner):
    request = responded(owner, reviewer, other_owner)
    # A task made earlier, while the request was in progress, is still queued.
    from tasks_app.models import Task

    task = Task.objects.create(request=request, task_type="follow_up", assigned_brain_id="affiliate")
    with pytest.raises(DomainError) as refused:
        rs.request_close(request=request, actor=actor(owner), **OUTCOME)
    assert refused.value.kind == Refusal.CONFLICT
    assert refused.value.message == (f"Close is not possible while the lineage has 1 problem(s): 1. task “follow_up” "
                                     f"({task.pk}) is still queued: complete or cancel it first.")
    assert [(f.code, f.row_id) for f in refused.value.findings] == [("open_task", str(task.pk))]
    assert BrainRequest.objects.get(pk=request.pk).status == RequestStatus.RESPONDED


def test_closed_is_final(owner, reviewer, other_owner):
    request = rs.request_close(request=responded(owner, reviewer, other_owner), actor=actor(owner), **OUTCOME)
    with pytest.raises(DomainError) as refused:
        rs.request_move(request=request, actor=actor(reviewer), move="park", note="Parking it for the quarter.")
    assert refused.value.kind == Refusal.CONFLICT and "final" in refused.value.message


def test_escalation_needs_a_reason_and_an_owner_with_authority(owner, reviewer, other_owner):
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner))
    with pytest.raises(DomainError) as no_reason:
        rs.request_escalate(request=request, actor=actor(other_owner), escalation_reason="", escalation_owner="sit")
    with pytest.raises(DomainError) as operational_owner:
        rs.request_escalate(request=request, actor=actor(other_owner), escalation_owner="content",
                            escalation_reason="Compliance exposure on the landing page copy.")
    assert no_reason.value.field == "escalation_reason"
    assert operational_owner.value.field == "escalation_owner"


def test_a_hold_returns_to_where_the_request_was(owner, reviewer, other_owner):
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner))
    blocked = rs.request_move(request=request, actor=actor(other_owner), move="block",
                              note="Waiting for the tracking fix.")
    assert (blocked.status, blocked.held_from_status) == (RequestStatus.BLOCKED, RequestStatus.IN_PROGRESS)
    resumed = rs.request_move(request=blocked, actor=actor(other_owner), move="unblock",
                              note="Tracking fixed on 21 Nov.")
    assert (resumed.status, resumed.held_from_status) == (RequestStatus.IN_PROGRESS, None)


def test_a_stale_version_is_refused_as_a_conflict(owner, reviewer):
    request = new_request(actor(owner))
    seen = request.lock_version
    rs.request_submit(request=request, actor=actor(owner))
    with pytest.raises(DomainError) as refused:
        rs.request_route(request=request, actor=actor(reviewer), review_owner="headoffice", expected_version=seen)
    assert refused.value.kind == Refusal.CONFLICT and "Someone else changed" in refused.value.message


def test_a_token_refused_a_move_leaves_a_rule_violation_event(owner, reviewer):
    request = routed_request(actor(owner), actor(reviewer))
    with pytest.raises(DomainError):
        rs.request_accept(request=request, actor=token_actor("affiliate"))
    assert RequestEvent.objects.filter(request=request, event_type="rule_violation").count() == 1


def test_a_note_adds_an_event_and_changes_nothing(owner):
    request = new_request(actor(owner))
    rs.request_note_add(request=request, actor=actor(owner), note="Called the supplier; they confirm stock.")
    assert BrainRequest.objects.get(pk=request.pk).lock_version == request.lock_version
    assert RequestEvent.objects.filter(request=request, event_type="note").count() == 1


def test_a_hold_placed_on_a_hold_returns_to_the_original_working_status(owner, reviewer, other_owner):
    from governance_app import services as gs

    affiliate = actor(other_owner)
    request = in_progress_request(actor(owner), actor(reviewer), affiliate)
    rs.request_move(request=request, actor=affiliate, move="block", note="Waiting for the supplier's price list.")
    rs.request_escalate(request=request, actor=affiliate, escalation_owner="headoffice",
                        escalation_reason="The supplier has not answered for three weeks.")
    resumed = gs.escalation_resolve(request=request, actor=actor(reviewer), resolution="continue",
                                    decision_summary="Continue; buy from the second supplier.",
                                    reasoning="The second supplier's terms are within the limit.")
    assert (resumed.status, resumed.held_from_status) == (RequestStatus.IN_PROGRESS, None)


def test_parking_a_blocked_request_keeps_where_the_work_was(owner, reviewer, other_owner):
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner))
    rs.request_move(request=request, actor=actor(other_owner), move="block", note="Waiting for tracking to be fixed.")
    parked = rs.request_move(request=request, actor=actor(reviewer), move="park", note="Parked until next quarter.")
    assert parked.held_from_status == RequestStatus.IN_PROGRESS
    assert rs.request_move(request=parked, actor=actor(reviewer), move="unpark").status == RequestStatus.IN_PROGRESS


def test_an_originating_task_the_creator_cannot_see_is_refused(owner, reviewer, other_owner, outsider):
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner))
    task = ts.task_create(request=request, actor=actor(other_owner), task_type="offer_review_task")
    with pytest.raises(DomainError) as refused:
        new_request(actor(outsider), destination="research", request_type="research_request",
                    originating_task_id=str(task.pk))
    assert refused.value.field == "originating_task_id"


def test_parent_and_originating_task_must_agree(owner, reviewer, other_owner):
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner))
    task = ts.task_create(request=request, actor=actor(other_owner), task_type="offer_review_task")
    other = new_request(actor(owner))
    with pytest.raises(DomainError) as refused:
        new_request(actor(other_owner), destination="research", request_type="research_request",
                    originating_task_id=str(task.pk), parent_request_id=str(other.pk))
    assert refused.value.field == "originating_task_id"
