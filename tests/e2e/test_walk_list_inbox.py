"""The walk's fixes in a real Chromium (issue 14 item 10): Back restores the request list's filter
controls; a Brain owner's inbox at 390 px shows Accept without sideways scrolling, behind a folding
menu; the keyboard shortcuts "g r" and "/"."""

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_headoffice_journeys import sign_in
from tests.engine import actor, new_request, routed_request

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def test_back_restores_the_filter_controls_of_the_list(page: Page, live_server, reviewer, owner, screenshot):
    routed_request(actor(owner), actor(reviewer), request_title="Routed and high", priority="high")
    new_request(actor(owner), request_title="New and low", priority="low")
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url, "reviewer")
    page.goto(f"{live_server.url}/requests/")
    history_at_start = page.evaluate("history.length")

    page.locator("#id_status").select_option("routed")
    expect(page).to_have_url(f"{live_server.url}/requests/?status=routed")  # no empty parameters
    page.locator("#id_priority").select_option("high")
    expect(page).to_have_url(f"{live_server.url}/requests/?status=routed&priority=high")
    expect(page.locator("#request-table tbody tr")).to_have_count(1)
    assert page.evaluate("history.length") == history_at_start + 2  # one entry per change
    screenshot("walk-list-filtered-1366")

    page.get_by_role("link", name="Routed and high").click()
    expect(page.locator("h1")).to_contain_text("Routed and high")
    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/requests/?status=routed&priority=high")
    expect(page.locator("#id_status")).to_have_value("routed")
    expect(page.locator("#id_priority")).to_have_value("high")
    expect(page.locator("#request-table tbody tr")).to_have_count(1)

    page.go_back()  # the step before: only the status was set
    expect(page).to_have_url(f"{live_server.url}/requests/?status=routed")
    expect(page.locator("#id_status")).to_have_value("routed")
    expect(page.locator("#id_priority")).to_have_value("")

    # Arrowing through a select's options is one change, not one history entry per key press.
    page.goto(f"{live_server.url}/requests/")  # a fresh entry: no forward history to drop
    before = page.evaluate("history.length")
    page.locator("#id_request_type").focus()
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    expect(page).to_have_url(re.compile(r"request_type="))
    page.wait_for_timeout(600)
    assert page.evaluate("history.length") == before + 1

    page.goto(f"{live_server.url}/requests/?priority=urgentest")
    expect(page.locator(".filter-problems")).to_contain_text("Priority: “urgentest” is not one of its choices")
    screenshot("walk-list-bad-filter-1366")


def test_a_brain_owner_accepts_from_the_inbox_on_a_phone(page: Page, live_server, reviewer, owner, other_owner,
                                                          screenshot):
    routed_request(actor(owner), actor(reviewer), request_title="Review the Voltcamp 900 offer with a long title")
    new_request(actor(owner), destination="affiliate", request_title="Waiting for research to submit")
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url, "affiliate_owner")
    expect(page).to_have_url(f"{live_server.url}/workspace/affiliate/")  # the inbox, not the queues
    screenshot("walk-inbox-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("#to-act")).to_contain_text("Review the Voltcamp 900 offer")
    accept = page.locator("#to-act").get_by_role("button", name="Accept")
    accept.scroll_into_view_if_needed()
    expect(accept).to_be_in_viewport(ratio=1)
    box = accept.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot("walk-inbox-390")

    # The navigation folds behind the Menu button on a phone.
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(nav).to_be_visible()
    screenshot("walk-inbox-390-menu-open")
    page.get_by_role("button", name="Menu").click()
    expect(nav).to_be_hidden()

    accept.click()
    expect(page.locator(".messages, [role=status]").first).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)

    page.goto(f"{live_server.url}/requests/")
    expect(page.locator("#request-table .badge-routed, #request-table .badge-in_progress").first).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot("walk-list-390")


def test_keyboard_shortcuts_go_to_the_list_and_focus_search(page: Page, live_server, reviewer, owner, screenshot):
    new_request(actor(owner), request_title="A request")
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url, "reviewer")
    page.keyboard.press("g")
    page.keyboard.press("r")
    expect(page).to_have_url(f"{live_server.url}/requests/")
    page.keyboard.press("/")
    expect(page.locator(".header-search input")).to_be_focused()

    # Typing in a field is not a shortcut.
    page.locator("#id_q").focus()
    page.keyboard.type("gd")
    expect(page).to_have_url(f"{live_server.url}/requests/?q=gd")
    page.locator("body").click(position={"x": 5, "y": 400})
    page.keyboard.press("g")
    page.keyboard.press("d")
    expect(page).to_have_url(f"{live_server.url}/")

    page.keyboard.press("?")
    expect(page.locator("details.keys-help")).to_have_attribute("open", "")
    screenshot("walk-shortcuts-help-1366")
    page.keyboard.press("Escape")
    expect(page.locator("details.keys-help")).not_to_have_attribute("open", "")

    # Escape closes an open action panel and gives the focus back to its summary.
    page.goto(f"{live_server.url}/requests/")
    route = page.locator("details.action", has_text="Route…").first
    route.locator("summary").click()
    expect(route).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(route).not_to_have_attribute("open", "")
    expect(route.locator("summary")).to_be_focused()

    # The list's "Skip to results" is the first stop after the page's own skip link.
    page.goto(f"{live_server.url}/requests/")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to results")).to_be_focused()
