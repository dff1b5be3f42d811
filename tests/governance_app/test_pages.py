"""kernel.pages.RowPaginator: an exact count up to a limit, the planner's estimate (marked) above
it, "next" decided by the rows read, and no count at all when one page holds every row; and
capped_counts with CappedCountPaginator: several lists counted up to a cap in one statement."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from governance_app.kernel import pages
from governance_app.kernel.pages import CappedCountPaginator, RowPaginator, capped_counts
from requests_app.models import BrainRequest

pytestmark = pytest.mark.django_db


def requests(n: int) -> None:
    BrainRequest.objects.bulk_create([BrainRequest(
        requesting_authority="research", requesting_brain_id="research", target_brain_id="affiliate",
        request_type="offer_review_request", request_title=f"Offer {i:02}", request_summary="Review it.",
        required_output="") for i in range(n)])


def rows():
    return BrainRequest.objects.order_by("request_title")


def test_below_the_limit_the_count_is_exact_and_every_row_is_on_one_page(brains):
    requests(12)
    paginator = RowPaginator(rows(), 5)
    first, last = paginator.get_page(1), paginator.get_page(3)
    assert paginator.count == 12 and not paginator.estimated and paginator.num_pages == 3
    assert first.has_next() and first.next_page_number() == 2
    assert [r.request_title for r in last.object_list] == ["Offer 10", "Offer 11"] and not last.has_next()


def test_above_the_limit_the_count_is_an_estimate_and_the_rows_decide_what_follows(brains, monkeypatch):
    monkeypatch.setattr(pages, "EXACT_COUNT_UP_TO", 3)
    requests(12)
    paginator = RowPaginator(rows(), 5)
    page = paginator.get_page(1)
    assert paginator.estimated and paginator.count >= 4
    assert page.has_next() and len(page.object_list) == 5
    last = RowPaginator(rows(), 5).get_page(3)
    assert [r.request_title for r in last.object_list] == ["Offer 10", "Offer 11"] and not last.has_next()


def test_a_page_that_holds_every_row_asks_for_no_count(brains):
    requests(4)
    with CaptureQueriesContext(connection) as queries:
        page = RowPaginator(rows(), 25).get_page(1)
        assert page.paginator.count == 4
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)


def test_the_list_says_when_its_count_is_an_estimate(client, reviewer, monkeypatch):
    from django.urls import reverse

    monkeypatch.setattr(pages, "EXACT_COUNT_UP_TO", 3)
    requests(30)
    client.force_login(reviewer)
    page = client.get(reverse("requests:list"))
    assert "(estimated)" in page.text and "page=2" in page.text


@pytest.mark.parametrize("deep_from", [0, 1000])
def test_a_deep_page_reads_its_keys_first_and_holds_the_same_rows_in_the_same_order(brains, monkeypatch, deep_from):
    monkeypatch.setattr(pages, "DEEP_FROM", deep_from)  # 0: every page is "deep"; 1000: none is
    requests(12)
    with CaptureQueriesContext(connection) as queries:
        page = RowPaginator(rows(), 5).get_page(2)
    assert [r.request_title for r in page.object_list] == [f"Offer {i:02}" for i in range(5, 10)] and page.has_next()
    reads = [q["sql"] for q in queries.captured_queries if "request_title" in q["sql"]]
    assert len(reads) == 1 and (" IN (SELECT" in reads[0]) == (deep_from == 0)  # one statement either way


def test_a_deep_page_of_an_annotated_list_keeps_its_annotation(brains, monkeypatch):
    from django.db.models import Value

    monkeypatch.setattr(pages, "DEEP_FROM", 0)
    requests(7)
    page = RowPaginator(rows().annotate(mark=Value(7)), 3).get_page(3)
    assert [(r.request_title, r.mark) for r in page.object_list] == [("Offer 06", 7)] and not page.has_next()


def test_capped_counts_count_several_lists_up_to_the_cap_in_one_statement(brains):
    requests(12)
    lists = {"all": rows(), "few": rows().filter(request_title__in=["Offer 01", "Offer 02"]),
             "none": rows().none(), "nothing": rows().filter(request_title="No such offer")}
    with CaptureQueriesContext(connection) as statements:
        counts = capped_counts(lists, cap=5)
    assert counts == {"all": 6, "few": 2, "none": 0, "nothing": 0}   # cap + 1: more than the cap
    assert len(statements.captured_queries) == 1
    assert capped_counts({"none": rows().none()}, cap=5) == {"none": 0}


def test_a_capped_count_pages_on_while_rows_follow_and_asks_for_no_count(brains):
    requests(12)
    paginator = CappedCountPaginator(rows(), 5, count=6, cap=5)
    with CaptureQueriesContext(connection) as statements:
        first, last, past = paginator.get_page(1), paginator.get_page(3), paginator.get_page(4)
    assert len(statements.captured_queries) == 3  # the rows of each page, no count
    assert paginator.capped and not paginator.estimated and first.has_next()
    assert [r.request_title for r in last.object_list] == ["Offer 10", "Offer 11"] and not last.has_next()
    assert list(past.object_list) == [] and not past.has_next()
    exact = CappedCountPaginator(rows(), 5, count=4, cap=5)
    assert not exact.capped and exact.count == 4 and exact.get_page(9).number == 1  # past the end: the last page
