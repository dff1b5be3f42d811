"""A reviewer bulk-routes three requests, saves the filtered list as a view, goes elsewhere and
reopens it from the nav, in Chromium (issue 14 item 7)."""

import re

import pytest
from playwright.sync_api import Page, expect

from requests_app import services as rs
from requests_app.models import SavedView
from tests.e2e.test_headoffice_journeys import sign_in
from tests.engine import OUTCOME, actor, new_request
from tests.factories import make_saved_view

TITLES = ("Alder", "Birch", "Cedar")


@pytest.fixture
def five_requests(owner, reviewer):
    offers = [new_request(actor(owner), request_title=f"Review offer {name}") for name in TITLES]
    rejected = new_request(actor(owner), request_title="Review offer Dogwood")
    rs.request_reject(request=rejected, actor=actor(reviewer), **OUTCOME)
    new_request(actor(owner), request_title="Review offer Elm")  # stays new: the view leaves it out
    return offers


def rows(page: Page):
    return page.locator("#request-table tbody td.title a")


def test_a_reviewer_saves_the_filtered_list_and_reopens_it_from_the_nav(
        page: Page, live_server, reviewer, five_requests, screenshot):
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url, "reviewer")
    page.get_by_role("link", name="Requests", exact=True).click()

    # Bulk-route the three offers (requests_app.bulk).
    for title in TITLES:
        page.get_by_label(f"Select “Review offer {title}”").check()
    page.locator("#bulk-form summary", has_text="Route").click()
    page.locator("#bulk-form").get_by_label("Review owner").select_option("headoffice")
    page.get_by_role("button", name="Route them").click()
    expect(page.locator("#bulk-result")).to_contain_text("Route: 3 done")
    expect(page.locator("#request-table .badge-routed")).to_have_count(3)

    # Filter the list to what was routed, and save that as a shared view.
    page.locator("form.filters").get_by_label("Status").select_option("routed")
    expect(page).to_have_url(re.compile(r"status=routed"))
    expect(rows(page)).to_have_count(3)
    page.locator("#save-view summary").click()
    page.locator("#save-view").get_by_label("Name").fill("Routed in Monday triage")
    page.locator("#save-view").get_by_label("everyone in the organisation").check()
    screenshot("saved-view-save-form")
    page.get_by_role("button", name="Save view").click()
    expect(page.locator("#messages")).to_contain_text(
        "Saved the view “Routed in Monday triage” for everyone in the organisation.")
    assert list(SavedView.objects.values_list("name", "visibility", "query")) == [
        ("Routed in Monday triage", "shared", "status=routed")]

    # Somewhere else, then back through the nav's saved views.
    page.get_by_role("link", name="Dashboard").click()
    expect(page).not_to_have_url(re.compile(r"/requests/"))
    page.locator("#nav-saved-views summary").click()
    link = page.locator("#nav-saved-views").get_by_role("link", name=re.compile("Routed in Monday triage"))
    expect(link).to_be_visible()
    screenshot("saved-views-nav")
    link.click()

    view = SavedView.objects.get()
    expect(page).to_have_url(re.compile(rf"/requests/\?status=routed&view={view.pk}$"))
    expect(page.locator("#current-view")).to_contain_text("View: Routed in Monday triage")
    expect(page.locator("form.filters").get_by_label("Status")).to_have_value("routed")
    expect(rows(page)).to_have_count(3)
    for title in TITLES:
        expect(rows(page).filter(has_text=title)).to_have_count(1)
    expect(page.locator("#request-table")).not_to_contain_text("Dogwood")
    expect(page.locator("#request-table")).not_to_contain_text("Elm")
    screenshot("saved-view-reopened")

    # The saved views page: the view, and the list's columns, where Type is left out.
    page.locator("#nav-saved-views summary").click()
    page.get_by_role("link", name="Manage saved views and columns…").click()
    expect(page.get_by_role("heading", name="Saved views")).to_be_visible()
    expect(page.locator("table").first).to_contain_text("Everyone in the organisation")
    page.locator("#columns").get_by_label("Type", exact=True).uncheck()
    page.locator("#columns").get_by_label("Position of Created").select_option("2")
    page.locator("#columns").get_by_label("Created", exact=True).check()
    screenshot("saved-views-page")
    page.locator("#columns").get_by_role("button", name="Save columns").click()
    head = page.locator("#request-table > .table-wrap thead")
    expect(head).not_to_contain_text("Type")
    expect(head.locator("th").nth(2)).to_have_text("Created")
    # The list's own Columns menu fetches the same form, with the choice just made.
    page.locator("#list-columns summary").click()
    expect(page.locator("#list-columns").get_by_role("button", name="Save columns")).to_be_visible()
    expect(page.locator("#list-columns").get_by_label("Type", exact=True)).not_to_be_checked()
    screenshot("request-list-columns-menu")


def test_on_a_phone_the_navs_saved_views_open_over_the_page(page: Page, live_server, reviewer, five_requests,
                                                            screenshot):
    make_saved_view(owner=reviewer, name="New ones", query="status=new")
    sign_in(page, live_server.url, "reviewer")
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("button", name="Menu").click()   # the nav folds behind Menu on a phone
    page.locator("#nav-saved-views summary").click()
    link = page.locator("#nav-saved-views").get_by_role("link", name="New ones")
    expect(link).to_be_visible()
    screenshot("saved-views-nav-390")
    link.click()
    expect(page).to_have_url(re.compile(r"/requests/\?status=new&view="))
    expect(rows(page)).to_have_count(4)


@pytest.mark.parametrize("width", [1366, 390])
def test_the_owner_changes_an_opened_views_filter_and_updates_the_view(page: Page, live_server, reviewer,
                                                                       five_requests, screenshot, width):
    view = make_saved_view(owner=reviewer, name="Late high-priority", query="status=new")
    sign_in(page, live_server.url, "reviewer")
    page.set_viewport_size({"width": width, "height": 900})  # after signing in: a phone's nav folds behind Menu
    page.goto(f"{live_server.url}/requests/views/{view.pk}/")
    current = page.locator("#current-view")
    expect(current).to_contain_text("View: Late high-priority")
    expect(current.get_by_role("button", name="Update")).to_have_count(0)
    page.locator("form.filters").get_by_label("Status").select_option("routed")
    expect(current).to_contain_text("the filter was changed since it was saved")
    screenshot(f"saved-view-changed-{width}")
    current.get_by_role("button", name="Update").click()
    expect(page.locator("#messages")).to_contain_text(
        "Updated the view “Late high-priority” with this filter and sort.")
    expect(page.locator("#current-view")).not_to_contain_text("changed since")
    assert list(SavedView.objects.values_list("pk", "query")) == [(view.pk, "status=routed")]

    page.goto(f"{live_server.url}/requests/views/")
    page.get_by_role("button", name="Share").click()
    expect(page.locator("#messages")).to_contain_text("is now shared with everyone in the organisation")
    expect(page.locator("table").first).to_contain_text("Status: Routed")
    screenshot(f"saved-views-page-{width}")
    assert SavedView.objects.get(pk=view.pk).visibility == "shared"
