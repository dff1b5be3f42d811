"""kernel.transactions: a service directly inside an API call's transaction takes no savepoint of
its own, a refusal there rolls the whole call back, and the record of the refusal is written after
that rollback, acting for the actor's tenant."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from governance_app.kernel import transactions
from governance_app.kernel.actors import SYSTEM
from governance_app.kernel.errors import DomainError
from requests_app.models import RequestEvent
from requests_app.services import request_event_write
from tasks_app.models import Task, TaskEvent
from tests.api_client import (  # noqa: F401 - fixtures
    affiliate,
    api_as,
    executor,
    head_office,
    new_request_body,
    research,
    routed,
)
from tests.factories import make_request

pytestmark = pytest.mark.django_db


def _savepoints(captured: CaptureQueriesContext) -> int:
    return sum(query["sql"].startswith("SAVEPOINT") for query in captured.captured_queries)


@pytest.mark.postgres
def test_an_api_creation_and_a_claim_take_no_savepoint_of_their_own(research, affiliate, executor, routed):
    """The test runs inside a transaction, so the call's own transaction is the one savepoint."""
    affiliate.post(f"/requests/{routed['request_id']}/tasks", {"task_type": "offer_review_task"})

    with CaptureQueriesContext(connection) as creation:
        assert research.post("/requests", new_request_body()).status_code == 201
    with CaptureQueriesContext(connection) as claim:
        assert executor.post("/tasks/claim").status_code == 200

    assert _savepoints(creation) == 1 and _savepoints(claim) == 1
    assert Task.objects.get().status == "picked_up"


def test_a_service_keeps_its_savepoint_outside_a_final_call(brains):
    request = make_request()
    with CaptureQueriesContext(connection) as page:
        with transactions.call_transaction(final=False):
            with transactions.atomic():
                request_event_write(request=request, actor=SYSTEM, event_type="note", summary="A page's note")
    with CaptureQueriesContext(connection) as nested:
        with transactions.call_transaction(final=True), transactions.atomic():
            with transactions.atomic():  # not directly in the call: the outer service may go on after it
                request_event_write(request=request, actor=SYSTEM, event_type="note", summary="Nested")

    assert _savepoints(page) == 2  # the call's (the test's transaction is outside it) and the service's
    assert _savepoints(nested) == 2


def test_a_refusal_in_a_final_call_rolls_the_call_back_and_the_record_is_written_after(brains):
    request = make_request()
    seen_by_the_record = []

    def record() -> None:
        seen_by_the_record.append(RequestEvent.objects.filter(request=request, event_summary="Half done").exists())
        request_event_write(request=request, actor=SYSTEM, event_type="rule_violation",
                            summary="Refused: not yours")

    with transactions.call_transaction(final=True):
        try:
            with transactions.atomic():
                request_event_write(request=request, actor=SYSTEM, event_type="note", summary="Half done")
                raise DomainError("Not yours.")
        except DomainError:
            assert transactions.doomed()
            transactions.after_refusal(request.tenant_id, record)
        assert seen_by_the_record == []  # not while the refused work could still be seen

    assert seen_by_the_record == [False]
    assert list(RequestEvent.objects.filter(request=request).exclude(event_type="created")
                .values_list("event_summary", flat=True)) == ["Refused: not yours"]


def test_a_refusal_with_a_savepoint_is_recorded_at_once(brains):
    request = make_request()
    recorded = []
    with transactions.call_transaction(final=False):
        try:
            with transactions.atomic():
                request_event_write(request=request, actor=SYSTEM, event_type="note", summary="Half done")
                raise DomainError("Not yours.")
        except DomainError:
            assert not transactions.doomed()
            transactions.after_refusal(request.tenant_id, lambda: recorded.append("now"))
        assert recorded == ["now"]
    assert not RequestEvent.objects.filter(request=request, event_summary="Half done").exists()


@pytest.mark.postgres
def test_a_refused_api_move_leaves_only_its_rule_violation(routed, affiliate, brains):
    queued = affiliate.post(f"/requests/{routed['request_id']}/tasks", {"task_type": "offer_review_task"}).json()
    intruder = api_as("finance", "executor", label="finance-executor")

    answer = intruder.post(f"/tasks/{queued['task_id']}/transition", {"to_status": "picked_up"})

    assert answer.status_code == 404  # another Brain's task does not exist for an executor
    assert Task.objects.get().status == "queued"
    assert list(TaskEvent.objects.filter(task_id=queued["task_id"]).values_list("event_type", "actor")) == [
        ("created", "token:affiliate-brain"), ("rule_violation", "token:finance-executor")]
