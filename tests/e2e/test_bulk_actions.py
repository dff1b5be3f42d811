"""A reviewer bulk-routes three requests from the list in Chromium and reads the result (issue 14 item 5)."""

import re

import pytest
from playwright.sync_api import Page, expect

from requests_app import services as rs
from requests_app.models import BrainRequest, RequestStatus
from tests.e2e.test_headoffice_journeys import sign_in
from tests.engine import OUTCOME, actor, new_request


@pytest.fixture
def four_requests(owner, reviewer):
    offers = [new_request(actor(owner), request_title=f"Review offer {name}") for name in ("Alder", "Birch", "Cedar")]
    rejected = new_request(actor(owner), request_title="Review offer Dogwood")
    rs.request_reject(request=rejected, actor=actor(reviewer), **OUTCOME)
    return offers, rejected


def test_a_reviewer_bulk_routes_three_requests_and_sees_what_happened_to_each(
        page: Page, live_server, reviewer, four_requests, screenshot):
    offers, rejected = four_requests
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url, "reviewer")
    page.get_by_role("link", name="Requests", exact=True).click()

    for title in ("Alder", "Birch", "Cedar", "Dogwood"):
        page.get_by_label(f"Select “Review offer {title}”").check()
    page.locator("#bulk-form summary", has_text="Route").click()
    page.locator("#bulk-form").get_by_label("Review owner").select_option("headoffice")
    page.locator("#bulk-form").get_by_role("textbox", name=re.compile("^Note")).fill("Routed together in the Monday triage.")
    screenshot("request-list-bulk-selection")

    page.get_by_role("button", name="Route them").click()
    result = page.locator("#bulk-result")
    expect(result).to_contain_text("Route: 3 done, 1 refused")
    for title in ("Alder", "Birch", "Cedar"):
        expect(result.locator("#bulk-done")).to_contain_text(f"Review offer {title} — Now routed.")
    expect(result.locator("#bulk-refused")).to_contain_text(
        "Review offer Dogwood — This request is rejected; it is final and cannot change.")
    # The table below reloads and shows the new statuses.
    expect(page.locator("#request-table .badge-routed")).to_have_count(3)
    screenshot("bulk-result")

    assert {r.status for r in BrainRequest.objects.filter(pk__in=[o.pk for o in offers])} == {RequestStatus.ROUTED}
    assert BrainRequest.objects.get(pk=rejected.pk).status == RequestStatus.REJECTED
