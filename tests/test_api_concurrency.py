"""Races through the API, on PostgreSQL (SQLite has no row locks to race on): executors claiming
from one queue, and retries of one idempotent POST arriving together.

Each thread has its own test client and so its own database connection; the rows they race for
must be committed, hence `transactional_db` (with the migrated registry put back first).
"""

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.db import connection

from governance_app.kernel.clock import clock_set
from governance_app.models import RefusalWindow, TokenRole
from requests_app.models import BrainRequest, RequestEvent
from tasks_app.models import Task, TaskEvent
from tests.api_client import Api, api_as, new_request_body

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("transactional_db", "django_db_serialized_rollback")]


def race(workers: list[Callable[[], object]]) -> list[object]:
    """Run each worker in its own thread, released together; return what each returned."""
    start = threading.Barrier(len(workers))
    results: list[object] = [None] * len(workers)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait()
            results[i] = workers[i]()
        except BaseException as error:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def claim_until_empty(api: Api) -> list[str]:
    claimed = []
    while True:
        response = api.post("/tasks/claim")
        if response.status_code == 204:
            return claimed
        assert response.status_code == 200, response.content
        claimed.append(response.json()["task_id"])


def test_eight_executors_claim_each_of_200_tasks_exactly_once():
    research, head_office, affiliate = api_as("research"), api_as("headoffice", "headoffice"), api_as("affiliate")
    request_id = research.post("/requests", new_request_body()).json()["request_id"]
    assert head_office.post(f"/requests/{request_id}/transition",
                            {"to_status": "routed", "review_owner": "headoffice"}).status_code == 200
    for n in range(200):
        assert affiliate.post(f"/requests/{request_id}/tasks", {"task_type": "offer_review_task",
                                                                "title": f"Task {n}"}).status_code == 201
    executors = [api_as("affiliate", TokenRole.EXECUTOR, label=f"executor-{i}") for i in range(8)]

    results = race([lambda api=api: claim_until_empty(api) for api in executors])

    claimed = [task_id for batch in results for task_id in batch]
    assert len(claimed) == 200 and len(set(claimed)) == 200
    assert sum(1 for batch in results if batch) > 1  # they really did work the queue together
    assert Task.objects.filter(status="picked_up", attempts=1).count() == 200
    pickups = Counter(TaskEvent.objects.filter(event_type="picked_up").values_list("task_id", flat=True))
    assert len(pickups) == 200 and set(pickups.values()) == {1}


def test_concurrent_retries_of_one_idempotent_post_create_one_request():
    research = api_as("research")
    clients = [Api(research.secret, label=f"retry-{i}") for i in range(6)]

    answers = race([lambda api=api: api.post("/requests", new_request_body(), key="plugin-intake-7")
                    for api in clients])

    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["request_id"] for a in answers}) == 1
    assert BrainRequest.objects.count() == 1


def test_concurrent_retries_of_one_idempotent_move_all_get_the_first_answer():
    research, head_office = api_as("research"), api_as("headoffice", "headoffice")
    request_id = research.post("/requests", new_request_body()).json()["request_id"]
    clients = [Api(head_office.secret, label=f"retry-{i}") for i in range(6)]
    body = {"to_status": "routed", "review_owner": "headoffice", "note": "Affiliate owns offer reviews."}

    answers = race([lambda api=api: api.post(f"/requests/{request_id}/transition", body, key="route-881")
                    for api in clients])

    assert [a.status_code for a in answers] == [200] * 6, [a.json() for a in answers]
    assert all(a.json() == answers[0].json() for a in answers)
    assert BrainRequest.objects.get().status == "routed"
    assert RequestEvent.objects.filter(event_type="status_changed").count() == 1


def test_eight_refusals_arriving_together_are_one_rule_violation_counted_eight_times():
    """The first refusal of a window opens its row; the others, waiting on its unique key, count in it
    (issue 17: refusal floods)."""
    research, head_office, affiliate = api_as("research"), api_as("headoffice", "headoffice"), api_as("affiliate")
    request_id = research.post("/requests", new_request_body()).json()["request_id"]
    assert head_office.post(f"/requests/{request_id}/transition",
                            {"to_status": "routed", "review_owner": "headoffice"}).status_code == 200
    task_id = affiliate.post(f"/requests/{request_id}/tasks", {"task_type": "offer_review_task"}).json()["task_id"]
    intruder = api_as("finance", TokenRole.EXECUTOR, label="finance-executor")
    clients = [Api(intruder.secret, label=f"intruder-{i}") for i in range(8)]
    inside = datetime(2026, 12, 2, 9, 14, tzinfo=UTC)  # one window, however slow the race

    def refused(api: Api):
        with clock_set(lambda: inside):
            return api.post(f"/tasks/{task_id}/transition", {"to_status": "picked_up"}).status_code

    assert race([lambda api=api: refused(api) for api in clients]) == [404] * 8
    assert TaskEvent.objects.filter(task_id=task_id, event_type="rule_violation").count() == 1
    assert list(RefusalWindow.objects.values_list("refusal_count", flat=True)) == [8]
