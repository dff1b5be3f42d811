"""People and executors acting at the same moment: the queue hands each task out once, and a request
takes one move at a time, the loser getting a clear conflict (ARCHITECTURE.md, "The request state
machine"; executors claim with `SELECT … FOR UPDATE SKIP LOCKED`).

The races need real row locks and several connections, so they run on PostgreSQL, with committed
data (`transactional_db`; `django_db_serialized_rollback` puts the migrated Brain registry back
after the flush). The optimistic-lock tests at the end need neither and run everywhere.
"""

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from governance_app.kernel.actors import Actor
from governance_app.kernel.claims import set_session_claim
from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.kernel.errors import DomainError, Refusal
from governance_app.models import MembershipRole
from requests_app import services as rs
from requests_app.models import BrainRequest, RequestEvent, RequestStatus
from tasks_app import services as ts
from tasks_app.models import Task, TaskEvent, TaskStatus
from tests.conftest import _member
from tests.engine import OUTCOME, actor, in_progress_request, new_request, token_actor

RACE_TIMEOUT = 120  # seconds; a thread still running after this is a deadlock, and fails the test


@pytest.fixture
def committed(transactional_db, django_db_serialized_rollback) -> None:
    """Committed rows that other connections see, and the Brain registry back after the flush."""


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run each call in its own thread and connection, all released together by a barrier.

    Returns what each call returned, or the exception it raised, in call order. Each connection acts
    for the demo tenant (row-level security on PostgreSQL), as a web request or an API call would.
    """
    barrier = threading.Barrier(len(calls))
    outcomes: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            set_session_claim(DEFAULT_TENANT_ID)
            barrier.wait(timeout=RACE_TIMEOUT)
            outcomes[index] = call()
        except BaseException as error:  # noqa: BLE001 — the test asserts on whatever was raised
            outcomes[index] = error
        finally:
            connection.close()  # this thread's own connection; the test database is dropped later

    threads = [threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=RACE_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck: a deadlock or a lock never released"
    return outcomes


def claim_until_empty(executor: Actor) -> list:
    """What one executor loop does: claim the next task until the queue says there is none."""
    claimed = []
    while (task := ts.task_claim_next(actor=executor)) is not None:
        claimed.append(task.pk)
    return claimed


def queue_of(size: int, *, requester: Actor, head_office: Actor, worker: Actor) -> list:
    """`size` queued tasks for the Affiliate Brain, under one request it is working."""
    request = in_progress_request(requester, head_office, worker)
    return [ts.task_create(request=request, actor=worker, task_type="offer_review_task", title=f"Offer {n}").pk
            for n in range(size)]


def assert_each_claimed_exactly_once(task_ids: list, claims: list[list], executors: list[Actor]) -> None:
    everything = [pk for claimed in claims for pk in claimed]
    twice = [pk for pk, n in Counter(everything).items() if n > 1]
    assert not twice, f"{len(twice)} task(s) were handed to two executors"
    assert sorted(everything) == sorted(task_ids), "some queued tasks were never handed out"
    tasks = Task.objects.filter(pk__in=task_ids)
    assert set(tasks.values_list("status", flat=True)) == {TaskStatus.PICKED_UP}
    assert set(tasks.values_list("attempts", flat=True)) == {1}
    picked_up = Counter(TaskEvent.objects.filter(task__in=task_ids, event_type="picked_up")
                        .values_list("task_id", flat=True))
    assert picked_up == Counter(task_ids), "every claimed task has exactly one picked_up event"
    # The task records who holds it, and it is the executor that was told it had claimed it.
    holder = dict(tasks.values_list("pk", "assigned_employee"))
    for executor, claimed in zip(executors, claims):
        assert {holder[pk] for pk in claimed} <= {executor.label}


@pytest.mark.postgres
def test_two_executors_claiming_from_one_queue_never_get_the_same_task(committed, reviewer, owner, other_owner):
    task_ids = queue_of(20, requester=actor(owner), head_office=actor(reviewer), worker=actor(other_owner))
    executors = [token_actor("affiliate", label=f"affiliate-executor-{n}") for n in range(2)]

    claims = at_once(*(lambda e=e: claim_until_empty(e) for e in executors))

    assert all(isinstance(c, list) for c in claims), claims
    assert_each_claimed_exactly_once(task_ids, claims, executors)


@pytest.mark.postgres
def test_eight_executors_claim_each_of_200_queued_tasks_exactly_once(committed, reviewer, owner, other_owner):
    task_ids = queue_of(200, requester=actor(owner), head_office=actor(reviewer), worker=actor(other_owner))
    executors = [token_actor("affiliate", label=f"affiliate-executor-{n}") for n in range(8)]

    claims = at_once(*(lambda e=e: claim_until_empty(e) for e in executors))

    assert all(isinstance(c, list) for c in claims), claims
    assert_each_claimed_exactly_once(task_ids, claims, executors)
    assert sum(1 for claimed in claims if claimed) > 1, "the executors did not claim side by side"


def responded_request(*, requester: Actor, head_office: Actor, worker: Actor) -> BrainRequest:
    request = in_progress_request(requester, head_office, worker)
    return rs.request_respond(request=request, actor=worker, outcome_type="recommendation_delivered",
                              response_summary="Strong offer: recommend a controlled test at a capped budget.")


def status_events(request: BrainRequest) -> list[str]:
    return list(RequestEvent.objects.filter(request=request, event_type="status_changed")
                .order_by("created_at").values_list("to_status", flat=True))


def one_winner(outcomes: list[Any]) -> tuple[BrainRequest, DomainError]:
    """The one call that succeeded and the one refused with a conflict; anything else fails."""
    won = [o for o in outcomes if isinstance(o, BrainRequest)]
    lost = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(won) == 1 and len(lost) == 1, f"expected one winner and one conflict, got {outcomes!r}"
    assert lost[0].kind == Refusal.CONFLICT, lost[0]
    return won[0], lost[0]


@pytest.mark.postgres
def test_two_people_closing_one_request_at_once_produce_one_close(committed, reviewer, owner, other_owner):
    research, head_office, affiliate = actor(owner), actor(reviewer), actor(other_owner)
    for _ in range(5):  # a few rounds, so the threads meet in more than one order
        request = responded_request(requester=research, head_office=head_office, worker=affiliate)

        outcomes = at_once(lambda: rs.request_close(request=request, actor=research, **OUTCOME),
                           lambda: rs.request_close(request=request, actor=head_office, **OUTCOME))

        winner, loser = one_winner(outcomes)
        request.refresh_from_db()
        assert request.status == RequestStatus.CLOSED
        assert status_events(request) == ["routed", "in_progress", "responded", "closed"]
        closed_by = RequestEvent.objects.get(request=request, to_status="closed").actor
        assert closed_by == (research if outcomes[0] is winner else head_office).label
        assert "final" in loser.message


@pytest.mark.postgres
@pytest.mark.parametrize(("first", "second"), [("route", "reject"), ("reject", "route"), ("reject", "close")])
def test_two_reviewers_making_different_moves_at_once_one_wins(committed, brains, reviewer, owner, first, second):
    """Route and reject can follow each other, so each carries the version its reviewer saw (as the
    forms do); reject and close are both final, so the second loses without one."""
    head_offices = [actor(reviewer), actor(_member("reviewer2", brains["headoffice"],
                                                   MembershipRole.HEAD_OFFICE_REVIEWER))]
    fields = {"route": {"review_owner": "headoffice"}, "reject": {**OUTCOME, "outcome_type": "rejected"},
              "close": OUTCOME}
    to_status = {"route": RequestStatus.ROUTED, "reject": RequestStatus.REJECTED, "close": RequestStatus.CLOSED}
    versioned = "route" in (first, second)
    for _ in range(5):
        request = new_request(actor(owner))
        seen = request.lock_version

        outcomes = at_once(*(
            lambda move=move, by=by: rs.request_move(request=request, actor=by, move=move, fields=fields[move],
                                                     expected_version=seen if versioned else None)
            for move, by in zip((first, second), head_offices)))

        winner, _ = one_winner(outcomes)
        won_move = (first, second)[outcomes.index(winner)]
        request.refresh_from_db()
        assert request.status == to_status[won_move]
        assert request.lock_version == seen + 1
        assert status_events(request) == [to_status[won_move]]
        assert RequestEvent.objects.filter(request=request).count() == 2  # created, and the one move


# --- the optimistic lock, on any database ------------------------------------------------------

@pytest.mark.django_db
def test_a_move_made_on_an_out_of_date_version_is_refused_and_changes_nothing(reviewer, owner):
    research, head_office = actor(owner), actor(reviewer)
    request = new_request(research)
    seen = request.lock_version
    rs.request_submit(request=request, actor=research)  # someone else moved it after the page loaded
    request.refresh_from_db()
    before = (request.status, request.lock_version, request.updated_at, request.review_owner_id)
    events_before = RequestEvent.objects.filter(request=request).count()

    with pytest.raises(DomainError) as refused:
        rs.request_move(request=request, actor=head_office, move="route", fields={"review_owner": "headoffice"},
                        expected_version=seen)

    assert refused.value.kind == Refusal.CONFLICT
    assert "Reload" in refused.value.message
    request.refresh_from_db()
    assert (request.status, request.lock_version, request.updated_at, request.review_owner_id) == before
    assert RequestEvent.objects.filter(request=request).count() == events_before
    # The same move on the version the reviewer now sees goes through.
    rs.request_move(request=request, actor=head_office, move="route", fields={"review_owner": "headoffice"},
                    expected_version=request.lock_version)
    request.refresh_from_db()
    assert request.status == RequestStatus.ROUTED


@pytest.mark.django_db
def test_a_write_on_a_row_changed_since_it_was_read_is_refused(reviewer, owner):
    """The lock_version condition on the write itself: how a lost race shows where there are no row
    locks (SQLite), and the last guard where there are."""
    request = new_request(actor(owner))
    read_earlier = BrainRequest.objects.get(pk=request.pk)
    rs.request_submit(request=request, actor=actor(owner))

    with pytest.raises(DomainError) as refused:
        rs.request_commit(request=read_earlier, actor=actor(reviewer), to_status=RequestStatus.PARKED,
                          changes={"held_from_status": RequestStatus.NEW}, summary="Park: New → Parked")

    assert refused.value.kind == Refusal.CONFLICT
    request.refresh_from_db()
    assert request.status == RequestStatus.UNDER_REVIEW
    assert status_events(request) == [RequestStatus.UNDER_REVIEW]
