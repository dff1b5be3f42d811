"""The dashboard at "/": queue tiles with counts and oldest items, health charts, the Brain owner's
scoped view with a way into their inbox, the htmx refresh, and a query count that does not grow."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from requests_app.models import BrainRequest, RequestStatus
from tests.factories import make_request, request_fields_for

pytestmark = pytest.mark.django_db
S = RequestStatus
HTMX = {"HTTP_HX_REQUEST": "true"}
URL = reverse("governance:dashboard")


def signed_in(client, user):
    client.force_login(user)
    return client


def tile_count(html: str, key: str) -> int:
    match = re.search(rf'id="queue-{key}">\s*<div class="count">(\d+)</div>', html)
    assert match, f"no tile for {key}"
    return int(match.group(1))


def test_it_is_the_root_url():
    assert URL == "/"


def test_it_shows_each_queue_with_its_count_oldest_item_and_link(client, reviewer):
    make_request(status=S.ESCALATED, request_title="Budget above the cap")
    make_request(status=S.IN_PROGRESS, request_title="Forgotten demand scan",
                 updated_at=timezone.now() - timedelta(days=9))
    make_request(status=S.RESPONDED, outcome_type=None, request_title="Answer without outcome")
    page = signed_in(client, reviewer).get(URL)
    assert page.status_code == 200
    html = page.text
    assert (tile_count(html, "escalated"), tile_count(html, "stale"), tile_count(html, "needs_review")) == (1, 1, 0)
    assert tile_count(html, "responded_without_outcome") == 1
    assert "Oldest: <strong>Forgotten demand scan</strong>" in html
    assert 'href="/requests/?status=escalated&amp;sort=updated"' in html
    assert 'href="/requests/?queue=stale&amp;sort=updated"' in html
    assert f'href="{reverse("governance:feedback")}"' in html


def test_it_draws_request_health(client, reviewer):
    make_request(status=S.ESCALATED)
    make_request(status=S.CLOSED)
    html = signed_in(client, reviewer).get(URL).text
    assert '<svg class="chart"' in html and "Closures per week" in html
    assert f'href="{reverse("requests:list")}?status=escalated"' in html      # the status bar
    assert f'href="{reverse("requests:list")}?queue=open&amp;destination=research"' in html  # open only
    assert "Under 1 day" in html


def test_a_brain_owner_sees_only_their_requests_and_a_link_to_their_inbox(client, owner):
    make_request(status=S.ESCALATED)                                        # Affiliate → Research
    make_request(status=S.ESCALATED, requesting_brain="ads", target_brain="finance")
    html = signed_in(client, owner).get(URL).text
    assert tile_count(html, "escalated") == 1
    assert f'href="{reverse("requests:workspace", args=["research"])}"' in html and "Open the Research inbox" in html


def test_the_outsider_sees_empty_queues(client, outsider):
    make_request(status=S.ESCALATED)
    html = signed_in(client, outsider).get(URL).text
    assert tile_count(html, "escalated") == 0 and "No open requests" in html


def test_the_htmx_refresh_gets_only_the_queues(client, reviewer):
    page = signed_in(client, reviewer).get(URL, **HTMX)
    assert page.status_code == 200
    assert page.text.lstrip().startswith('<div id="dashboard-queues"') and "<html" not in page.text
    assert 'hx-trigger="every 60s"' in page.text
    assert "HX-Request" in page["Vary"]


def test_it_rejects_post(client, reviewer):
    assert signed_in(client, reviewer).post(URL).status_code == 405


def test_it_sends_anonymous_visitors_to_sign_in(client):
    page = client.get(URL)
    assert page.status_code == 302 and page["Location"].startswith(reverse("login"))


def _bulk(n: int) -> None:
    statuses = [S.NEW, S.ESCALATED, S.BLOCKED, S.IN_PROGRESS, S.RESPONDED, S.CLOSED, S.AWAITING_MCR_DECISION]
    BrainRequest.objects.bulk_create([BrainRequest(
        requesting_authority="research", requesting_brain_id="research", target_brain_id="affiliate",
        request_type="head_office_review_request", request_title=f"Feedback {i}", request_summary="Please review.",
        required_output="", status=statuses[i % len(statuses)], mcr_update_suggested=True,
        updated_at=timezone.now() - timedelta(days=i % 40), **request_fields_for(statuses[i % len(statuses)]))
        for i in range(n)])


@pytest.mark.parametrize("rows", [5, 200])
@pytest.mark.parametrize("who", ["reviewer", "owner"])
def test_the_query_count_does_not_grow_with_rows(client, request, who, rows, django_assert_max_num_queries):
    _bulk(rows)
    signed_in(client, request.getfixturevalue(who))
    with django_assert_max_num_queries(9):
        assert client.get(URL).status_code == 200
