"""Search from the header and the list's downloads in a real Chromium (issue 14, items 8 and 9): "/"
puts the cursor in the search box, the results show each kind with its match and request, and the
list's export link downloads the filtered list as CSV."""

import csv
import io

from playwright.sync_api import Page, expect

from tests.e2e.test_headoffice_journeys import sign_in
from tests.engine import actor, new_request, routed_request
from tests.factories import make_decision_record, make_lesson, make_task, make_task_artifact


def test_a_reviewer_searches_from_the_header_and_exports_the_filtered_list(
        page: Page, live_server, reviewer, owner, screenshot):
    request = routed_request(actor(owner), actor(reviewer), request_title="Review the Voltcamp 900 offer",
                             priority="high")
    task = make_task(request=request, title="Scan Voltcamp demand")
    make_task_artifact(task=task, artifact_summary="Voltcamp demand rose 40% in four weeks.")
    make_decision_record(request=request, decision_summary="Test Voltcamp with a capped budget")
    make_lesson(related_request=request, insight="Voltcamp buyers compare battery sizes first.")
    new_request(actor(owner), request_title="Review collagen gummies", priority="high")
    new_request(actor(owner), request_title="A low one", priority="low")
    sign_in(page, live_server.url, "reviewer")

    page.keyboard.press("/")
    expect(page.locator(".header-search input")).to_be_focused()
    page.keyboard.type("voltcamp")
    page.keyboard.press("Enter")
    expect(page.locator(".search-hit")).to_have_count(5)
    expect(page.locator(".search-hit").first).to_contain_text("Review the Voltcamp 900 offer")
    expect(page.locator(".search-hit mark").first).to_have_text("Voltcamp")
    screenshot("search-results")

    page.goto(f"{live_server.url}/requests/?priority=high")
    expect(page.locator("#request-table tbody tr")).to_have_count(2)
    screenshot("request-list-with-export-links")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename.startswith("requests-priority-high-")
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert sorted(row["request_title"] for row in rows) == ["Review collagen gummies", "Review the Voltcamp 900 offer"]
