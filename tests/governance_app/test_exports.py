"""The decisions and lessons pages as downloads (issue 14, item 8): `?export=csv|json` beside the page's
filters gives the whole filtered list, scoped as the page is, named for its filter, streamed."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from governance_app.api import DecisionOut, LessonOut
from governance_app.exports import DECISION_COLUMNS, LESSON_COLUMNS
from governance_app.kernel.clock import clock_set
from tests.conftest import said
from tests.factories import make_decision_record, make_lesson, make_request

pytestmark = pytest.mark.django_db
DECISIONS, LESSONS = reverse("governance:decisions"), reverse("governance:lessons")
DAY = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


def signed_in(client, user):
    client.force_login(user)
    return client


def body(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def test_decisions_csv_is_the_filtered_list_named_for_its_filter(client, reviewer):
    request = make_request()
    make_decision_record(request=request, decision_summary="Proceed with DE", authority_id="headoffice")
    make_decision_record(request=request, decision_summary="Budget capped", authority_id="finance")

    with clock_set(lambda: DAY):
        response = signed_in(client, reviewer).get(DECISIONS, {"authority": "finance", "export": "csv"})

    assert response["Content-Disposition"] == 'attachment; filename="decisions-authority-finance-2026-12-02.csv"'
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert list(rows[0]) == DECISION_COLUMNS
    assert [(row["decision_summary"], row["request_id"]) for row in rows] == [("Budget capped", str(request.pk))]


def test_decisions_json_is_a_list_of_the_apis_decision_objects(client, reviewer):
    decision = make_decision_record(decision_summary="Proceed with DE")
    items = json.loads(body(signed_in(client, reviewer).get(DECISIONS, {"export": "json"})))
    assert [item["decision_id"] for item in items] == [str(decision.pk)]
    DecisionOut.model_validate(items[0])


def test_a_brain_owner_exports_only_the_decisions_their_page_shows(client, owner, outsider):
    make_decision_record(request=make_request(), decision_summary="On a research request")  # research is its destination
    assert len(json.loads(body(signed_in(client, owner).get(DECISIONS, {"export": "json"})))) == 1
    assert json.loads(body(signed_in(client, outsider).get(DECISIONS, {"export": "json"}))) == []


def test_lessons_json_carries_each_lessons_request(client, reviewer):
    request = make_request()
    make_lesson(related_request=request, originating_brain_id="research", insight="Scan first.")
    make_lesson(originating_brain_id="finance", insight="Cap budgets.")

    with clock_set(lambda: DAY):
        response = signed_in(client, reviewer).get(LESSONS, {"brain": "research", "export": "json"})

    assert response["Content-Disposition"] == 'attachment; filename="lessons-brain-research-2026-12-02.json"'
    items = json.loads(body(response))
    assert [(item["insight"], item["request_id"]) for item in items] == [("Scan first.", str(request.pk))]
    LessonOut.model_validate(items[0])
    assert list(items[0]) == LESSON_COLUMNS


def test_a_bad_filter_is_refused_in_words_on_the_page(client, reviewer):
    make_decision_record(decision_summary="Still listed")
    response = signed_in(client, reviewer).get(DECISIONS, {"kind": "whim", "export": "csv"})
    assert response.status_code == 400 and not response.streaming
    assert said(response) == ["Nothing was exported: kind: Select a valid choice. whim is not one of the "
                              "available choices."]


def test_each_page_links_to_its_export_with_the_current_filter(client, reviewer):
    make_decision_record()
    make_lesson(originating_brain_id="research")
    decisions = signed_in(client, reviewer).get(DECISIONS, {"kind": "decision"})
    lessons = client.get(LESSONS, {"brain": "research"}, HTTP_HX_REQUEST="true")
    assert 'href="?kind=decision&amp;export=csv"' in decisions.text
    assert 'href="?brain=research&amp;export=json"' in lessons.text


def test_export_refuses_post_and_anonymous_visitors(client, reviewer):
    assert client.get(LESSONS, {"export": "csv"}).status_code == 302
    assert signed_in(client, reviewer).post(f"{DECISIONS}?export=csv").status_code == 405


@pytest.mark.parametrize("rows", [5, 200])
def test_export_query_count_does_not_grow_with_rows(client, reviewer, rows, django_assert_num_queries):
    request = make_request()
    for i in range(rows):
        make_decision_record(request=request, decision_summary=f"Decision {i}")
        make_lesson(related_request=request, insight=f"Lesson {i}")
    signed_in(client, reviewer)
    # The session, the user and their memberships, then the rows (the Brain options come from the
    # process's registry, governance_app.kernel.brains, read once per test).
    with django_assert_num_queries(5):
        assert len(json.loads(body(client.get(DECISIONS, {"export": "json"})))) == rows
    with django_assert_num_queries(4):
        assert body(client.get(LESSONS, {"export": "csv"})).count("Lesson ") == rows
