"""SLA clocks in a real Chromium (issue 14, item 1): HeadOffice changes a target on the SLA page and
the request list's badge follows; the list filters by SLA state."""

import re
from datetime import timedelta

from playwright.sync_api import Page, expect

from governance_app.kernel import clock
from requests_app import sla
from tests.e2e.test_headoffice_journeys import sign_in
from tests.engine import actor, new_request


def test_a_reviewer_tightens_a_target_and_the_list_shows_the_request_due_soon(page: Page, live_server, reviewer,
                                                                             owner, screenshot):
    sla.sla_policy_save(actor=actor(reviewer), warn_percent=80, hours={("high", "new"): 24})
    five_hours_ago = clock.now() - timedelta(hours=5)
    with clock.clock_set(lambda: five_hours_ago):
        new_request(actor(owner), priority="high", request_title="A high offer five hours old")
    sign_in(page, live_server.url, "reviewer")

    page.get_by_role("link", name="SLA", exact=True).click()
    page.get_by_label("High, New → moved on, hours").fill("6")     # due soon after 4 h 48 min
    page.get_by_role("button", name="Save targets").click()
    expect(page.locator("#messages")).to_contain_text("1 open request got new deadlines")
    screenshot("sla-policy")

    page.get_by_role("link", name="Requests", exact=True).click()
    page.locator("select[name=sla]").select_option("due_soon")
    expect(page).to_have_url(re.compile(r"sla=due_soon"))
    expect(page.locator("#request-table")).to_contain_text("A high offer five hours old")
    expect(page.locator("#request-table .sla-due_soon")).to_contain_text(re.compile(r"Due soon · (1 h|5\d min) left"))
    screenshot("request-list-sla")
