"""Refusal floods (issue 17, item 4): 200 refused calls by one executor left 200 rule_violation events
on another Brain's task, and each 403 named the Brain that owns it. Now a refused call is recorded
once per actor, record and move in each window (MWMS_REFUSAL_WINDOW_MINUTES), the window's row
counts the rest, and an executor is told another Brain's task does not exist, on every task endpoint."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from governance_app.kernel.clock import clock_set
from governance_app.models import Brain, RefusalWindow, TokenRole
from mwms_site.api import api
from requests_app.models import BrainRequest, RequestEvent
from tasks_app.models import Task, TaskArtifact, TaskEvent
from tasks_app.transitions import TASK_MOVE_FOR_STATUS
from tests.api_client import (  # noqa: F401 - fixtures
    Api,
    affiliate,
    api_as,
    created,
    head_office,
    research,
    routed,
)
from tests.factories import make_refusal_window

pytestmark = pytest.mark.django_db

# A moment well inside a 10-minute window (the default), so a slow run cannot cross into the next.
WINDOW = datetime(2026, 12, 2, 9, 10, tzinfo=UTC)
INSIDE = WINDOW + timedelta(minutes=4)
NEXT = WINDOW + timedelta(minutes=10, seconds=30)


@pytest.fixture
def queued(affiliate, routed) -> dict:
    response = affiliate.post(f"/requests/{routed['request_id']}/tasks", {"task_type": "offer_review_task",
                                                                          "title": "Score the offer"})
    assert response.status_code == 201
    return response.json()


@pytest.fixture
def intruder(brains) -> Api:
    """An executor of the Finance Brain, which has no part in Affiliate's task."""
    return api_as("finance", TokenRole.EXECUTOR, label="finance-executor")


def violations(task_id: str) -> list[dict]:
    return list(TaskEvent.objects.filter(task_id=task_id, event_type="rule_violation").order_by("created_at")
                .values())


# --- one event per window, and the count ------------------------------------------------------------

def test_200_refused_calls_leave_one_rule_violation_per_window_and_count_200(client, queued, intruder, reviewer):
    task_id = queued["task_id"]
    with clock_set(lambda: INSIDE):
        answers = {intruder.post(f"/tasks/{task_id}/transition", {"to_status": "picked_up"}).status_code
                   for _ in range(200)}

    assert answers == {404}
    assert Task.objects.get(pk=task_id).status == "queued"
    (event,) = violations(task_id)
    assert event["actor"] == "token:finance-executor"
    assert event["event_summary"] == ("Refused claim by token:finance-executor: this task belongs to affiliate, "
                                      "not to finance")
    window = RefusalWindow.objects.get()
    assert (window.refusal_count, window.event_id, window.subject_id, window.rule) == (
        200, event["id"], uuid.UUID(task_id), "claim")
    assert (window.window_start, window.last_refused_at) == (WINDOW, INSIDE)

    # HeadOffice sees the 200 on the request's drill-down, next to the one event.
    client.force_login(reviewer)
    page = client.get(reverse("requests:detail", args=[queued["request_id"]]))
    assert page.text.count("Refused 200 times") == 1
    assert "in this 10-minute window (recorded once)" in page.text
    assert "(refused 200 times in this window)" in page.text  # the task panel's own timeline

    # The next window opens with a new event and a new row; the first ones stay as they were.
    with clock_set(lambda: NEXT):
        assert intruder.post(f"/tasks/{task_id}/transition", {"to_status": "picked_up"}).status_code == 404
    assert violations(task_id)[0] == event and len(violations(task_id)) == 2
    assert sorted(RefusalWindow.objects.values_list("window_start", "refusal_count")) == [
        (WINDOW, 200), (WINDOW + timedelta(minutes=10), 1)]


def test_each_move_and_each_executor_has_its_own_window(queued, intruder, brains):
    task_id = queued["task_id"]
    other = api_as("ads", TokenRole.EXECUTOR, label="ads-executor")
    with clock_set(lambda: INSIDE):
        for _ in range(3):
            intruder.post(f"/tasks/{task_id}/transition", {"to_status": "picked_up"})
            intruder.post(f"/tasks/{task_id}/events", {"summary": "Taking this over"})
            other.post(f"/tasks/{task_id}/transition", {"to_status": "picked_up"})

    assert len(violations(task_id)) == 3
    assert sorted(RefusalWindow.objects.values_list("actor", "rule", "refusal_count")) == [
        ("token:ads-executor", "claim", 3), ("token:finance-executor", "claim", 3),
        ("token:finance-executor", "progress", 3)]


def test_a_brain_tokens_refused_request_moves_are_one_event_per_window_too(client, research, reviewer):
    """Requests keep their refusals the same way: Research may not route its own request."""
    request_id = created(research)["request_id"]
    with clock_set(lambda: INSIDE):
        answers = {research.post(f"/requests/{request_id}/transition",
                                 {"to_status": "routed", "review_owner": "headoffice"}).status_code
                   for _ in range(30)}

    assert answers == {403}
    (event,) = RequestEvent.objects.filter(request_id=request_id, event_type="rule_violation")
    window = RefusalWindow.objects.get()
    assert (window.subject_kind, window.refusal_count, window.event_id, window.rule) == ("request", 30, event.pk,
                                                                                        "route")
    assert BrainRequest.objects.get(pk=request_id).status == "new"
    client.force_login(reviewer)
    assert "Refused 30 times" in client.get(reverse("requests:detail", args=[request_id])).text


def test_the_windows_are_listed_read_only_in_the_admin(admin_client, queued, intruder):
    with clock_set(lambda: INSIDE):
        for _ in range(7):
            intruder.post(f"/tasks/{queued['task_id']}/transition", {"to_status": "picked_up"})
    window = RefusalWindow.objects.get()

    listed = admin_client.get(reverse("admin:governance_app_refusalwindow_changelist"))

    assert listed.status_code == 200 and "token:finance-executor" in listed.text
    assert '<td class="field-refusal_count">7</td>' in listed.text
    change = reverse("admin:governance_app_refusalwindow_change", args=[window.pk])
    assert admin_client.post(change, {"refusal_count": 1}).status_code == 403
    assert admin_client.get(reverse("admin:governance_app_refusalwindow_add")).status_code == 403
    assert RefusalWindow.objects.get().refusal_count == 7


# --- 404 for another Brain's task, on every task endpoint --------------------------------------------

# For each task operation of the API, the calls an intruding executor tries: valid bodies and bodies
# its input checks would refuse (so that no check answers before the task is found), for every move.
TRANSITIONS = [{"to_status": s, **extra} for s in TASK_MOVE_FOR_STATUS
               for extra in ({}, {"result_summary": "Scored it fully, 8/10.", "error": "HTTP 503",
                                  "reason": "The offer was withdrawn by the supplier."},
                             {"result_summary": "done", "error": "", "reason": "x"})]
CALLS = {
    ("GET", "/tasks/{task_id}"): [None],
    ("POST", "/tasks/{task_id}/transition"): TRANSITIONS,
    ("POST", "/tasks/{task_id}/events"): [{"summary": "Taking this over"}, {"summary": ""},
                                          {"event_type": "warning", "summary": "Slow"}],
    ("POST", "/tasks/{task_id}/artifacts"): [{"artifact_type": "scorecard", "artifact_summary": "8/10"},
                                             {"artifact_type": "", "artifact_summary": ""},
                                             {"artifact_type": "scorecard", "artifact_summary": "8/10",
                                              "as_result": True}],
}


def task_operations() -> set[tuple[str, str]]:
    paths = api.get_openapi_schema()["paths"]
    return {(method.upper(), path.removeprefix("/api/v1")) for path, operations in paths.items()
            if "{task_id}" in path for method in operations}


def test_every_task_operation_of_the_api_is_tried():
    assert task_operations() == set(CALLS)


@pytest.mark.parametrize(("running"), [False, True], ids=["queued", "running"])
def test_another_brains_task_is_404_on_every_task_endpoint_and_names_no_brain(queued, intruder, brains, running):
    if running:  # Affiliate's own executor has it in hand: the intruder learns that neither
        executor = api_as("affiliate", TokenRole.EXECUTOR, label="affiliate-executor")
        assert executor.post("/tasks/claim").status_code == 200
        assert executor.post(f"/tasks/{queued['task_id']}/transition", {"to_status": "running"}).status_code == 200
    task = Task.objects.get(pk=queued["task_id"])
    # The refusals go on the task's history (below), so only its chain's head moves on.
    unchanged = [f.attname for f in Task._meta.concrete_fields if f.attname not in ("chain_seq", "chain_head")]
    before = Task.objects.filter(pk=task.pk).values(*unchanged).get()
    artifacts = TaskArtifact.objects.count()
    slugs = set(Brain.objects.values_list("slug", flat=True))
    leaks = []

    with clock_set(lambda: INSIDE):
        for (method, route), bodies in CALLS.items():
            for body in bodies:
                ours = _call(intruder, method, route.format(task_id=task.pk), body)
                missing = _call(intruder, method, route.format(task_id=uuid.uuid4()), body)
                named = sorted(slug for slug in slugs if slug in ours.content.decode())
                if (ours.status_code, ours.json()) != (404, missing.json()) or missing.status_code != 404 or named:
                    leaks.append(f"{method} {route} {body}: {ours.status_code} {ours.json()} (names {named}); "
                                 f"a missing task {missing.status_code} {missing.json()}")

    assert not leaks, "\n".join(leaks)
    assert Task.objects.filter(pk=task.pk).values(*unchanged).get() == before
    assert TaskArtifact.objects.count() == artifacts
    # Each move it tried is on the task's history once (this window); a read is not a refused move.
    assert {e["event_payload"]["move"] for e in violations(task.pk)} == {
        "claim", "start", "complete", "fail", "retry", "cancel", "escalate", "progress", "save_artifact"}


def _call(api_client: Api, method: str, path: str, body):
    return api_client.get(path) if method == "GET" else api_client.post(path, body)


def test_a_brains_own_executor_still_gets_403_for_a_move_that_is_not_an_executors(queued):
    """The 404 is for another Brain's task only: on its own Brain's task an executor may read that a
    manager's move is not its to make."""
    executor = api_as("affiliate", TokenRole.EXECUTOR)
    refused = executor.post(f"/tasks/{queued['task_id']}/transition",
                            {"to_status": "cancelled", "reason": "The offer was withdrawn by the supplier."})

    assert refused.status_code == 403


# --- the database's own rules for the windows -----------------------------------------------------------

def test_a_direct_writer_cannot_open_a_second_row_for_the_same_window():
    window = make_refusal_window()
    table = RefusalWindow._meta.db_table
    columns = "id, tenant_id, actor_key, actor, subject_kind, subject_id, rule, window_start, refusal_count, " \
              "last_refused_at, created_at"
    prep = RefusalWindow._meta.get_field("subject_id").get_db_prep_value
    at = connection.ops.adapt_datetimefield_value

    with pytest.raises(IntegrityError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 1, %s, %s)",
            [prep(uuid.uuid4(), connection), prep(window.tenant_id, connection), window.actor_key, window.actor,
             window.subject_kind, prep(window.subject_id, connection), window.rule, at(window.window_start),
             at(window.last_refused_at), at(window.last_refused_at)])

    assert "mwms_refusal_windows_one_per_window" in str(refused.value) or "UNIQUE constraint failed" in str(
        refused.value)
    assert RefusalWindow.objects.count() == 1
