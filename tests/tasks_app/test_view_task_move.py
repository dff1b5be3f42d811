"""POST /tasks/<id>/moves/<move>/: every move of the task transition table from the drill-down — made by
someone allowed to make it, refused from a status it does not start from, refused to someone whose
move it is not — and the view's own answers (wrong method, anonymous, outsider, unknown move)."""

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import reverse
from django.utils.html import escape

from requests_app.models import RequestStatus
from tasks_app import services
from tasks_app.models import Task, TaskEvent, TaskStatus
from tasks_app.transitions import TASK_MOVE_NAMES, TASK_MOVES
from tests.conftest import said
from tests.engine import actor
from tests.factories import make_task
from tests.tasks_app.conftest import task_row

pytestmark = pytest.mark.django_db
T = TaskStatus


@dataclass(frozen=True)
class Case:
    """One move as the drill-down makes it."""

    starts: str                    # a status the move starts from
    refused_from: str              # a status it does not start from
    by: str                        # "worker" (a member of the assigned Brain) or "manager" (of the request)
    ends: str                      # the task's status afterwards
    events: tuple[tuple[str, str, str], ...]   # (event type, from status, to status) of each event written
    fields: dict[str, str] = field(default_factory=dict)
    request_ends: str = RequestStatus.IN_PROGRESS


CASES: dict[str, Case] = {
    "claim": Case(T.QUEUED, T.RUNNING, "worker", T.PICKED_UP, (("picked_up", T.QUEUED, T.PICKED_UP),)),
    "start": Case(T.PICKED_UP, T.QUEUED, "worker", T.RUNNING, (("started", T.PICKED_UP, T.RUNNING),),
                  {"note": "Starting with the DE market."}),
    "progress": Case(T.RUNNING, T.PICKED_UP, "worker", T.RUNNING, (("progress", T.RUNNING, T.RUNNING),),
                     {"summary": "Scanned DE and FR; UK is next."}),
    "warn": Case(T.RUNNING, T.QUEUED, "worker", T.RUNNING, (("warning", T.RUNNING, T.RUNNING),),
                 {"summary": "The UK source rate-limits us to 100 queries an hour."}),
    "complete": Case(T.RUNNING, T.PICKED_UP, "worker", T.COMPLETED, (("completed", T.RUNNING, T.COMPLETED),),
                     {"result_summary": "Demand is up 20% in DE and FR and flat in the UK."}),
    # Attempts remain (1 of 3), so the failure queues the task again.
    "fail": Case(T.RUNNING, T.QUEUED, "worker", T.QUEUED,
                 (("error", T.RUNNING, T.FAILED), ("requeued", T.FAILED, T.QUEUED)),
                 {"error": "The search API timed out three times."}),
    "retry": Case(T.FAILED, T.RUNNING, "manager", T.QUEUED, (("requeued", T.FAILED, T.QUEUED),),
                  {"note": "The search API is back."}),
    "cancel": Case(T.RUNNING, T.COMPLETED, "manager", T.CANCELLED, (("cancelled", T.RUNNING, T.CANCELLED),),
                   {"reason": "The network withdrew the offer, so its demand no longer matters."}),
    # A task's escalation escalates its request on the same lineage (connector rule 6).
    "escalate": Case(T.RUNNING, T.CANCELLED, "worker", T.ESCALATED, (("escalated", T.RUNNING, T.ESCALATED),),
                     {"reason": "The scan needs a paid data source above the Brain's budget."},
                     request_ends=RequestStatus.ESCALATED),
}


def rule(move: str):
    return next(m for m in TASK_MOVES if m.name == move)


def test_every_move_has_a_case_that_starts_where_the_table_says():
    assert set(CASES) == set(TASK_MOVE_NAMES)
    for move, case in CASES.items():
        assert case.starts in rule(move).from_statuses, move
        assert all(case.refused_from not in m.from_statuses for m in TASK_MOVES if m.name == move), move


def move_url(task: Task, move: str) -> str:
    return reverse("tasks:move", args=[task.pk, move])


def posted(task: Task, move: str, fields: dict[str, str]) -> dict[str, str]:
    """The move's form as the drill-down posts it (each field under the task's and move's prefix)."""
    return {f"{task.pk}-{move}-{name}": value for name, value in fields.items()}


def finance_task(request, status: str, **overrides: Any) -> Task:
    """A task of the working request assigned to Finance, already at `status` (a task past the queue
    has been picked up once)."""
    if status != T.QUEUED:
        overrides.setdefault("attempts", 1)
    return make_task(request, status=status, assigned_brain="finance", **overrides)


@pytest.fixture
def acting(finance_member, other_owner):
    """Who makes a move: a Finance member works Finance's tasks; Affiliate, the destination, manages them."""
    return {"worker": finance_member, "manager": other_owner}


def signed_in(client, user):
    client.force_login(user)
    return client


def events_after(task: Task, before: set) -> list[tuple[str, str, str, str]]:
    return sorted((e.event_type, e.from_status, e.to_status, e.actor)
                  for e in TaskEvent.objects.filter(task=task).exclude(pk__in=before))


# --- each move -----------------------------------------------------------------------------------

@pytest.mark.parametrize("move", TASK_MOVE_NAMES)
def test_the_move_changes_the_task_and_writes_its_event(client, working, acting, move):
    case = CASES[move]
    task = finance_task(working, case.starts)
    before = set(TaskEvent.objects.filter(task=task).values_list("pk", flat=True))
    user = acting[case.by]
    page = signed_in(client, user).post(move_url(task, move), posted(task, move, case.fields))
    assert page.status_code == 302 and page["Location"] == reverse("requests:detail", args=[working.pk])
    assert said(page) == [f"Task “Scan search demand”: {move} recorded."]
    row = Task.objects.select_related("request").get(pk=task.pk)
    assert row.status == case.ends
    assert row.lock_version == task.lock_version + len(case.events)
    assert events_after(task, before) == sorted(
        (event_type, frm, to, user.get_username()) for event_type, frm, to in case.events)
    assert row.request.status == case.request_ends


@pytest.mark.parametrize("move", TASK_MOVE_NAMES)
def test_the_move_is_refused_from_a_status_it_does_not_start_from(client, working, acting, move):
    case = CASES[move]
    task = finance_task(working, case.refused_from)
    before = task_row(task)
    page = signed_in(client, acting[case.by]).post(move_url(task, move), posted(task, move, case.fields))
    status = dict(T.choices)[case.refused_from].lower()
    why = f"{rule(move).label} is not possible while the task is {status}."
    assert page.status_code == 200
    assert page.context["bound_task_form"].errors == {"__all__": [why]}
    assert said(page) == [f"Not saved: {why}"] and f"Not saved: {why}" in page.text
    assert task_row(task) == before


@pytest.mark.parametrize("move", TASK_MOVE_NAMES)
def test_the_move_is_refused_to_a_brain_whose_move_it_is_not(client, working, owner, move):
    # Research asked for the work; it neither works Finance's task nor manages the request's tasks.
    task = finance_task(working, CASES[move].starts)
    before = task_row(task)
    page = signed_in(client, owner).post(move_url(task, move), posted(task, move, CASES[move].fields))
    why = f"{rule(move).label} is not yours to do: this task belongs to finance."
    assert page.status_code == 200
    assert page.context["bound_task_form"].errors == {"__all__": [why]}
    assert said(page) == [f"Not saved: {why}"]
    assert task_row(task) == before


def test_a_worker_moves_a_task_and_a_refusal_is_shown(client, working, other_owner):
    task = services.task_create(request=working, actor=actor(other_owner), task_type="offer_review_task")
    client.force_login(other_owner)
    client.post(move_url(task, "claim"))
    client.post(move_url(task, "start"))
    before = task_row(task)
    refused = client.post(move_url(task, "complete"), {f"{task.pk}-complete-result_summary": "done"})
    assert refused.status_code == 200 and "placeholder" in refused.text
    form = refused.context["bound_task_form"]
    assert list(form.errors) == ["result_summary"] and "placeholder" in form.errors["result_summary"][0]
    assert f'<ul class="field-error"><li>{escape(form.errors["result_summary"][0])}' in refused.text  # by its field
    # The claim's and the start's messages are still queued (nothing followed their redirects).
    assert said(refused)[-1] == f"Not saved: {form.errors['result_summary'][0]}"
    assert task_row(task) == before and before["task"]["status"] == TaskStatus.RUNNING
    client.post(move_url(task, "complete"), {f"{task.pk}-complete-result_summary": "Scored the offer 8/10 on margin."})
    assert Task.objects.get(pk=task.pk).status == TaskStatus.COMPLETED


# --- the view ----------------------------------------------------------------------------------

@pytest.mark.parametrize("move", TASK_MOVE_NAMES)
def test_it_rejects_get(client, working, acting, move):
    case = CASES[move]
    task = finance_task(working, case.starts)
    before = task_row(task)
    assert signed_in(client, acting[case.by]).get(move_url(task, move)).status_code == 405
    assert task_row(task) == before


@pytest.mark.parametrize("move", TASK_MOVE_NAMES)
def test_it_sends_anonymous_visitors_to_sign_in(client, working, move):
    case = CASES[move]
    task = finance_task(working, case.starts)
    before = task_row(task)
    page = client.post(move_url(task, move), posted(task, move, case.fields))
    assert page.status_code == 302 and page["Location"].startswith(reverse("login"))
    assert task_row(task) == before


@pytest.mark.parametrize("move", TASK_MOVE_NAMES)
def test_it_is_404_for_an_outsider(client, working, outsider, move):
    case = CASES[move]
    task = finance_task(working, case.starts)
    before = task_row(task)
    assert signed_in(client, outsider).post(move_url(task, move), posted(task, move, case.fields)).status_code == 404
    assert task_row(task) == before


def test_an_unknown_move_is_404(client, working, finance_member):
    task = finance_task(working, T.RUNNING)
    before = task_row(task)
    assert signed_in(client, finance_member).post(move_url(task, "approve")).status_code == 404
    assert task_row(task) == before


def test_an_unknown_task_is_404(client, working, finance_member):
    url = reverse("tasks:move", args=["00000000-0000-0000-0000-000000000000", "claim"])
    assert signed_in(client, finance_member).post(url).status_code == 404
