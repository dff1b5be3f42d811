"""The dashboard's reads: queue counts and oldest items, request health, each scoped to the actor and
each in a fixed number of queries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance_app import selectors
from requests_app.models import BrainRequest, RequestStatus
from tests.engine import actor
from tests.factories import make_request, request_fields_for

pytestmark = pytest.mark.django_db
S = RequestStatus


def ago(**delta) -> timezone.datetime:
    return timezone.now() - timedelta(**delta)


def counts(who) -> dict[str, int]:
    return {queue.key: queue.count for queue in selectors.dashboard_queues(actor=actor(who))}


@pytest.fixture
def mix(brains) -> dict[str, BrainRequest]:
    """One request per queue, and some that belong to none (Affiliate → Research unless named)."""
    return {
        "new": make_request(status=S.NEW, updated_at=ago(hours=2)),
        "under_review": make_request(status=S.UNDER_REVIEW, updated_at=ago(days=2)),
        "escalated": make_request(status=S.ESCALATED),
        "blocked": make_request(status=S.BLOCKED),
        "awaiting_ho": make_request(status=S.AWAITING_HEAD_OFFICE_REVIEW),
        "feedback": make_request(status=S.AWAITING_HEAD_OFFICE_REVIEW, request_type="head_office_review_request",
                                 target_brain="headoffice"),
        "mcr": make_request(status=S.AWAITING_MCR_DECISION, request_type="mcr_update_suggestion",
                            target_brain="headoffice", mcr_update_status="proposed"),
        "stale": make_request(status=S.IN_PROGRESS, updated_at=ago(days=8)),
        "parked_long_ago": make_request(status=S.PARKED, updated_at=ago(days=40)),
        "closed_long_ago": make_request(status=S.CLOSED, updated_at=ago(days=40)),
        # A row written straight into the database, skipping what the respond move demands.
        "responded_bare": make_request(status=S.RESPONDED, outcome_type=None),
        "responded_ok": make_request(status=S.RESPONDED),
    }


def test_each_queue_counts_what_it_says(mix, reviewer):
    assert counts(reviewer) == {
        "breached": 0,                       # no SLA policy here (tests/requests_app/test_sla.py)
        "due_soon": 0,
        "needs_review": 2,                   # new, under review
        "escalated": 1,
        "blocked": 1,
        "awaiting_head_office_review": 2,    # one of them is feedback
        "feedback_to_classify": 1,
        "awaiting_mcr_decision": 1,
        "stale": 1,                          # not the parked one, not the closed one
        "responded_without_outcome": 1,      # the one with no outcome type
    }


def test_each_queue_names_its_oldest_item(mix, reviewer):
    queues = {queue.key: queue for queue in selectors.dashboard_queues(actor=actor(reviewer))}
    assert queues["needs_review"].oldest == mix["under_review"]
    assert queues["stale"].oldest == mix["stale"]
    assert queues["escalated"].attention and not queues["needs_review"].attention


def test_stale_follows_the_setting(mix, reviewer, settings):
    settings.MWMS_STALE_AFTER_DAYS = 1
    assert counts(reviewer)["stale"] == 2    # the in-progress one and the one under review for two days


def test_a_brain_owner_counts_only_what_their_brain_can_see(mix, owner, outsider):
    make_request(status=S.ESCALATED, requesting_brain="ads", target_brain="finance")
    make_request(status=S.NEW, requesting_brain="ads", target_brain="finance")
    research = counts(owner)
    # The mix is Affiliate → Research except the two sent to HeadOffice; the Ads → Finance rows are hidden.
    assert research["escalated"] == 1 and research["needs_review"] == 2
    assert research["feedback_to_classify"] == 0 and research["awaiting_mcr_decision"] == 0
    assert set(counts(outsider).values()) == {0}


def test_health_groups_open_requests_and_counts_closures_per_week(mix, reviewer):
    make_request(status=S.REJECTED, closed_at=ago(days=8))
    make_request(status=S.CLOSED, closed_at=ago(days=70))    # older than eight weeks
    health = selectors.dashboard_health(actor=actor(reviewer))
    open_count = len(mix) - 1
    assert health.open_total == open_count
    assert {bar.key: bar.count for bar in health.by_status}[S.RESPONDED] == 2
    assert {bar.key: bar.count for bar in health.by_destination} == {"research": open_count - 2, "headoffice": 2}
    aging = {bar.key: bar.count for bar in health.aging}
    assert (aging["d1_3"], aging["d7_30"], aging["gt_30d"]) == (1, 1, 1)   # under review, stale, parked
    assert sum(aging.values()) == open_count
    assert len(health.closures) == 8 and health.closures[-1].starts <= timezone.localdate()
    assert health.closures_total == 2      # the mix's closed one (closed today) and the rejected one
    assert health.closures[-1].closed == 1 and sum(w.rejected for w in health.closures) == 1


def _bulk(n: int) -> None:
    statuses = [S.NEW, S.UNDER_REVIEW, S.ESCALATED, S.BLOCKED, S.IN_PROGRESS, S.RESPONDED, S.CLOSED,
                S.AWAITING_MCR_DECISION]
    BrainRequest.objects.bulk_create([BrainRequest(
        requesting_authority="research", requesting_brain_id="research", target_brain_id="affiliate",
        request_type="offer_review_request", request_title=f"Offer {i}", request_summary="Review this offer please.",
        required_output="", status=statuses[i % len(statuses)], updated_at=ago(days=i % 40),
        mcr_update_suggested=True, **request_fields_for(statuses[i % len(statuses)])) for i in range(n)])


@pytest.mark.parametrize("rows", [5, 200])
def test_the_dashboard_reads_take_a_fixed_number_of_queries(reviewer, owner, rows, django_assert_num_queries):
    _bulk(rows)
    for who in (actor(reviewer), actor(owner)):
        with django_assert_num_queries(3):
            queues = selectors.dashboard_queues(actor=who)
        with django_assert_num_queries(3):
            selectors.dashboard_health(actor=who)
        assert sum(q.count for q in queues) > 0
