"""The request list as a download (issue 14, item 8): `?export=csv|json` beside the list's filters, and
GET /api/v1/requests/export. The whole filtered set, streamed in constant memory, named for its
filter, scoped as the list is, in a fixed number of queries."""

import csv
import io
import json
import tracemalloc
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from governance_app import services as gs
from governance_app.kernel.clock import clock_set
from governance_app.models import Brain, MembershipRole
from governance_app.kernel.tenancy import member_add
from requests_app.api import RequestOut
from requests_app.exports import CSV_COLUMNS
from requests_app.models import BrainRequest
from tests.api_client import api_as
from tests.conftest import PASSWORD, said
from tests.engine import actor, new_request, routed_request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("every_tenant")]
LIST = reverse("requests:list")
DAY = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


def signed_in(client, user):
    client.force_login(user)
    return client


def body(response) -> str:
    assert response.streaming, "an export is streamed, not built in memory"
    return b"".join(response.streaming_content).decode()


def csv_rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body(response))))


def bulk_requests(n: int, **extra) -> None:
    BrainRequest.objects.bulk_create([BrainRequest(
        requesting_authority="research", requesting_brain_id="research", target_brain_id="affiliate",
        request_type="offer_review_request", request_title=f"Offer {i}", request_summary="Review this offer please.",
        required_output="", **extra) for i in range(n)], batch_size=1000)


# --- the page's download ------------------------------------------------------------------------

def test_csv_export_is_the_whole_filtered_list_with_a_header_row_and_the_filter_in_its_name(client, reviewer, owner):
    routed_request(actor(owner), actor(reviewer), request_title="Routed and high", priority="high")
    routed_request(actor(owner), actor(reviewer), request_title="Routed but low", priority="low")
    new_request(actor(owner), request_title="New and high", priority="high")
    bulk_requests(30, status="routed", priority="high", review_owner_id="headoffice")  # more than a page: the export is not paginated

    with clock_set(lambda: DAY):
        response = signed_in(client, reviewer).get(LIST, {"status": "routed", "priority": "high", "export": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="requests-status-routed-priority-high-2026-12-02.csv"'
    rows = csv_rows(response)
    assert list(rows[0]) == CSV_COLUMNS
    assert len(rows) == 31
    assert {row["request_status"] for row in rows} == {"routed"} and {row["priority"] for row in rows} == {"high"}
    assert "Routed and high" in {row["request_title"] for row in rows}


def test_json_export_is_a_list_of_the_apis_request_objects(client, reviewer, owner):
    first = routed_request(actor(owner), actor(reviewer), request_title="First",
                           offer_id="OFF-1")
    new_request(actor(owner), request_title="Second")
    api = api_as("headoffice", "headoffice")

    exported = json.loads(body(signed_in(client, reviewer).get(LIST, {"export": "json", "q": "OFF-1"})))
    listed = api.get("/requests", {"q": "OFF-1"}).json()["items"]

    assert [item["request_id"] for item in exported] == [str(first.pk)]
    # The same object the API answers, field for field (moves_open included: both are HeadOffice's).
    assert exported == listed
    RequestOut.model_validate(exported[0])


def test_json_export_of_nothing_is_an_empty_list(client, reviewer):
    response = signed_in(client, reviewer).get(LIST, {"export": "json", "status": "closed"})
    assert response.status_code == 200 and json.loads(body(response)) == []


def test_a_brain_owner_exports_only_what_their_list_shows(client, reviewer, owner, other_owner, outsider):
    new_request(actor(owner), request_title="Research asks Affiliate")
    new_request(actor(other_owner), destination="finance", request_title="Affiliate asks Finance")

    titles = {user.username: {row["request_title"] for row in csv_rows(signed_in(client, user).get(LIST, {"export": "csv"}))}
              for user in (reviewer, owner, other_owner, outsider)}

    assert titles["reviewer"] == {"Research asks Affiliate", "Affiliate asks Finance"}
    assert titles["research_owner"] == {"Research asks Affiliate"}
    assert titles["affiliate_owner"] == {"Research asks Affiliate", "Affiliate asks Finance"}
    assert titles["content_owner"] == set()


def test_another_tenants_requests_are_never_exported(client, reviewer, owner):
    new_request(actor(owner), request_title="Ours")
    acme = gs.tenant_create(slug="acme", name="Acme Consulting", reviewer_username="acme_reviewer",
                            reviewer_password=PASSWORD)
    from django.contrib.auth import get_user_model
    acme_research = get_user_model().objects.create_user(username="acme_research", password=PASSWORD)
    member_add(user=acme_research, brain=Brain.objects.get(tenant=acme, slug="research"), role=MembershipRole.OWNER)
    new_request(actor(acme_research), request_title="Theirs")
    acme_reviewer = get_user_model().objects.get(username="acme_reviewer")

    ours = {row["request_title"] for row in csv_rows(signed_in(client, reviewer).get(LIST, {"export": "csv"}))}
    theirs = json.loads(body(signed_in(client, acme_reviewer).get(LIST, {"export": "json"})))

    assert ours == {"Ours"}
    assert [item["request_title"] for item in theirs] == ["Theirs"]


@pytest.mark.parametrize(("query", "message"), [
    ({"export": "csv", "status": "finished"}, "status: Select a valid choice. finished is not one of the available choices."),
    ({"export": "csv", "created_after": "yesterday"}, "created_after: Enter a valid date."),
    ({"export": "xml"}, "Export as csv or json, not “xml”."),
])
def test_a_bad_filter_or_format_is_refused_in_words_on_the_list(client, reviewer, owner, query, message):
    new_request(actor(owner), request_title="Still listed")
    response = signed_in(client, reviewer).get(LIST, query)

    assert response.status_code == 400
    assert not response.streaming and "Content-Disposition" not in response
    assert said(response) == [f"Nothing was exported: {message}"]
    assert "export=xml" not in response.text  # the list's own links do not ask for the download again


def test_the_list_links_to_its_export_with_the_current_filter(client, reviewer, owner):
    new_request(actor(owner), priority="high")
    page = signed_in(client, reviewer).get(LIST, {"priority": "high", "page": "1"})
    assert 'href="?priority=high&amp;export=csv"' in page.text
    assert 'href="?priority=high&amp;export=json"' in page.text


def test_the_htmx_table_carries_the_export_links_of_its_filter(client, reviewer, owner):
    new_request(actor(owner), priority="low")
    page = signed_in(client, reviewer).get(LIST, {"priority": "low"}, HTTP_HX_REQUEST="true")
    assert page.text.lstrip().startswith('<div id="request-table"')
    assert 'href="?priority=low&amp;export=csv"' in page.text


def test_export_refuses_post_and_anonymous_visitors(client, reviewer):
    assert client.get(LIST, {"export": "csv"}).status_code == 302
    assert signed_in(client, reviewer).post(f"{LIST}?export=csv").status_code == 405


def test_a_cell_a_spreadsheet_would_run_is_written_as_text(client, reviewer, owner):
    new_request(actor(owner), request_title="=HYPERLINK(\"http://evil.example\")")
    rows = csv_rows(signed_in(client, reviewer).get(LIST, {"export": "csv"}))
    assert rows[0]["request_title"] == "'=HYPERLINK(\"http://evil.example\")"


@pytest.mark.parametrize("rows", [5, 200])
def test_export_query_count_does_not_grow_with_rows(client, reviewer, owner, rows, django_assert_num_queries):
    bulk_requests(rows)
    for request in BrainRequest.objects.all()[:3]:  # some rows with tasks: their ids are prefetched per chunk
        from tests.factories import make_task
        make_task(request=request)
    signed_in(client, reviewer)
    # The session, the user and their memberships, the Brain options, then the requests and the
    # task ids of their chunk (EXPORT_CHUNK rows).
    with django_assert_num_queries(6):
        response = client.get(LIST, {"export": "json"})
        items = json.loads(body(response))
    assert len(items) == rows
    assert sum(len(item["related_task_ids"]) for item in items) == 3


# --- memory -------------------------------------------------------------------------------------

# The peak of memory the Python side allocates while 10,000 rows are read and written. Building the
# list first (10,000 model instances and their dicts) takes far more: ~60 MB measured.
EXPORT_PEAK_BYTES = 8 * 1024 * 1024


def test_csv_export_of_10000_rows_runs_in_bounded_memory(client, reviewer):
    BrainRequest.objects.bulk_create([BrainRequest(
        requesting_authority="research", requesting_brain_id="research", target_brain_id="affiliate",
        request_type="offer_review_request", request_title=f"Offer {i}", required_output="",
        request_summary=f"Request {i}: " + "a summary of about a thousand characters. " * 24) for i in range(10_000)],
        batch_size=1000)
    response = signed_in(client, reviewer).get(LIST, {"export": "csv"})
    written = rows = 0
    tracemalloc.start()
    try:
        for piece in response.streaming_content:
            written += len(piece)
            rows += piece.count(b"\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == 10_001  # the header and every row
    assert peak < EXPORT_PEAK_BYTES, f"peak {peak / 2**20:.1f} MiB for {written / 2**20:.1f} MiB written"
    assert written > peak  # the file is larger than what was ever held at once


# --- the API ------------------------------------------------------------------------------------

def test_api_export_streams_csv_named_for_the_filter_as_the_caller_spelled_it(owner, reviewer):
    routed_request(actor(owner), actor(reviewer), request_title="Routed")
    new_request(actor(owner), request_title="New")
    api = api_as("research")

    with clock_set(lambda: DAY):
        response = api.get("/requests/export", {"format": "csv", "request_status": "routed"})

    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="requests-request-status-routed-2026-12-02.csv"'
    assert [row["request_title"] for row in csv_rows(response)] == ["Routed"]


def test_api_export_json_is_the_list_endpoints_items_for_the_token(owner, reviewer):
    for title in ("One", "Two", "Three"):
        routed_request(actor(owner), actor(reviewer), request_title=title)
    api = api_as("affiliate")

    exported = json.loads(body(api.get("/requests/export", {"sort": "title"})))

    assert exported == api.get("/requests", {"sort": "title"}).json()["items"]
    assert [item["request_title"] for item in exported] == ["One", "Three", "Two"]


def test_api_export_refuses_a_bad_filter_with_a_422_naming_it(owner):
    response = api_as("research").get("/requests/export", {"format": "csv", "created_after": "soon"})
    assert response.status_code == 422
    assert response.json()["errors"] == {"created_after": "Input should be a valid date or datetime, input is too short"}
    unknown = api_as("research").get("/requests/export", {"format": "xlsx"})
    assert unknown.status_code == 422 and "format" in unknown.json()["errors"]
    bad_queue = api_as("research").get("/requests/export", {"queue": "nowhere"})
    assert bad_queue.status_code == 422 and set(bad_queue.json()["errors"]) == {"queue"}


def test_api_export_answers_401_without_a_token():
    from tests.api_client import Api
    assert Api(None).get("/requests/export").status_code == 401
