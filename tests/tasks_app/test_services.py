"""Task services: routing before execution, the executor queue, retries, escalation, artifacts."""

import pytest

from governance_app.kernel.errors import DomainError, Refusal
from requests_app.models import RequestStatus
from tasks_app import services as ts
from tasks_app.models import Task, TaskEvent, TaskStatus
from tests.engine import actor, in_progress_request, new_request, routed_request, token_actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def working(owner, reviewer, other_owner):
    """An in-progress Research → Affiliate request and the Affiliate owner's actor."""
    return in_progress_request(actor(owner), actor(reviewer), actor(other_owner)), actor(other_owner)


def test_no_task_before_routing(owner, reviewer):
    request = new_request(actor(owner))
    with pytest.raises(DomainError) as refused:
        ts.task_create(request=request, actor=actor(reviewer), task_type="offer_review_task")
    assert refused.value.kind == Refusal.CONFLICT and "routed" in refused.value.message
    assert not Task.objects.exists()


def test_a_task_goes_only_to_a_brain_working_the_request(working):
    request, affiliate = working
    with pytest.raises(DomainError) as refused:
        ts.task_create(request=request, actor=affiliate, task_type="offer_review_task", assigned_brain="ads")
    assert refused.value.field == "assigned_brain"


def test_the_origin_cannot_create_tasks_for_the_destination(working, owner):
    request, _ = working
    with pytest.raises(DomainError) as refused:
        ts.task_create(request=request, actor=actor(owner), task_type="offer_review_task")
    assert refused.value.kind == Refusal.FORBIDDEN


def test_creating_a_task_writes_a_task_event_and_a_request_event(working):
    request, affiliate = working
    task = ts.task_create(request=request, actor=affiliate, task_type="offer_review_task")
    assert list(task.events.values_list("event_type", flat=True)) == ["created"]
    assert request.events.filter(event_type="task_created", event_payload__task_id=str(task.pk)).exists()


def test_the_executor_claims_its_brain_queue_priority_first_then_oldest(working):
    request, affiliate = working
    low = ts.task_create(request=request, actor=affiliate, task_type="a", priority="low")
    urgent = ts.task_create(request=request, actor=affiliate, task_type="b", priority="urgent")
    medium = ts.task_create(request=request, actor=affiliate, task_type="c", priority="medium")
    executor = token_actor("affiliate")
    claimed = [ts.task_claim_next(actor=executor).pk for _ in range(3)]
    assert claimed == [urgent.pk, medium.pk, low.pk]
    assert ts.task_claim_next(actor=executor) is None


def test_an_executor_never_claims_another_brains_task(working):
    request, affiliate = working
    task = ts.task_create(request=request, actor=affiliate, task_type="offer_review_task")
    stranger = token_actor("ads", label="ads-executor")
    assert ts.task_claim_next(actor=stranger) is None
    with pytest.raises(DomainError) as refused:
        ts.task_claim(task=task, actor=stranger)
    # Answered as a task that does not exist (issue 17), and recorded all the same.
    assert (refused.value.kind, refused.value.message) == (Refusal.NOT_FOUND, "No task with that id that you can see.")
    assert Task.objects.get(pk=task.pk).status == TaskStatus.QUEUED
    violation = TaskEvent.objects.get(task=task, event_type="rule_violation")
    assert violation.actor == "token:ads-executor"
    assert violation.event_summary == "Refused claim by token:ads-executor: this task belongs to affiliate, not to ads"


def test_a_failure_requeues_while_attempts_remain_then_escalates_the_request(working):
    request, affiliate = working
    task = ts.task_create(request=request, actor=affiliate, task_type="scrape_offer", max_attempts=2)
    executor = token_actor("affiliate")
    for attempt in (1, 2):
        claimed = ts.task_claim_next(actor=executor)
        ts.task_fail(task=claimed, actor=executor, error=f"Timeout fetching the offer page (try {attempt})")
    task.refresh_from_db()
    request.refresh_from_db()
    assert (task.status, task.attempts, task.last_error) == ("failed", 2, "Timeout fetching the offer page (try 2)")
    assert (request.status, request.escalation_owner_id) == (RequestStatus.ESCALATED, "headoffice")
    assert "failed 2 times" in request.escalation_reason
    assert list(task.events.values_list("event_type", flat=True)) == [
        "created", "picked_up", "error", "requeued", "picked_up", "error"]


def test_completing_without_an_artifact_needs_a_real_result_summary(working):
    request, affiliate = working
    ts.task_create(request=request, actor=affiliate, task_type="offer_review_task")
    executor = token_actor("affiliate")
    task = ts.task_start(task=ts.task_claim_next(actor=executor), actor=executor)
    with pytest.raises(DomainError) as refused:
        ts.task_complete(task=task, actor=executor, result_summary="done")
    assert refused.value.field == "result_summary"
    done = ts.task_complete(task=task, actor=executor, result_summary="Offer scored 8/10 on margin and demand.")
    assert done.status == TaskStatus.COMPLETED and done.completed_at is not None


def test_saving_an_artifact_writes_output_saved_with_its_hash(working):
    request, affiliate = working
    ts.task_create(request=request, actor=affiliate, task_type="offer_review_task")
    executor = token_actor("affiliate")
    task = ts.task_claim_next(actor=executor)
    artifact = ts.task_artifact_save(task=task, actor=executor, artifact_type="scorecard",
                                     artifact_summary="Offer scorecard", content_json={"score": 8}, as_result=True)
    event = TaskEvent.objects.get(task=task, event_type="output_saved")
    assert event.event_payload == {"artifact_id": str(artifact.pk)}
    assert len(artifact.content_hash) == 64
    assert Task.objects.get(pk=task.pk).result_id == artifact.pk


def test_escalating_a_task_escalates_its_request_on_the_same_lineage(working):
    request, affiliate = working
    task = ts.task_create(request=request, actor=affiliate, task_type="offer_review_task")
    ts.task_escalate(task=task, actor=affiliate, reason="The offer's claims may breach ad policy.",
                     escalation_owner="sit")
    request.refresh_from_db()
    assert (request.status, request.escalation_owner_id) == ("escalated", "sit")
    assert Task.objects.get(pk=task.pk).status == TaskStatus.ESCALATED


def test_cancel_needs_a_reason_and_a_person_of_the_request(working):
    request, affiliate = working
    task = ts.task_create(request=request, actor=affiliate, task_type="offer_review_task")
    with pytest.raises(DomainError) as by_executor:
        ts.task_cancel(task=task, actor=token_actor("affiliate"), reason="The offer was withdrawn by the network.")
    with pytest.raises(DomainError) as no_reason:
        ts.task_cancel(task=task, actor=affiliate, reason="ok")
    assert by_executor.value.kind == Refusal.FORBIDDEN and no_reason.value.field == "reason"
    assert ts.task_cancel(task=task, actor=affiliate, reason="The offer was withdrawn by the network.").status == "cancelled"


def test_retry_gives_an_exhausted_task_one_more_attempt(working):
    request, affiliate = working
    task = ts.task_create(request=request, actor=affiliate, task_type="scrape", max_attempts=1)
    executor = token_actor("affiliate")
    ts.task_fail(task=ts.task_claim_next(actor=executor), actor=executor, error="HTTP 503 from the network")
    retried = ts.task_retry(task=task, actor=affiliate)
    assert (retried.status, retried.max_attempts) == ("queued", 2)


def test_an_integration_cannot_work_tasks(owner, reviewer):
    request = routed_request(actor(owner), actor(reviewer))
    with pytest.raises(DomainError) as refused:
        ts.task_create(request=request, actor=token_actor("affiliate", role="integration"), task_type="x")
    assert refused.value.kind == Refusal.FORBIDDEN
