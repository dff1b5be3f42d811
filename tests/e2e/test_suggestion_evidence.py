"""A canon suggestion with its evidence in a real Chromium (issue 15, item 2): a HeadOffice reviewer
cites a lesson from a request's page, finds a decision by searching as they type, adds the request
itself by pasting its address, files the
suggestion with its change and reason, and reads the evidence as links on the review page, at
1366 and 390 px."""

from playwright.sync_api import Page, expect

from governance_app import services as gs
from governance_app.models import SuggestionEvidence
from requests_app.models import BrainRequest
from tests.e2e.test_headoffice_journeys import sign_in
from tests.engine import CANON_PROPOSED, actor, canon_document, new_request
from tests.factories import make_lesson

REASON = "Three Brains parked requests for a week while waiting on supplier data; a status would show it."


def test_a_reviewer_files_a_suggestion_with_evidence_and_reads_it_as_links(page: Page, live_server, owner,
                                                                          reviewer, screenshot):
    canon_document()
    stalled = new_request(actor(owner), request_title="Waiting on the supplier's data for a week")
    decision = gs.decision_record(actor=actor(reviewer), request=stalled, decision_summary="Hold until the data lands",
                                  reasoning="Nothing can be decided without the supplier's figures.")
    lesson = make_lesson(related_request=stalled, originating_brain_id="research",
                         insight="Requests waiting on outside data need a status of their own")
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url, "reviewer")

    # On the stalled request's page, "Cite" beside the lesson opens the form with it filled in.
    page.goto(f"{live_server.url}/requests/{stalled.pk}/")
    page.locator(f"#lesson-{lesson.pk}").get_by_role("link", name="Cite").click()
    evidence = page.get_by_label("Evidence (requests, decisions, lessons)")
    expect(evidence).to_have_value(f"lesson:{lesson.pk}")
    expect(page.get_by_label("Request type")).to_have_value("mcr_update_suggestion")

    page.get_by_label("To (destination Brain)").select_option("headoffice")
    page.get_by_label("Title", exact=True).fill("Add an awaiting_data status")
    page.get_by_label("Summary").fill("Requests waiting on third-party data need a status of their own.")
    page.get_by_label("Canon document to change").select_option("request-protocol")
    page.get_by_label("Proposed text").fill(CANON_PROPOSED)
    page.get_by_label("Reason for the change").fill(REASON)
    # The decision found by searching as one types, and added with a click.
    page.get_by_label("Find a request, decision or lesson").fill("Hold until")
    page.get_by_role("button", name="Add decision: Hold until the data lands").click()
    expect(evidence).to_have_value(f"lesson:{lesson.pk}\ndecision:{decision.pk}")
    # The request itself, by its address pasted on a line of its own.
    evidence.fill(f"{evidence.input_value()}\n{live_server.url}/requests/{stalled.pk}/")
    screenshot("suggestion-form-with-evidence")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot("suggestion-form-with-evidence-390")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_role("button", name="Send request").click()
    expect(page.locator("#messages")).to_contain_text("Add an awaiting_data status")

    filed = BrainRequest.objects.get(request_title="Add an awaiting_data status")
    assert [row.kind for row in SuggestionEvidence.objects.filter(request=filed).order_by("position")] == [
        "lesson", "decision", "request"]
    # The drill-down of the suggestion already shows what it rests on.
    expect(page.locator("#suggestion")).to_contain_text(REASON)
    expect(page.locator("#suggestion").get_by_role("link", name="Hold until the data lands")).to_be_visible()

    gs.feedback_classify(request=filed, actor=actor(reviewer), classification="propose_mcr_update",
                         note="A real gap seen in three workspaces; worth a canon change.")
    page.goto(f"{live_server.url}/feedback/")
    row = page.locator(f"#mcr-request-{filed.pk}")
    expect(row.get_by_role("link", name="Requests waiting on outside data need a status of their own")).to_be_visible()
    row.get_by_role("link", name="Review the change and decide").click()

    cited = page.locator("#evidence")
    expect(cited).to_contain_text(REASON)
    expect(page.locator("#change-title + p")).to_contain_text("Sections changed: Statuses.")
    expect(cited.get_by_role("link")).to_have_count(3)
    expect(cited.get_by_role("link", name="Waiting on the supplier's data for a week")).to_have_attribute(
        "href", f"/requests/{stalled.pk}/")
    screenshot("mcr-review-evidence-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    screenshot("mcr-review-evidence-390")

    # A link goes to the record it names: the decision, on its request's page.
    cited.get_by_role("link", name="Hold until the data lands").click()
    expect(page).to_have_url(f"{live_server.url}/requests/{stalled.pk}/#decision-{decision.pk}")
    expect(page.locator(f"#decision-{decision.pk}")).to_contain_text("Hold until the data lands")
