"""The lessons page (filters, pagination, scope) and recording a lesson from a request."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from governance_app.models import LessonLearned
from requests_app.models import RequestEvent
from tests.conftest import said
from tests.engine import actor, new_request
from tests.factories import make_decision_record, make_lesson, make_request, make_task

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
URL = reverse("governance:lessons")
REFUSED = "The lesson was not saved: see the message next to the form."


def signed_in(client, user):
    client.force_login(user)
    return client


def create_url(request) -> str:
    return reverse("governance:lesson_create", args=[request.pk])


def lesson(**fields) -> dict:
    return {"event_or_experiment": "Offer 881 two-market test", "result": "Converted 2.1% against 1.4% control.",
            "insight": "Research-led offers convert better in their first week.",
            "recommended_improvement": "Route research signals to Affiliate within 48 hours.", **fields}


# --- the list -----------------------------------------------------------------------------------

def test_it_lists_lessons_with_their_brain_and_request(client, reviewer):
    request = make_request(request_title="Offer 881 review")
    make_lesson(related_request=request, insight="Flat search volume predicted the UK failure.")
    page = signed_in(client, reviewer).get(URL)
    assert page.status_code == 200
    assert "Flat search volume predicted the UK failure." in page.text and "Offer 881 review" in page.text


@pytest.mark.parametrize(("query", "shown", "hidden"), [
    ({"brain": "ads"}, "Creative fatigue", "Flat search"),
    ({"q": "fatigue"}, "Creative fatigue", "Flat search"),
    ({"q": "search volume"}, "Flat search", "Creative fatigue"),
])
def test_it_filters(client, reviewer, query, shown, hidden):
    make_lesson(insight="Flat search volume predicted the UK failure.")
    make_lesson(originating_brain="ads", insight="Creative fatigue sets in after ten days.")
    page = signed_in(client, reviewer).get(URL, query)
    assert shown in page.text and hidden not in page.text


def test_it_narrows_to_one_request_and_offers_the_form(client, owner):
    request = new_request(actor(owner), request_title="Offer 881")
    make_lesson(related_request=request, insight="From this request.")
    make_lesson(related_request=make_request(), insight="From another request.")
    page = signed_in(client, owner).get(URL, {"request": request.pk})
    assert "From this request." in page.text and "From another request." not in page.text
    assert f'action="{create_url(request)}"' in page.text


def test_it_paginates(client, reviewer):
    LessonLearned.objects.bulk_create([LessonLearned(
        originating_brain_id="research", event_or_experiment=f"Test {i}", result="Two of three markets.",
        insight="Demand first.", recommended_improvement="Scan demand first.") for i in range(30)])
    page = signed_in(client, reviewer).get(URL)
    assert "page 1 of 2" in page.text and "page=2" in page.text


def test_a_brain_sees_its_own_lessons_and_those_of_its_requests(client, owner, outsider):
    make_lesson(originating_brain="research", insight="Research's own lesson.")
    make_lesson(originating_brain="ads", related_request=make_request(), insight="On an Affiliate request.")
    make_lesson(originating_brain="ads", insight="Ads keeps this one.")
    page = signed_in(client, owner).get(URL)
    assert "Research&#x27;s own lesson." in page.text and "On an Affiliate request." in page.text
    assert "Ads keeps this one." not in page.text
    page = signed_in(client, outsider).get(URL)
    assert "No lessons recorded yet" in page.text


def test_the_htmx_request_gets_only_the_table(client, reviewer):
    page = signed_in(client, reviewer).get(URL, {"q": "demand"}, **HTMX)
    assert page.text.lstrip().startswith('<div id="lesson-table"') and "<html" not in page.text
    assert "HX-Request" in page["Vary"]


def test_the_list_rejects_post(client, reviewer):
    assert signed_in(client, reviewer).post(URL).status_code == 405


def test_the_list_sends_anonymous_visitors_to_sign_in(client):
    page = client.get(URL)
    assert page.status_code == 302 and page["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("rows", [5, 200])
def test_the_query_count_does_not_grow_with_rows(client, reviewer, rows, django_assert_max_num_queries):
    request = make_request()
    LessonLearned.objects.bulk_create([LessonLearned(
        originating_brain_id="research", related_request=request, event_or_experiment=f"Test {i}",
        result="Two of three markets.", insight="Demand first.", recommended_improvement="Scan demand first.")
        for i in range(rows)])
    signed_in(client, reviewer)
    with django_assert_max_num_queries(7):  # +1: the nav's saved views (issue 14)
        assert client.get(URL).status_code == 200


# --- recording a lesson -------------------------------------------------------------------------

def test_a_brain_owner_records_a_lesson_tied_to_a_decision(client, owner):
    request = new_request(actor(owner))
    record = make_decision_record(request=request)
    page = signed_in(client, owner).post(create_url(request), lesson(decision_id=record.pk, next=URL))
    assert page.status_code == 302 and page["Location"] == URL
    saved = LessonLearned.objects.get()
    assert (saved.originating_brain_id, saved.related_request, saved.related_decision) == ("research", request, record)


def test_a_lesson_can_name_a_task_of_the_request(client, reviewer):
    task = make_task()
    page = signed_in(client, reviewer).post(create_url(task.request), lesson(task_id=task.pk))
    assert page["Location"] == reverse("requests:detail", args=[task.request_id])
    assert LessonLearned.objects.get().related_task == task


def test_a_placeholder_insight_is_refused_next_to_the_field(client, owner):
    request = new_request(actor(owner))
    events = RequestEvent.objects.filter(request=request).count()
    page = signed_in(client, owner).post(create_url(request), lesson(insight="done"))
    assert page.status_code == 200 and 'class="field-error"' in page.text and "placeholder" in page.text
    assert "Offer 881 two-market test" in page.text       # the input is kept
    assert not LessonLearned.objects.exists()
    errors = page.context["form"].errors
    assert list(errors) == ["insight"] and "placeholder" in errors["insight"][0]
    assert f'<ul class="field-error"><li>{escape(errors["insight"][0])}' in page.text   # by its field
    assert said(page) == [REFUSED] and REFUSED in page.text
    assert RequestEvent.objects.filter(request=request).count() == events


def test_a_decision_of_another_request_is_refused(client, owner):
    request = new_request(actor(owner))
    elsewhere = make_decision_record()
    events = RequestEvent.objects.filter(request=request).count()
    page = signed_in(client, owner).post(create_url(request), lesson(decision_id=elsewhere.pk))
    assert page.status_code == 200 and not LessonLearned.objects.exists()
    errors = page.context["form"].errors
    assert errors == {"decision_id": [f"Select a valid choice. {elsewhere.pk} is not one of the available choices."]}
    assert f'<ul class="field-error"><li>{escape(errors["decision_id"][0])}' in page.text   # by its field
    assert said(page) == [REFUSED]
    assert RequestEvent.objects.filter(request=request).count() == events


def test_recording_is_404_for_the_outsider(client, owner, outsider):
    request = new_request(actor(owner))
    assert signed_in(client, outsider).post(create_url(request), lesson()).status_code == 404
    assert not LessonLearned.objects.exists()


def test_recording_rejects_get(client, owner):
    request = new_request(actor(owner))
    assert signed_in(client, owner).get(create_url(request)).status_code == 405


def test_recording_sends_anonymous_visitors_to_sign_in(client, owner):
    request = new_request(actor(owner))
    page = client.post(create_url(request), lesson())
    assert page.status_code == 302 and page["Location"].startswith(reverse("login"))
    assert not LessonLearned.objects.exists()
