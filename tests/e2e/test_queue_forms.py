"""Queue pages whose row forms load when opened (issue 16), in a real Chromium: a reviewer opens an
escalation's "Resolve escalation", the form arrives in place and resolves it; a Brain owner's
inbox loads its new-request form when it comes into view and a row's Close form when opened, at
1366 and at 390 px without sideways scrolling."""

from playwright.sync_api import Page, expect

from requests_app import services as rs
from requests_app.models import BrainRequest, RequestStatus
from tests.e2e.test_headoffice_journeys import sign_in
from tests.e2e.test_walk_list_inbox import NO_SIDEWAYS_SCROLL
from tests.engine import actor, in_progress_request

def test_a_reviewer_opens_an_escalations_form_and_resolves_it(page: Page, live_server, owner, reviewer, other_owner,
                                                              screenshot):
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner),
                                  request_title="Test budget above the cap")
    rs.request_escalate(request=request, actor=actor(other_owner), escalation_owner="headoffice",
                        escalation_reason="The test budget is above the Brain's approved cap.")
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url, "reviewer")
    page.goto(f"{live_server.url}/escalations/")
    action = page.locator(f"#resolve-{request.pk}")
    expect(action.locator("form")).to_have_count(0)          # no form until it is opened
    screenshot("queue-forms-escalations-1366")
    action.locator("summary").click()
    expect(action.locator("[name=decision_summary]")).to_be_visible()
    screenshot("queue-forms-escalation-opened-1366")
    action.locator("[name=decision_summary]").fill("Run the test inside the existing cap")
    action.locator("[name=reasoning]").fill("Finance confirmed the cap; the test can run inside it.")
    action.get_by_role("button", name="Record the decision").click()
    expect(page.locator("#messages")).to_contain_text("Escalation resolved")
    assert BrainRequest.objects.get(pk=request.pk).status == RequestStatus.IN_PROGRESS

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/escalations/")
    expect(page.get_by_text("No escalations are waiting")).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)


def test_a_brain_owner_opens_a_rows_close_form_and_the_new_request_form_in_the_inbox(
        page: Page, live_server, owner, reviewer, other_owner, screenshot):
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner), request_title="Check the terms")
    rs.request_respond(request=request, actor=actor(other_owner), outcome_type="recommendation_delivered",
                       response_summary="Refund terms are 30 days, no restocking fee.")
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        sign_in(page, live_server.url, "research_owner") if width == 1366 else None
        page.goto(f"{live_server.url}/workspace/research/")
        row = page.locator(f"#act-{request.pk}")
        expect(row.locator("form")).to_have_count(0)
        row.locator("summary", has_text="Close").click()
        expect(row.locator("[name=close-result_summary]")).to_be_visible()
        page.locator("#new-request").scroll_into_view_if_needed()
        expect(page.locator("#new-request [name=request_title]")).to_be_visible()   # loaded when in view
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        screenshot(f"queue-forms-inbox-opened-{width}")
    row.locator("[name=close-outcome_type]").select_option("recommendation_delivered")
    row.locator("[name=close-result_summary]").fill("done")
    row.get_by_role("button", name="Close").click()
    # A refused close comes back on the drill-down with its form open (as before issue 16).
    expect(page.locator(f"#move-close-{request.pk}")).to_contain_text("'done' is a placeholder, not an outcome")
    assert BrainRequest.objects.get(pk=request.pk).status == RequestStatus.RESPONDED
