"""The drill-down as a Brain owner uses it (issue 14, the walk's fixes): closing a request by picking
its evidence from the lineage, and reading that evidence on the closed request, at 1366 and 390 px."""

import re

from playwright.sync_api import Page, expect

from requests_app import services as rs
from requests_app.models import BrainRequest, RequestStatus
from tests.engine import actor, new_request
from tests.e2e.conftest import SCREENSHOT_DIR
from tests.e2e.test_headoffice_journeys import sign_in
from tests.requests_app.test_drilldown import responded_with_artifact


def test_a_brain_owner_closes_a_request_picking_evidence_from_the_lineage(page: Page, live_server, owner, reviewer,
                                                                          other_owner, screenshot):
    request, artifact = responded_with_artifact(owner, reviewer, other_owner, title="Check the refund terms",
                                                summary="Refund terms scorecard")
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url, "research_owner")
    page.goto(f"{live_server.url}/requests/{request.pk}/")
    # The lineage check arrives once the page is shown (requests_app.views.request_integrity).
    expect(page.locator("#integrity")).to_contain_text("Verified.")
    expect(page.locator("#integrity")).not_to_have_attribute("aria-busy", "true")
    form = page.locator(f"#move-close-{request.pk}")
    expect(form.locator(":scope > summary")).to_contain_text("the next step")  # the one emphasised
    form.locator(":scope > summary").click()
    expect(form.get_by_label("Outcome type")).to_have_value("recommendation_delivered")  # from the response
    field = lambda name: form.locator(f"[name=close-{name}]")  # noqa: E731
    field("result_summary").fill("Refund terms checked: 30 days, no restocking fee, paid within a week.")
    field("outcome_decision").fill("Proceed with the offer under standard terms.")
    form.get_by_role("checkbox", name=re.compile(r"^scorecard: Refund terms scorecard")).check()
    field("next_step").fill("Affiliate adds the offer to the test queue.")
    field("next_step_owner").fill("affiliate")
    field("head_office_review_required").select_option("false")
    screenshot("close-picking-evidence")
    form.get_by_role("button", name="Close").click()

    expect(page.locator("#messages")).to_contain_text("Request closed with its outcome.")
    evidence = page.locator("ul.evidence li")
    expect(evidence).to_have_count(1)
    expect(evidence.first).to_contain_text("Artifact")
    link = evidence.first.get_by_role("link", name="scorecard: Refund terms scorecard")
    expect(link).to_have_attribute("href", f"#artifact-{artifact.pk}")
    expect(page.locator("#actions")).to_contain_text("This request is closed.")
    screenshot("closed-request-1366")
    assert BrainRequest.objects.get(pk=request.pk).status == RequestStatus.CLOSED

    link.click()
    expect(page.locator(f"#artifact-{artifact.pk}")).to_be_in_viewport()

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/requests/{request.pk}/")
    actions, timeline = page.locator("#actions").bounding_box(), page.locator("#timeline").bounding_box()
    assert actions["y"] < timeline["y"], "on a phone, What you can do comes before the timeline"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    screenshot("closed-request-390")


def test_a_refused_close_scrolls_to_its_form_and_focuses_the_failing_field(page: Page, live_server, owner, reviewer,
                                                                           other_owner, screenshot):
    request, _artifact = responded_with_artifact(owner, reviewer, other_owner, title="Check the supplier terms")
    sign_in(page, live_server.url, "research_owner")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/requests/{request.pk}/")
    form = page.locator(f"#move-close-{request.pk}")
    form.locator(":scope > summary").click()
    form.locator("[name=close-result_summary]").fill("done")
    form.locator("[name=close-outcome_evidence]").fill("https://affiliate.example.org/supplier-terms.pdf")
    form.get_by_role("button", name="Close").click()

    form = page.locator(f"#move-close-{request.pk}")
    expect(form).to_contain_text("'done' is a placeholder, not an outcome")
    expect(form.locator("[name=close-result_summary]")).to_be_focused()
    expect(form).to_be_in_viewport()
    screenshot("close-refused-390")
    assert BrainRequest.objects.get(pk=request.pk).status == RequestStatus.RESPONDED


def test_a_reviewer_opens_a_move_form_that_loads_when_opened_and_rejects_with_evidence(page: Page, live_server, owner,
                                                                                       reviewer, screenshot):
    request = new_request(actor(owner), request_title="A duplicate of the Voltcamp review")
    noted = rs.request_note_add(request=request, actor=actor(reviewer), note="Same offer as last week's request")
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url, "reviewer")
    page.goto(f"{live_server.url}/requests/{request.pk}/")
    actions = page.locator("#actions")
    expect(actions.locator(f"#move-route-{request.pk} > summary")).to_contain_text("the next step")
    reject = page.locator(f"#move-reject-{request.pk}")
    expect(reject.locator("[name=reject-result_summary]")).to_have_count(0)  # issue 16: loaded when opened
    screenshot("drilldown-actions-folded")
    reject.locator(":scope > summary").click()
    field = lambda name: reject.locator(f"[name=reject-{name}]")  # noqa: E731
    expect(field("next_step_owner")).to_have_value("research")     # prefilled as the drill-down's was
    field("outcome_type").select_option("rejected")
    field("result_summary").fill("Checked against last week's request: the same offer, the same supplier.")
    field("outcome_decision").fill("Reject as a duplicate; the earlier request goes on.")
    reject.locator("details.evidence-events summary").click()
    reject.get_by_role("checkbox", name=re.compile(r"^Note,")).check()
    field("next_step").fill("Research follows the earlier request instead.")
    field("head_office_review_required").select_option("false")
    screenshot("drilldown-reject-loaded")
    reject.get_by_role("button", name="Reject").click()

    expect(page.locator("#messages")).to_contain_text("Request rejected; Research Brain sees the outcome.")
    evidence = page.locator("ul.evidence li")
    expect(evidence).to_have_count(1)
    expect(evidence.first.get_by_role("link")).to_have_attribute("href", f"#event-{noted.pk}")
    screenshot("drilldown-rejected")
    rejected = BrainRequest.objects.get(pk=request.pk)
    assert rejected.status == RequestStatus.REJECTED
    assert rejected.outcome_evidence == [{"kind": "request_event", "id": str(noted.pk)}]


def test_without_javascript_a_move_form_not_drawn_opens_on_the_drill_down_and_is_sent(browser, live_server, owner,
                                                                                      reviewer):
    request = new_request(actor(owner), request_title="An offer to park until the supplier answers")
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, live_server.url, "reviewer")
        page.goto(f"{live_server.url}/requests/{request.pk}/")
        park = page.locator(f"#move-park-{request.pk}")
        park.locator(":scope > summary").click()                 # a <details> opens without JavaScript
        park.get_by_role("link", name="Open the form").click()
        expect(page).to_have_url(re.compile(rf"\?move=park#move-park-{request.pk}$"))
        park = page.locator(f"#move-park-{request.pk}")
        expect(park).to_have_attribute("open", "")
        park.locator("[name=park-note]").fill("Parked until the supplier sends its terms.")
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)  # this page, not the `screenshot` fixture's
        page.screenshot(path=str(SCREENSHOT_DIR / "drilldown-no-js-park-opened.png"), full_page=True)
        park.get_by_role("button", name="Park").click()
        expect(page.locator("#messages")).to_contain_text("Request parked.")
    finally:
        context.close()
    assert BrainRequest.objects.get(pk=request.pk).status == RequestStatus.PARKED
