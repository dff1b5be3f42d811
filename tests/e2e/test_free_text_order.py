"""Free text sorted by an order the walk cannot serve, in a real Chromium on PostgreSQL (issue 16):
the page orders the newest matches only and says so beside its count, and offers no page past them."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from requests_app.models import BrainRequest
from tests.e2e.test_headoffice_journeys import sign_in
from tests.factories import make_request


@pytest.mark.postgres
def test_a_title_order_of_a_common_word_says_it_covers_the_newest_matches_only(
        page: Page, live_server, reviewer, monkeypatch, screenshot):
    from requests_app.selectors import TextWalkPaginator
    monkeypatch.setattr("requests_app.views.PAGE_SIZE", 3)
    monkeypatch.setattr(TextWalkPaginator, "walk_rows_per_match", 4)
    monkeypatch.setattr(TextWalkPaginator, "walk_first_rows_per_match", 1)
    monkeypatch.setattr(TextWalkPaginator, "candidates", 4)
    start = timezone.now() - timedelta(days=1)
    for n in range(40):   # every third a zeppelin; by title, every "Other" comes first
        request = make_request(request_title=f"{'Zeppelin' if n % 3 == 0 else 'Other'} demand {n:02d}")
        BrainRequest.objects.filter(pk=request.pk).update(updated_at=start + timedelta(minutes=n))

    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url, "reviewer")
    page.goto(f"{live_server.url}/requests/?q=zeppelin&sort=title")
    rows = page.locator("#request-table tbody tr")
    expect(rows).to_have_count(3)
    # The newest four zeppelins (39, 36, 33, 30), by title.
    expect(rows.first).to_contain_text("Zeppelin demand 30")
    expect(rows.last).to_contain_text("Zeppelin demand 36")
    note = page.locator(".pagination").get_by_text("in this order among the newest 4 matches only")
    expect(note).to_be_visible()
    expect(page.locator(".pagination")).to_contain_text("(estimated)")
    screenshot("free-text-by-title-newest-matches-1366")

    page.locator(".pagination").get_by_role("link", name="Next").click()
    expect(page).to_have_url(f"{live_server.url}/requests/?q=zeppelin&sort=title&page=2")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Zeppelin demand 39")
    expect(page.locator(".pagination").get_by_role("link", name="Next")).to_have_count(0)
    expect(note).to_be_visible()
