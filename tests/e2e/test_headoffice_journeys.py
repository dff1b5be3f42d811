"""The product's main journeys in a real Chromium (issue 4): a reviewer works the queue and routes,
a Brain owner accepts and responds from the inbox, and a "done" outcome is refused on screen."""

import re

import pytest
from playwright.sync_api import Page, expect

from requests_app import services as rs
from requests_app.models import BrainRequest, RequestStatus
from tests.conftest import PASSWORD
from governance_app import services as gs
from tests.engine import actor, in_progress_request, new_request, routed_request, suggestion


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Dashboard")).to_be_visible()


@pytest.fixture
def parent_and_child(owner, other_owner, reviewer):
    parent = in_progress_request(actor(owner), actor(reviewer), actor(other_owner),
                                 request_title="Review portable power stations")
    child = new_request(actor(other_owner), destination="research", request_type="research_request",
                        request_title="Background on the Voltcamp 600", parent_request_id=str(parent.pk))
    new_request(actor(owner), request_title="An unrelated request still new")
    rs.request_submit(request=new_request(actor(owner), request_title="A request under review"),
                      actor=actor(owner))
    return parent, child


def test_a_reviewer_filters_the_queue_opens_a_request_sees_its_lineage_and_routes_it(
        page: Page, live_server, reviewer, parent_and_child, screenshot):
    parent, child = parent_and_child
    sign_in(page, live_server.url, "reviewer")
    # The Integrity and ping-pong queues arrive once the dashboard is shown (/dashboard/integrity/).
    expect(page.locator("#queue-integrity")).to_contain_text("No lineage problem in the requests changed lately.")
    expect(page.locator("#queue-ping-pong")).to_be_visible()
    screenshot("dashboard")

    page.get_by_role("link", name="Requests", exact=True).click()
    page.get_by_label("Status").select_option("new")
    # htmx swaps the table in place and keeps the filter in the address.
    expect(page).to_have_url(re.compile(r"status=new"))
    expect(page.locator("#request-table")).to_contain_text("Background on the Voltcamp 600")
    expect(page.locator("#request-table")).not_to_contain_text("A request under review")
    screenshot("request-list")

    page.get_by_role("link", name="Background on the Voltcamp 600").click()
    expect(page.get_by_role("heading", name="Background on the Voltcamp 600")).to_be_visible()
    expect(page.locator(".chain")).to_contain_text("Review portable power stations")
    screenshot("request-detail")

    page.locator("summary", has_text="Route").click()
    page.locator("#move-route-" + str(child.pk)).get_by_label("Review owner").select_option("headoffice")
    page.locator("#move-route-" + str(child.pk)).get_by_role("button", name="Route").click()
    expect(page.locator("#messages")).to_contain_text("Request sent to Research Brain; HeadOffice reviews it.")
    assert BrainRequest.objects.get(pk=child.pk).status == RequestStatus.ROUTED


def test_a_brain_owner_accepts_and_responds_from_the_inbox(page: Page, live_server, owner, other_owner, reviewer,
                                                          screenshot):
    request = routed_request(actor(owner), actor(reviewer), request_title="Score the Voltcamp offer")
    sign_in(page, live_server.url, "affiliate_owner")
    page.get_by_role("link", name="Affiliate inbox", exact=True).click()
    row = page.locator(f"#act-{request.pk}")  # the inbox's "To act on" list
    row.get_by_role("button", name="Accept").click()
    expect(page.locator("#messages")).to_contain_text("Accepted: Affiliate Brain is working on it.")
    screenshot("workspace-inbox")

    row = page.locator(f"#act-{request.pk}")  # the inbox's "To act on" list
    row.locator("summary", has_text="Respond").click()
    row.get_by_label("Response summary").fill("Strong offer: 38% margin, refund rate under 3%. Recommend a test.")
    row.get_by_label("Outcome type").select_option("recommendation_delivered")
    row.get_by_role("button", name="Respond").click()
    expect(page.locator("#messages")).to_contain_text("Response sent to Research Brain.")
    assert BrainRequest.objects.get(pk=request.pk).status == RequestStatus.RESPONDED


def test_closing_with_done_shows_the_refusal_and_keeps_the_request_open(page: Page, live_server, owner, other_owner,
                                                                       reviewer, screenshot):
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner),
                                  request_title="Check the refund terms")
    rs.request_respond(request=request, actor=actor(other_owner), outcome_type="recommendation_delivered",
                       response_summary="Refund terms are 30 days, no restocking fee.")
    sign_in(page, live_server.url, "research_owner")
    page.goto(f"{live_server.url}/requests/{request.pk}/")
    form = page.locator(f"#move-close-{request.pk}")
    form.locator(":scope > summary").click()
    field = lambda name: form.locator(f"[name=close-{name}]")  # noqa: E731
    field("outcome_type").select_option("recommendation_delivered")
    field("result_summary").fill("done")
    field("outcome_decision").fill("Proceed with the offer under standard terms.")
    field("outcome_evidence").fill("https://affiliate.example.org/supplier-terms.pdf")
    field("next_step").fill("Affiliate adds the offer to the test queue.")
    field("next_step_owner").fill("affiliate")
    field("head_office_review_required").select_option("false")
    form.get_by_role("button", name="Close").click()

    form = page.locator(f"#move-close-{request.pk}")
    expect(form).to_contain_text("'done' is a placeholder, not an outcome")
    expect(form.locator("[name=close-outcome_evidence]")).to_have_value("https://affiliate.example.org/supplier-terms.pdf")
    screenshot("close-refused")
    assert BrainRequest.objects.get(pk=request.pk).status == RequestStatus.RESPONDED


def test_headoffice_classifies_feedback_reads_the_diff_approves_and_sees_the_new_version(page: Page, live_server,
                                                                                       owner, reviewer, screenshot):
    request = suggestion(actor(owner), mcr_update_suggested=True, request_title="Add an awaiting_data status",
                         request_summary="Three Brains park requests while waiting on third-party data.")
    sign_in(page, live_server.url, "reviewer")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Feedback & MCR").click()
    screenshot("feedback")

    classify = page.locator(f"#classify-{request.pk}")
    classify.locator("summary").click()
    classify.get_by_label("Propose MCR update").check()
    classify.locator("[name=note]").fill("A real gap seen in three workspaces; worth a canon change.")
    classify.get_by_role("button", name="Record the classification").click()
    expect(page.locator("#messages")).to_contain_text("Propose MCR update")
    request.refresh_from_db()
    assert (request.status, request.mcr_update_status) == ("awaiting_mcr_decision", "proposed")

    page.goto(f"{live_server.url}/feedback/")
    page.locator(f"#mcr-{request.pk}").get_by_role("link", name="Review the change and decide").click()
    diff = page.get_by_role("table", name="Current and proposed text side by side")
    expect(diff.locator("tr.sbs-change td.sbs-left")).to_have_text("new, routed, closed.")
    expect(diff.locator("tr.sbs-change td.sbs-right")).to_have_text("new, routed, awaiting_data, closed.")
    expect(page.locator("#impact")).to_contain_text("Open requests now")
    screenshot("mcr-approval-screen")
    decide = page.locator("#mcr-decision-form")
    decide.get_by_label("Approved").check()
    decide.locator("[name=reasoning]").fill("Approved: the evidence from three workspaces is consistent.")
    decide.get_by_role("button", name="Record the MCR decision").click()

    expect(page.locator("#messages")).to_contain_text("Request Protocol is now v1.3")
    expect(page.locator(".page-head h1")).to_have_text("Request Protocol")
    expect(page.locator(".canon-text")).to_contain_text("new, routed, awaiting_data, closed.")
    expect(page.locator("#version-v1\\.3")).to_contain_text("in force")
    request.refresh_from_db()
    assert (request.status, request.mcr_update_status) == ("closed", "approved")
    screenshot("mcr-approved")


def test_a_brain_owner_reads_the_canon_but_has_no_way_to_amend_it(page: Page, live_server, owner, reviewer):
    request = suggestion(actor(owner))
    gs.feedback_classify(request=request, actor=actor(reviewer), classification="propose_mcr_update",
                         note="A real gap seen in three workspaces; worth a canon change.")
    sign_in(page, live_server.url, "research_owner")
    page.goto(f"{live_server.url}/canon/request-protocol/")
    expect(page.locator(".canon-text")).to_contain_text("new, routed, closed.")
    expect(page.get_by_text("Roll back")).to_have_count(0)
    page.goto(f"{live_server.url}/feedback/{request.pk}/mcr/")
    expect(page.get_by_role("table", name="Current and proposed text side by side")).to_be_visible()
    expect(page.locator("[name=decision]")).to_have_count(0)
    expect(page.locator("[name=proposed_text]")).to_have_count(0)
