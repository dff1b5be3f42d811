"""The dashboard at "/": queue tiles with counts and oldest items, health charts, the Brain owner's
scoped view with a way into their inbox, the htmx refresh, and a query count that does not grow."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from requests_app.models import BrainRequest, RequestStatus
from tests.conftest import PASSWORD
from tests.factories import make_request, request_fields_for

pytestmark = pytest.mark.django_db
S = RequestStatus
HTMX = {"HTTP_HX_REQUEST": "true"}
URL = reverse("governance:dashboard")
OVERVIEW = reverse("governance:overview")  # the same page for a Brain owner, whom "/" sends to their inbox


def signed_in(client, user):
    client.force_login(user)
    return client


def tile_count(html: str, key: str) -> int:
    match = re.search(rf'id="queue-{key}">\s*<div class="count">(\d+)</div>', html)
    assert match, f"no tile for {key}"
    return int(match.group(1))


BAR = re.compile(r'<li>(?:<a [^>]*>|<span>)([^<]+)(?:</a>|</span>)<div class="track">'
                 r'<div class="fill" style="width: (\d+)%"></div></div><span class="num">(\d+)</span></li>')


def _card_bars(html: str, title: str) -> list[tuple[str, str, str]]:
    card = html.split(f"<h2>{title}</h2>", 1)[1].split("</ul>", 1)[0]
    return BAR.findall(card)


def bars(html: str, title: str) -> dict[str, int]:
    """The bars of one health card: label → the number it shows."""
    return {label: int(n) for label, _width, n in _card_bars(html, title)}


def bar_widths(html: str, title: str) -> dict[str, int]:
    """The bars of one health card: label → its width, in percent of the card's largest bar."""
    return {label: int(width) for label, width, _n in _card_bars(html, title)}


def weeks(html: str) -> list[tuple[int, int]]:
    """(closed, rejected) of each week the closures chart draws, oldest first."""
    found = re.findall(r"<title>Week of [^:]+: (\d+) closed, (\d+) rejected</title>", html)
    return [(int(closed), int(rejected)) for closed, rejected in found]


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
    now = timezone.now()
    make_request(status=S.ESCALATED)                                                  # open, to Research, today
    make_request(status=S.ESCALATED)
    make_request(status=S.IN_PROGRESS, target_brain="finance", updated_at=now - timedelta(days=5))
    make_request(status=S.BLOCKED, updated_at=now - timedelta(days=40))
    make_request(status=S.CLOSED)                                                     # this week
    make_request(status=S.REJECTED)                                                   # this week
    make_request(status=S.CLOSED, closed_at=now - timedelta(weeks=2))                 # two weeks ago
    make_request(status=S.CLOSED, closed_at=now - timedelta(weeks=9))                 # before the chart
    page = signed_in(client, reviewer).get(URL)
    html = page.text
    assert '<svg class="chart"' in html and "Closures per week" in html
    assert f'href="{reverse("requests:list")}?status=escalated"' in html      # the status bar
    assert f'href="{reverse("requests:list")}?queue=open&amp;destination=research"' in html  # open only
    assert "Under 1 day" in html

    # The numbers the panel is drawn from …
    health = page.context["health"]
    assert health.open_total == 4
    assert {bar.key: bar.count for bar in health.by_status} == {"escalated": 2, "in_progress": 1, "blocked": 1}
    assert [(bar.key, bar.count) for bar in health.by_destination] == [("research", 3), ("finance", 1)]
    assert [(bar.key, bar.count) for bar in health.aging] == [
        ("lt_1d", 2), ("d1_3", 0), ("d3_7", 1), ("d7_30", 0), ("gt_30d", 1)]
    assert [(week.closed, week.rejected) for week in health.closures] == [
        (0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (1, 0), (0, 0), (1, 1)]
    # … and the numbers a person reads on it.
    assert "4 open requests." in html and ": 3 in all." in html
    assert bars(html, "Open requests by status") == {"In progress": 1, "Escalated": 2, "Blocked": 1}
    assert bar_widths(html, "Open requests by status") == {"In progress": 50, "Escalated": 100, "Blocked": 50}
    assert bars(html, "Open requests by destination Brain") == {"Research Brain": 3, "Finance Brain": 1}
    assert bars(html, "Aging") == {"Under 1 day": 2, "1–3 days": 0, "3–7 days": 1, "7–30 days": 0,
                                   "Over 30 days": 1}
    assert bar_widths(html, "Aging")["3–7 days"] == 50
    assert weeks(html) == [(0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (1, 0), (0, 0), (1, 1)]
    # The busiest week (2) is drawn 130 high: this week's closure is half of it.
    assert '<rect class="bar" x="0" y="0" width="48" height="65"></rect>' in html


def test_a_brain_owners_health_counts_only_their_requests(client, owner):
    make_request(status=S.ESCALATED)                                            # Affiliate → Research
    make_request(status=S.IN_PROGRESS, requesting_brain="ads", target_brain="finance")
    make_request(status=S.CLOSED)
    make_request(status=S.CLOSED, requesting_brain="ads", target_brain="finance")
    page = signed_in(client, owner).get(OVERVIEW)
    health = page.context["health"]
    assert (health.open_total, health.closures_total) == (1, 1)
    assert bars(page.text, "Open requests by destination Brain") == {"Research Brain": 1}
    assert "1 open request." in page.text and ": 1 in all." in page.text


def test_a_brain_owner_sees_only_their_requests_and_a_link_to_their_inbox(client, owner):
    make_request(status=S.ESCALATED)                                        # Affiliate → Research
    make_request(status=S.ESCALATED, requesting_brain="ads", target_brain="finance")
    html = signed_in(client, owner).get(OVERVIEW).text
    assert tile_count(html, "escalated") == 1
    assert f'href="{reverse("requests:workspace", args=["research"])}"' in html and "Open the Research inbox" in html


def test_the_outsider_sees_empty_queues(client, outsider):
    make_request(status=S.ESCALATED)
    html = signed_in(client, outsider).get(OVERVIEW).text
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
    # 9 for the queues and the health panel (+1: the nav's saved views, issue 14). A reviewer's own
    # "Assigned to me" queue (issue 14) counts and reads its oldest row: 2 more. The Integrity and
    # ping-pong queues come in a request of their own (below).
    with django_assert_max_num_queries(10 + (2 if who == "reviewer" else 0)):
        assert client.get(URL if who == "reviewer" else OVERVIEW).status_code == 200


@pytest.mark.parametrize("rows", [5, 200])
@pytest.mark.parametrize("who", ["reviewer", "owner"])
def test_the_integrity_queues_query_count_does_not_grow_with_rows(client, request, who, rows,
                                                                  django_assert_max_num_queries):
    _bulk(rows)
    signed_in(client, request.getfixturevalue(who))
    # The session, the user and their memberships; then one query says which lineage checks can
    # find anything among the requests changed lately, the two that do here run (these bulk rows
    # have no created event, and the closed ones cite evidence), one loads the requests found, and
    # one counts the changes of destination Brain.
    with django_assert_max_num_queries(8):
        assert client.get(reverse("governance:dashboard_integrity"), HTTP_HX_REQUEST="true").status_code == 200


def test_a_brain_owner_lands_in_their_inbox_at_the_root_and_after_sign_in(client, owner):
    inbox = reverse("requests:workspace", args=["research"])
    page = signed_in(client, owner).get(URL)
    assert page.status_code == 302 and page["Location"] == inbox
    client.logout()
    signed_in_page = client.post(reverse("login"), {"username": owner.username, "password": PASSWORD}, follow=True)
    assert signed_in_page.redirect_chain[-1][0] == inbox
    assert "The queues HeadOffice works" not in signed_in_page.text and "To act on" in signed_in_page.text


def test_a_reviewer_stays_on_the_queues_at_the_root(client, reviewer):
    assert signed_in(client, reviewer).get(URL).status_code == 200


def test_the_owners_queue_refresh_is_not_redirected(client, owner):
    page = signed_in(client, owner).get(URL, **HTMX)
    assert page.status_code == 200 and page.text.lstrip().startswith('<div id="dashboard-queues"')


def test_the_figures_are_reused_for_a_while_and_the_page_says_when_they_were_counted(
        client, reviewer, settings, django_assert_max_num_queries):
    from django.core.cache import cache

    cache.clear()
    settings.MWMS_DASHBOARD_FIGURES_SECONDS = 30
    _bulk(3)
    signed_in(client, reviewer)
    first = client.get(URL).text
    assert 'id="figures-counted"' in first and "at most every 30 seconds" in first
    _bulk(2)  # two more requests in the next seconds: the figures shown are those counted first
    # No aggregate runs again: the oldest rows are read (5), and the Integrity and ping-pong queues,
    # which are live and bounded (MWMS_INTEGRITY_QUEUE_SCAN requests), are not reused (3), nor is
    # the reviewer's own "Assigned to me" queue (2).
    with django_assert_max_num_queries(11):  # +1: the nav's saved views (issue 14)
        again = client.get(URL).text
    assert tile_count(again, "needs_review") == tile_count(first, "needs_review")
    settings.MWMS_DASHBOARD_FIGURES_SECONDS = 0
    fresh = client.get(URL).text
    assert bars(fresh, "Open requests by status") != bars(first, "Open requests by status")
    cache.clear()
