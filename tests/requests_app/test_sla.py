"""SLA clocks (issue 14, item 1): the deadlines a policy gives a request, checked against times
worked out by hand under a frozen clock; the policy service and page; the badges on the list, the
dashboard's queues, the inbox and the drill-down; the API's sla_state and sla_due_at."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from governance_app.kernel.clock import clock_set
from governance_app.kernel.errors import DomainError, Refusal
from requests_app import services as rs
from requests_app import sla
from requests_app.models import BrainRequest, RequestEvent, RequestStatus, SlaPolicy, SlaTarget
from tests.api_client import api_as
from tests.conftest import said
from tests.engine import OUTCOME, actor, new_request
from tests.factories import make_sla_target

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)   # a Monday, 09:00
HOUR = timedelta(hours=1)

# The policy every test here starts from (hours): high priority moves on from new within 4 h, is
# accepted within a day of routing, and is closed within 5 days; due soon at 80%.
HIGH = {("high", "new"): 4, ("high", "routed"): 24, ("high", "total"): 120}


def frozen(at: datetime):
    return clock_set(lambda: at)


def policy_set(reviewer, hours=HIGH, warn=80, request_type=None) -> int:
    return sla.sla_policy_save(actor=actor(reviewer), warn_percent=warn, hours=hours, request_type=request_type)


def high_request(owner, at: datetime = T0, **extra) -> BrainRequest:
    with frozen(at):
        return new_request(actor(owner), priority="high", **extra)


def fresh(request: BrainRequest) -> BrainRequest:
    return BrainRequest.objects.get(pk=request.pk)


# --- the clocks, by hand -----------------------------------------------------------------------------

def test_a_new_request_is_due_when_its_first_target_passes_and_due_soon_at_80_percent(reviewer, owner):
    policy_set(reviewer)
    request = fresh(high_request(owner))

    # new: 4 h from 09:00 → 13:00; 80% of 4 h = 3 h 12 min → 12:12. The 5-day clock ends later.
    assert request.status_entered_at == T0
    assert request.sla_due_at == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    assert request.sla_warn_at == datetime(2026, 3, 2, 12, 12, tzinfo=UTC)
    assert sla.sla_state(request, T0 + 3 * HOUR) == "on_track"
    assert sla.sla_state(request, datetime(2026, 3, 2, 12, 12, tzinfo=UTC)) == "due_soon"
    assert sla.sla_state(request, datetime(2026, 3, 2, 13, 0, tzinfo=UTC)) == "breached"


def test_each_move_restarts_the_status_clock_at_its_event_and_the_whole_request_clock_runs_on(reviewer, owner):
    policy_set(reviewer)
    request = high_request(owner)
    with frozen(T0 + HOUR):                       # 10:00 under review: no target there, only the 5 days
        rs.request_submit(request=request, actor=actor(reviewer))
    under_review = fresh(request)
    assert under_review.status_entered_at == T0 + HOUR
    assert under_review.sla_due_at == T0 + 120 * HOUR                    # Sat 7 Mar, 09:00
    assert under_review.sla_warn_at == T0 + 96 * HOUR                    # 80% of 5 days: Fri 6 Mar, 09:00

    with frozen(T0 + 2 * HOUR):                   # 11:00 routed: a day to accept, so Tue 3 Mar 11:00
        rs.request_route(request=request, actor=actor(reviewer), review_owner="headoffice")
    routed = fresh(request)
    event = RequestEvent.objects.filter(request=request, to_status="routed").get()
    assert routed.status_entered_at == event.created_at == T0 + 2 * HOUR
    assert routed.sla_due_at == datetime(2026, 3, 3, 11, 0, tzinfo=UTC)
    assert routed.sla_warn_at == datetime(2026, 3, 3, 6, 12, tzinfo=UTC)  # 11:00 + 19 h 12 min

    clock = sla.request_clock(routed, datetime(2026, 3, 3, 8, 0, tzinfo=UTC))
    assert (clock.state, clock.in_status, clock.age) == ("due_soon", timedelta(hours=21), timedelta(hours=23))
    assert clock.remaining == timedelta(hours=3)


def test_the_whole_request_clock_wins_when_it_ends_first(reviewer, owner):
    policy_set(reviewer, hours={("high", "routed"): 24, ("high", "total"): 30})
    request = high_request(owner)
    with frozen(T0 + 20 * HOUR):
        rs.request_route(request=request, actor=actor(reviewer), review_owner="headoffice")

    # Routed at Tue 05:00 + 24 h = Wed 05:00, but 30 h from creation is Tue 15:00; 80%: 24 h → Tue 09:00.
    assert fresh(request).sla_due_at == T0 + 30 * HOUR
    assert fresh(request).sla_warn_at == T0 + 24 * HOUR


def test_a_final_request_has_no_clock(reviewer, owner, other_owner):
    policy_set(reviewer)
    request = high_request(owner)
    with frozen(T0 + HOUR):
        rs.request_route(request=request, actor=actor(reviewer), review_owner="headoffice")
        rs.request_reject(request=request, actor=actor(reviewer), **OUTCOME)
    rejected = fresh(request)

    assert (rejected.sla_warn_at, rejected.sla_due_at) == (None, None)
    assert sla.sla_state(rejected, T0 + 1000 * HOUR) == "none"
    clock = sla.request_clock(rejected, T0 + 1000 * HOUR)
    assert (clock.label, clock.took, clock.in_status) == ("Final", HOUR, 999 * HOUR)  # rejected for 999 h


def test_no_policy_means_no_clock(owner):
    request = fresh(high_request(owner))
    assert (request.sla_warn_at, request.sla_due_at) == (None, None)
    assert sla.request_clock(request, T0 + 5 * HOUR).state == "none"


def test_a_request_types_own_target_overrides_the_all_types_one(reviewer, owner):
    policy_set(reviewer)
    policy_set(reviewer, hours={("high", "new"): 1}, request_type="research_request")
    offer = fresh(high_request(owner))
    research = fresh(high_request(owner, request_type="research_request", destination="research"))

    assert offer.sla_due_at == T0 + 4 * HOUR
    assert research.sla_due_at == T0 + HOUR
    assert research.sla_warn_at == T0 + timedelta(minutes=48)


def test_changing_the_policy_recomputes_the_open_requests_and_leaves_updated_at_alone(reviewer, owner):
    policy_set(reviewer)
    request = fresh(high_request(owner))
    with frozen(T0 + 5 * HOUR):
        changed = policy_set(reviewer, hours={**HIGH, ("high", "new"): 8}, warn=50)
    after = fresh(request)

    assert changed == 1
    assert after.sla_due_at == T0 + 8 * HOUR and after.sla_warn_at == T0 + 4 * HOUR
    assert after.updated_at == request.updated_at and after.lock_version == request.lock_version


def test_changing_the_priority_in_the_admin_gives_the_new_prioritys_deadline(reviewer, owner):
    policy_set(reviewer, hours={**HIGH, ("low", "new"): 48})
    request = high_request(owner)
    request.priority = "low"
    rs.request_record_admin_edit(request=request, actor=actor(reviewer), changed_fields={"priority": ["high", "low"]})

    assert fresh(request).sla_due_at == T0 + 48 * HOUR


def test_time_in_each_status_is_read_from_the_history(reviewer, owner):
    policy_set(reviewer)
    request = high_request(owner)
    with frozen(T0 + 6 * HOUR):       # 6 h in new: over its 4 h
        rs.request_route(request=request, actor=actor(reviewer), review_owner="headoffice")
    events = list(RequestEvent.objects.filter(request=request))
    stints = sla.request_stints(request=fresh(request), events=events,
                                policy=sla.sla_policy_for(tenant_id=request.tenant_id),
                                now=T0 + 10 * HOUR)

    assert [(s.status, s.duration, s.target_minutes, s.met) for s in stints] == [
        ("new", 6 * HOUR, 240, False), ("routed", 4 * HOUR, 1440, True)]


# --- the policy service ----------------------------------------------------------------------------

def test_saving_a_policy_stores_the_targets_in_minutes_and_an_empty_box_removes_one(reviewer):
    policy_set(reviewer, hours={("high", "new"): "1.5", ("high", "routed"): 24})
    policy_set(reviewer, hours={("high", "new"): "1,5", ("high", "routed"): ""}, warn="75")

    assert list(SlaTarget.objects.values_list("priority", "clock", "minutes")) == [("high", "new", 90)]
    policy = SlaPolicy.objects.get()
    assert (policy.warn_percent, policy.updated_by) == (75, "reviewer")


@pytest.mark.parametrize(("hours", "warn", "message"), [
    ({("high", "new"): "soon"}, 80, "High, New → moved on: 'soon' is not a number of hours."),
    ({("high", "new"): "0"}, 80, "High, New → moved on: a target is between one minute and 366 days"),
    ({("high", "new"): "9000"}, 80, "a target is between one minute and 366 days (8,784 hours)"),
    ({("high", "new"): 4}, 100, "Due soon at: a whole percentage between 1 and 99."),
    ({("high", "new"): 4}, "most", "Due soon at: a whole percentage between 1 and 99."),
    ({("high", "closed"): 4}, 80, "There is no SLA clock 'closed' for priority 'high'."),
])
def test_bad_input_is_refused_with_a_sentence_and_changes_nothing(reviewer, hours, warn, message):
    policy_set(reviewer, hours={("high", "new"): 2})
    before = list(SlaTarget.objects.values()), list(SlaPolicy.objects.values())

    with pytest.raises(DomainError) as refused:
        policy_set(reviewer, hours=hours, warn=warn)

    assert message in refused.value.message
    assert (list(SlaTarget.objects.values()), list(SlaPolicy.objects.values())) == before


def test_a_brain_owner_cannot_set_the_policy(owner):
    with pytest.raises(DomainError) as refused:
        policy_set(owner)
    assert refused.value.kind == Refusal.FORBIDDEN and refused.value.message == "The SLA policy is set by HeadOffice."
    assert not SlaTarget.objects.exists() and not SlaPolicy.objects.exists()


def test_the_database_keeps_one_target_per_priority_and_clock(brains):
    make_sla_target(priority="high", clock="new", minutes=60)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_sla_target(priority="high", clock="new", minutes=90)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO mwms_sla_targets (id, tenant_id, request_type, priority, clock, minutes) "
                       "SELECT id, tenant_id, request_type, priority, clock, 30 FROM mwms_sla_targets")
    make_sla_target(priority="high", clock="new", minutes=30, request_type="research_request")  # a type's own
    assert SlaTarget.objects.count() == 2


# --- the policy page ----------------------------------------------------------------------------------

URL = "/sla/"


def grid_post(**cells) -> dict[str, str]:
    return {"warn_percent": "80", **{f"t-{key.replace('__', '-')}": v for key, v in cells.items()}}


def test_the_policy_page_shows_the_grid_and_saves_it(client, reviewer, owner):
    high_request(owner)
    client.force_login(reviewer)
    page = client.get(URL)
    assert page.status_code == 200 and "Routed → accepted" in page.text and 'name="t-urgent-total"' in page.text

    saved = client.post(URL, grid_post(high__new="4", high__total="120"), follow=True)

    assert saved.redirect_chain == [(URL, 302)]
    assert said(saved) == ["SLA targets for all request types saved; 1 open request got new deadlines."]
    assert set(SlaTarget.objects.values_list("priority", "clock", "minutes")) == {("high", "new", 240),
                                                                                  ("high", "total", 7200)}
    assert 'value="4"' in saved.text and 'value="120"' in saved.text


def test_the_policy_page_keeps_a_refused_input_and_says_why(client, reviewer):
    policy_set(reviewer, hours={("high", "new"): 2})
    client.force_login(reviewer)
    page = client.post(URL, grid_post(high__new="forever"))

    assert page.status_code == 200
    assert "High, New → moved on: &#x27;forever&#x27; is not a number of hours." in page.text
    assert 'value="forever"' in page.text
    assert SlaTarget.objects.get().minutes == 120


def test_the_policy_page_shows_a_types_targets_with_the_all_types_ones_beneath(client, reviewer):
    policy_set(reviewer)
    client.force_login(reviewer)
    client.post(URL, {**grid_post(high__new="1"), "request_type": "research_request"})
    page = client.get(URL, {"request_type": "research_request"})

    assert SlaTarget.objects.get(request_type="research_request").minutes == 60
    assert "Targets for research requests" in page.text and "all types: 4 h" in page.text


def test_the_policy_page_htmx_request_gets_the_grid_only(client, reviewer):
    client.force_login(reviewer)
    page = client.get(URL, {"request_type": "research_request"}, **HTMX)
    assert page.status_code == 200 and page.text.lstrip().startswith('<section id="sla-policy"')
    assert "<html" not in page.text and page["Vary"] and "HX-Request" in page["Vary"]


def test_the_policy_page_refuses_other_methods(client, reviewer):
    client.force_login(reviewer)
    assert client.put(URL).status_code == 405 and client.delete(URL).status_code == 405


def test_the_policy_page_sends_anonymous_visitors_to_sign_in(client):
    page = client.get(URL)
    assert page.status_code == 302 and reverse("login") in page["Location"]
    assert client.post(URL, grid_post(high__new="4")).status_code == 302
    assert not SlaTarget.objects.exists()


def test_a_brain_owner_may_neither_see_nor_change_the_policy(client, owner, reviewer):
    policy_set(reviewer, hours={("high", "new"): 2})
    client.force_login(owner)

    assert client.get(URL).status_code == 403
    assert client.post(URL, grid_post(high__new="400")).status_code == 403
    assert SlaTarget.objects.get().minutes == 120
    assert f'href="{URL}"' not in client.get(reverse("requests:list")).text   # no nav link either


def test_the_nav_links_the_policy_page_for_headoffice(client, reviewer):
    client.force_login(reviewer)
    assert f'href="{URL}"' in client.get(reverse("requests:list")).text


def test_the_policy_page_shows_only_the_own_tenants_policy(client, reviewer):
    from governance_app import services as gs
    from tests.db_roles import acting_for
    from tests.factories import make_sla_policy
    other = gs.tenant_create(slug="zeta", name="Zeta", reviewer_username="zeta_rev", reviewer_password="x" * 12)
    with acting_for(other):
        make_sla_policy(tenant_id=other.id, warn_percent=67, updated_by="zeta_rev")
        make_sla_target(tenant_id=other.id, priority="medium", clock="routed", minutes=4321)
    client.force_login(reviewer)
    page = client.get(URL)
    assert "72.02" not in page.text and "zeta_rev" not in page.text and 'value="67"' not in page.text
    client.post(URL, grid_post(medium__routed="1"))
    with acting_for(other):
        assert SlaTarget.objects.filter(tenant_id=other.id).get().minutes == 4321


# --- the badges on the pages ------------------------------------------------------------------------

def _three_clocks(reviewer, owner) -> dict[str, BrainRequest]:
    """At T0 + 3 h 30 min (12:30): one breached (new since 08:00, due 12:00), one due soon (new since
    09:00: due 13:00, warned at 12:12), one on track (new since 12:00: due 16:00, warned at 15:12), and
    one with no clock (medium priority)."""
    policy_set(reviewer)
    return {"breached": high_request(owner, T0 - HOUR, request_title="Late offer"),
            "due_soon": high_request(owner, T0, request_title="Nearly due offer"),
            "on_track": high_request(owner, T0 + 3 * HOUR, request_title="Fresh offer"),
            "none": new_request(actor(owner), request_title="Unhurried offer")}


NOW = T0 + timedelta(hours=3, minutes=30)


def test_the_list_shows_each_rows_badge_time_in_status_and_age(client, reviewer, owner):
    _three_clocks(reviewer, owner)
    client.force_login(reviewer)
    with frozen(NOW):
        page = client.get(reverse("requests:list"))

    assert page.text.count('class="sla sla-breached"') == 1 and "Breached · 30 min over" in page.text
    assert "Due soon · 30 min left" in page.text
    assert "On track · 3 h 30 min left" in page.text
    assert "4 h 30 min in status" in page.text and "4 h 30 min old" in page.text


def test_the_list_filters_by_sla_state_and_sorts_by_due_time(client, reviewer, owner):
    rows = _three_clocks(reviewer, owner)
    client.force_login(reviewer)
    with frozen(NOW):
        breached = client.get(reverse("requests:list"), {"sla": "breached"})
        by_due = client.get(reverse("requests:list"), {"sort": "due"})
        bad = client.get(reverse("requests:list"), {"sla": "late"})

    assert [r.pk for r in breached.context["page"].object_list] == [rows["breached"].pk]
    assert [r.pk for r in by_due.context["page"].object_list] == [
        rows["breached"].pk, rows["due_soon"].pk, rows["on_track"].pk, rows["none"].pk]
    assert bad.status_code == 200 and "SLA: “late” is not one of its choices, so it was left out." in bad.text


@pytest.mark.parametrize("rows", [5, 200])
def test_the_list_with_badges_runs_a_fixed_number_of_queries(client, reviewer, owner, rows,
                                                            django_assert_max_num_queries):
    policy_set(reviewer)
    with frozen(T0):
        for _ in range(rows):
            new_request(actor(owner), priority="high")
    client.force_login(reviewer)
    # Session, user, claim, the rows, and the count when there is more than one page: the clocks
    # are columns of the rows, read with them. The reviewer's bulk bar and assignee filter add the
    # HeadOffice people and the reviewer's own memberships (3); which saved view is open, 1 (issue 14).
    with frozen(NOW), django_assert_max_num_queries(10):
        page = client.get(reverse("requests:list"), {"sort": "due"})
    assert page.text.count('class="sla sla-due_soon"') == min(rows, 25)


def test_the_dashboard_counts_and_links_the_due_soon_and_breached_queues(client, reviewer, owner):
    rows = _three_clocks(reviewer, owner)
    client.force_login(reviewer)
    with frozen(NOW):
        page = client.get(reverse("governance:dashboard"))
    tiles = {queue.key: queue for queue, _href in page.context["tiles"]}
    links = {queue.key: href for queue, href in page.context["tiles"]}

    assert (tiles["breached"].count, tiles["due_soon"].count) == (1, 1)
    assert tiles["breached"].oldest.pk == rows["breached"].pk and tiles["breached"].attention
    assert links["breached"] == "/requests/?queue=breached&sort=due"
    assert "Breached · 30 min over" in page.text   # the queue card's request, with its clock


def test_the_inbox_and_the_drill_down_show_the_clock(client, reviewer, owner, other_owner):
    rows = _three_clocks(reviewer, owner)
    client.force_login(other_owner)   # Affiliate receives them
    with frozen(NOW):
        inbox = client.get(reverse("requests:workspace", args=["affiliate"]))
        detail = client.get(reverse("requests:detail", args=[rows["breached"].pk]))

    assert "Breached · 30 min over" in inbox.text and "On track · 3 h 30 min left" in inbox.text
    assert "Time in each status" in detail.text and "4 h 30 min in status" in detail.text
    assert "4 h · over" in detail.text


# --- the API --------------------------------------------------------------------------------------

def test_the_api_request_object_carries_sla_state_and_sla_due_at(reviewer, owner):
    rows = _three_clocks(reviewer, owner)
    research = api_as("research")
    with frozen(NOW):
        listed = {item["request_id"]: item for item in research.get("/requests", {"limit": 10}).json()["items"]}
        breached = research.get("/requests", {"sla": "breached"}).json()["items"]
        one = research.get(f"/requests/{rows['due_soon'].pk}").json()

    assert listed[str(rows["breached"].pk)]["sla_state"] == "breached"
    assert listed[str(rows["breached"].pk)]["sla_due_at"] == "2026-03-02T12:00:00Z"
    assert listed[str(rows["on_track"].pk)]["sla_state"] == "on_track"
    assert listed[str(rows["none"].pk)]["sla_state"] == "none" and listed[str(rows["none"].pk)]["sla_due_at"] is None
    assert [item["request_id"] for item in breached] == [str(rows["breached"].pk)]
    request = one.get("request", one)
    assert request["sla_state"] == "due_soon" and request["sla_due_at"] == "2026-03-02T13:00:00Z"


# --- the admin ------------------------------------------------------------------------------------

def test_a_target_added_in_the_admin_recomputes_the_open_requests(admin_client, reviewer, owner):
    request = high_request(owner)
    with frozen(T0 + HOUR):
        page = admin_client.post(reverse("admin:requests_app_slatarget_add"),
                                 {"priority": "high", "clock": "new", "minutes": "120", "request_type": "",
                                  "tenant": str(request.tenant_id)})
    assert page.status_code == 302, page.content.decode()[:2000]
    assert fresh(request).sla_due_at == T0 + 2 * HOUR

    twice = admin_client.post(reverse("admin:requests_app_slatarget_add"),
                              {"priority": "high", "clock": "new", "minutes": "60", "request_type": "",
                               "tenant": str(request.tenant_id)})
    assert twice.status_code == 200 and "already has a target" in twice.content.decode()
    assert SlaTarget.objects.get().minutes == 120
