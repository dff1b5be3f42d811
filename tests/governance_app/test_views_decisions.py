"""The decisions page (filters, pagination, scope) and recording a decision on a request."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from governance_app.models import DecisionKind, DecisionRecord
from requests_app.models import RequestEvent, RequestStatus
from tests.conftest import _member, said
from tests.engine import actor, new_request
from tests.factories import make_decision_record, make_request

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
URL = reverse("governance:decisions")
WHY = "UK demand is flat over 90 days; DE and FR show sustained growth."
REFUSED = "The decision was not saved: see the message next to the form."


def signed_in(client, user):
    client.force_login(user)
    return client


def create_url(request) -> str:
    return reverse("governance:decision_create", args=[request.pk])


def decision(request, **fields) -> dict:
    return {"decision_summary": "Test in DE and FR only", "reasoning": WHY, "evidence_used": "Search volume export",
            "expected_outcome": "A capped two-market test", **fields}


# --- the list -----------------------------------------------------------------------------------

def test_it_lists_decisions_with_their_authority_kind_and_request(client, reviewer):
    record = make_decision_record(decision_summary="Cap the test at 1,000 EUR")
    page = signed_in(client, reviewer).get(URL)
    assert page.status_code == 200
    assert "Cap the test at 1,000 EUR" in page.text and record.related_request.request_title in page.text
    assert reverse("requests:detail", args=[record.related_request_id]) in page.text


@pytest.mark.parametrize(("query", "shown", "hidden"), [
    ({"kind": "feedback_classification"}, "Classified", "Plain"),
    ({"authority": "finance"}, "By finance", "Plain"),
    ({"classification": "investigate"}, "Classified", "By finance"),
    ({"q": "pacing"}, "By finance", "Plain"),
    ({"decided_before": (timezone.localdate() - timedelta(days=3)).isoformat()}, "Long ago", "Plain"),
    ({"decided_after": (timezone.localdate() - timedelta(days=1)).isoformat()}, "Plain", "Long ago"),
])
def test_it_filters(client, reviewer, query, shown, hidden):
    make_decision_record(decision_summary="Plain decision")
    make_decision_record(decision_summary="Classified decision", decision_kind=DecisionKind.FEEDBACK_CLASSIFICATION)
    make_decision_record(decision_summary="By finance", authority="finance", reasoning="Pacing limits apply.")
    make_decision_record(decision_summary="Long ago", created_at=timezone.now() - timedelta(days=10))
    page = signed_in(client, reviewer).get(URL, query)
    assert shown in page.text and hidden not in page.text


def test_it_narrows_to_one_request_and_offers_the_form_to_headoffice(client, reviewer, owner):
    request = new_request(actor(owner), request_title="Offer 881")
    make_decision_record(request=request, decision_summary="On this request")
    make_decision_record(decision_summary="On another request")
    page = signed_in(client, reviewer).get(URL, {"request": request.pk})
    assert "On this request" in page.text and "On another request" not in page.text
    assert f'action="{create_url(request)}"' in page.text


def test_it_paginates_and_keeps_the_filter(client, reviewer):
    request = make_request()
    DecisionRecord.objects.bulk_create([DecisionRecord(
        authority_id="headoffice", related_request=request, decision_summary=f"Decision {i}", reasoning=WHY)
        for i in range(30)])
    page = signed_in(client, reviewer).get(URL, {"kind": "decision"})
    assert "page 1 of 2" in page.text and "kind=decision&amp;page=2" in page.text
    assert "page 2 of 2" in client.get(URL, {"kind": "decision", "page": 2}).text


def test_a_brain_sees_decisions_on_its_requests_only(client, owner, outsider):
    make_decision_record(decision_summary="Proceed with DE and FR")    # on an Affiliate → Research request
    assert "Proceed with DE and FR" in signed_in(client, owner).get(URL).text
    page = signed_in(client, outsider).get(URL)
    assert "Proceed with DE and FR" not in page.text and "No decisions recorded yet" in page.text


def test_the_htmx_request_gets_only_the_table(client, reviewer):
    page = signed_in(client, reviewer).get(URL, {"kind": "decision"}, **HTMX)
    assert page.text.lstrip().startswith('<div id="decision-table"') and "<html" not in page.text
    assert "HX-Request" in page["Vary"]


def test_the_list_rejects_post(client, reviewer):
    assert signed_in(client, reviewer).post(URL).status_code == 405


def test_the_list_sends_anonymous_visitors_to_sign_in(client):
    page = client.get(URL)
    assert page.status_code == 302 and page["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("rows", [5, 200])
def test_the_query_count_does_not_grow_with_rows(client, reviewer, rows, django_assert_max_num_queries):
    request = make_request()
    DecisionRecord.objects.bulk_create([DecisionRecord(
        authority_id="headoffice", related_request=request, decision_summary=f"Decision {i}", reasoning=WHY)
        for i in range(rows)])
    signed_in(client, reviewer)
    with django_assert_max_num_queries(7):  # +1: the nav's saved views (issue 14)
        assert client.get(URL).status_code == 200


@pytest.mark.parametrize("rows", [5, 200])
def test_a_brain_owners_query_count_does_not_grow_with_rows(client, owner, rows, django_assert_max_num_queries):
    request, task = make_request(), None   # Affiliate → Research: the owner sees it
    DecisionRecord.objects.bulk_create([DecisionRecord(
        authority_id="headoffice", related_request=request, decision_summary=f"Decision {i}", reasoning=WHY,
        supersedes=None, related_task=task) for i in range(rows)])
    page = signed_in(client, owner)
    with django_assert_max_num_queries(7):
        page = client.get(URL)
    assert page.status_code == 200 and f"Decision {rows - 1}" in page.text and escape(request.request_title) in page.text


def test_a_brains_count_stops_at_its_cap_and_says_more_than_while_headoffice_counts_every_row(
        client, owner, reviewer, monkeypatch):
    """A Brain's decisions are visible through their requests, tested row by row: its count stops at
    VISIBLE_THROUGH_REQUEST_COUNT_UP_TO and says "more than" it, never an estimate of every
    decision of the tenant; the last page still counts exactly. HeadOffice's count is the tenant's."""
    monkeypatch.setattr("governance_app.selectors.VISIBLE_THROUGH_REQUEST_COUNT_UP_TO", 30)
    seen, hidden = make_request(), make_request(requesting_brain_id="ads", target_brain_id="finance")
    def record(request, summary: str, n: int) -> None:
        DecisionRecord.objects.bulk_create([DecisionRecord(authority_id="headoffice", related_request=request,
                                                           decision_summary=f"{summary} {i}", reasoning=WHY)
                                            for i in range(n)])

    record(seen, "Seen", 30)
    record(hidden, "Hidden", 40)
    assert "30 decisions · page 1 of 2" in signed_in(client, owner).get(URL).text   # at the cap: exact
    record(seen, "Also seen", 1)
    first = client.get(URL)
    assert "more than 30 decisions · page 1" in first.text and "(estimated)" not in first.text
    assert "page=2" in first.text and "Hidden" not in first.text
    last = client.get(URL, {"page": 2})
    assert "31 decisions · page 2 of 2" in last.text and "Hidden" not in last.text
    assert "71 decisions · page 1 of 3" in signed_in(client, reviewer).get(URL).text


# --- recording a decision -------------------------------------------------------------------------

def test_headoffice_records_a_decision_on_the_request(client, reviewer, owner):
    request = new_request(actor(owner))
    page = signed_in(client, reviewer).post(create_url(request), decision(request))
    assert page.status_code == 302 and page["Location"] == reverse("requests:detail", args=[request.pk])
    record = DecisionRecord.objects.get(related_request=request)
    assert (record.authority_id, record.evidence_used, record.recorded_by) == (
        "headoffice", "Search volume export", "reviewer")


def test_a_correction_supersedes_the_earlier_decision(client, reviewer, owner):
    request = new_request(actor(owner))
    first = make_decision_record(request=request)
    signed_in(client, reviewer).post(create_url(request), decision(request, supersedes_id=first.pk))
    assert DecisionRecord.objects.get(supersedes=first).decision_summary == "Test in DE and FR only"


def test_a_deciding_brain_records_in_its_own_authority(client, brains):
    finance = _member("finance_owner", brains["finance"], "owner")
    request = make_request(requesting_brain="finance", target_brain="research")
    signed_in(client, finance).post(create_url(request), decision(request, next=URL))
    assert DecisionRecord.objects.get(related_request=request).authority_id == "finance"


def test_a_placeholder_reasoning_is_refused_next_to_the_field(client, reviewer, owner):
    request = new_request(actor(owner))
    events = RequestEvent.objects.filter(request=request).count()
    page = signed_in(client, reviewer).post(create_url(request), decision(request, reasoning="ok", next=URL))
    assert page.status_code == 200 and 'class="field-error"' in page.text and "placeholder" in page.text
    assert "Test in DE and FR only" in page.text           # the input is kept
    assert not DecisionRecord.objects.exists()
    errors = page.context["form"].errors
    assert list(errors) == ["reasoning"] and "placeholder" in errors["reasoning"][0]
    assert f'<ul class="field-error"><li>{escape(errors["reasoning"][0])}' in page.text   # by its field
    assert said(page) == [REFUSED] and REFUSED in page.text
    assert RequestEvent.objects.filter(request=request).count() == events


def test_a_brain_without_decision_authority_is_refused(client, owner):
    request = new_request(actor(owner))
    events = RequestEvent.objects.filter(request=request).count()
    page = signed_in(client, owner).post(create_url(request), decision(request))
    assert page.status_code == 200 and "Only HeadOffice or a Brain" in page.text
    assert not DecisionRecord.objects.exists()
    assert page.context["form"].errors == {
        "__all__": ["Only HeadOffice or a Brain whose registry entry allows it may record decisions."]}
    assert said(page) == [REFUSED]
    assert RequestEvent.objects.filter(request=request).count() == events


def test_superseding_a_decision_of_another_request_is_refused(client, reviewer, owner):
    request = new_request(actor(owner))
    elsewhere = make_decision_record()                     # on another request
    events = RequestEvent.objects.filter(request=request).count()
    page = signed_in(client, reviewer).post(create_url(request), decision(request, supersedes_id=elsewhere.pk))
    assert page.status_code == 200
    errors = page.context["form"].errors
    assert errors == {"supersedes_id": [
        f"Select a valid choice. {elsewhere.pk} is not one of the available choices."]}
    assert f'<ul class="field-error"><li>{escape(errors["supersedes_id"][0])}' in page.text   # by its field
    assert said(page) == [REFUSED]
    assert list(DecisionRecord.objects.all()) == [elsewhere]
    assert RequestEvent.objects.filter(request=request).count() == events


def test_a_decision_of_headoffice_is_not_superseded_by_finance(client, reviewer, brains):
    finance = _member("finance_owner", brains["finance"], "owner")
    request = make_request(requesting_brain="finance", target_brain="research", status=RequestStatus.IN_PROGRESS)
    ours = make_decision_record(request=request, authority="headoffice")
    events = RequestEvent.objects.filter(request=request).count()
    page = signed_in(client, finance).post(create_url(request), decision(request, supersedes_id=ours.pk, next=URL))
    assert page.status_code == 200
    message = "A decision of headoffice is superseded only by headoffice, not by finance."
    assert page.context["form"].errors == {"supersedes_id": [message]}
    assert f'<ul class="field-error"><li>{escape(message)}' in page.text   # by its field
    assert said(page) == [REFUSED]
    assert list(DecisionRecord.objects.all()) == [ours]
    assert RequestEvent.objects.filter(request=request).count() == events


@pytest.mark.parametrize("status", [RequestStatus.CLOSED, RequestStatus.REJECTED])
def test_a_closed_or_rejected_request_offers_no_decision_form_and_refuses_one(client, reviewer, status):
    request = make_request(status=status)
    first = make_decision_record(request=request)
    events = RequestEvent.objects.filter(request=request).count()
    page = signed_in(client, reviewer).get(URL, {"request": request.pk})
    assert page.status_code == 200 and page.context["form"] is None
    assert f"This request is {status}: it takes no more decisions" in page.text
    refused = client.post(create_url(request), decision(request, supersedes_id=first.pk, next=URL))
    assert refused.status_code == 200
    message = (f"This request is {status}: a closed or rejected request takes no more decisions, and its decisions "
               f"are not superseded. Record a lesson, or open a new request.")
    assert refused.context["form"].errors == {"__all__": [message]}
    assert escape(message) in refused.text and said(refused) == [REFUSED]
    assert list(DecisionRecord.objects.all()) == [first]
    assert RequestEvent.objects.filter(request=request).count() == events


def test_recording_is_404_for_the_outsider(client, owner, outsider):
    request = new_request(actor(owner))
    assert signed_in(client, outsider).post(create_url(request), decision(request)).status_code == 404
    assert not DecisionRecord.objects.exists()


def test_recording_rejects_get(client, reviewer, owner):
    request = new_request(actor(owner))
    assert signed_in(client, reviewer).get(create_url(request)).status_code == 405


def test_recording_sends_anonymous_visitors_to_sign_in(client, owner):
    request = new_request(actor(owner))
    page = client.post(create_url(request), decision(request))
    assert page.status_code == 302 and page["Location"].startswith(reverse("login"))
    assert not DecisionRecord.objects.exists()
