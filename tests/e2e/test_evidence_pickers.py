"""Evidence picked, not typed, where a request closes or is rejected away from its drill-down (issue 14):
HeadOffice resolves an escalation by closing it with the request's own escalation event ticked, and
rejects two requests in bulk with each citing its own latest event; the timeline names people; at
1366 and 390 px."""

import re

import pytest
from playwright.sync_api import Page, expect

from requests_app import services as rs
from requests_app.models import BrainRequest, RequestEvent, RequestStatus
from tests.e2e.test_headoffice_journeys import sign_in
from tests.engine import OUTCOME, actor, in_progress_request, new_request


@pytest.mark.parametrize("width", [1366, 390])
def test_headoffice_closes_an_escalation_ticking_the_requests_own_event(page: Page, live_server, owner, reviewer,
                                                                        other_owner, screenshot, width):
    reviewer.first_name, reviewer.last_name = "Hana", "Okafor"
    reviewer.save()
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner),
                                  request_title="Test budget above the cap")
    request = rs.request_escalate(request=request, actor=actor(other_owner), escalation_owner="headoffice",
                                  escalation_reason="The test budget is above the Brain's approved cap.")
    escalation = RequestEvent.objects.get(request=request, to_status=RequestStatus.ESCALATED)
    sign_in(page, live_server.url, "reviewer")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/escalations/")
    panel = page.locator(f"#resolve-{request.pk}")
    panel.locator("summary").first.click()
    panel.get_by_role("radio", name=re.compile(r"^Close")).check()
    panel.get_by_label("The decision", exact=True).fill("Close: the cap stands, the test is not run")
    panel.get_by_label("Reasoning").fill("Finance confirmed the cap; a larger test needs a new budget request.")
    panel.get_by_label("Outcome type").select_option("decision_recorded")
    panel.get_by_label("What was completed or found").fill("The budget was checked against the cap and refused.")
    panel.get_by_label("The decision made").fill("The test is not run at this budget.")
    panel.locator("details.evidence-events summary").click()
    box = panel.get_by_role("checkbox", name=re.compile(r"^Status changed, .*In progress → Escalated"))
    box.check()
    panel.get_by_label("Next step", exact=True).fill("Affiliate proposes a test inside the cap.")
    panel.get_by_label("Who owns the next step").fill("affiliate")
    panel.get_by_label("HeadOffice review required?").select_option("false")
    screenshot(f"escalation-close-picking-evidence-{width}")
    panel.get_by_role("button", name="Record the decision").click()

    expect(page.locator("#messages")).to_contain_text("Escalation resolved")
    closed = BrainRequest.objects.get(pk=request.pk)
    assert closed.status == RequestStatus.CLOSED
    assert closed.outcome_evidence[0] == {"kind": "request_event", "id": str(escalation.pk)}

    # Its drill-down: the evidence by kind and title, and the people in the timeline by name.
    page.goto(f"{live_server.url}/requests/{request.pk}/")
    expect(page.locator("ul.evidence li").first).to_contain_text("In progress → Escalated")
    by = page.locator("#timeline").get_by_text("Hana Okafor").first
    expect(by).to_have_attribute("title", "reviewer")
    screenshot(f"drilldown-timeline-names-{width}")


@pytest.mark.parametrize("width", [1366, 390])
def test_a_bulk_reject_has_each_request_cite_its_own_latest_event(page: Page, live_server, owner, reviewer,
                                                                  screenshot, width):
    requests = [new_request(actor(owner), request_title=f"Duplicate offer {name}") for name in ("Alder", "Birch")]
    final = new_request(actor(owner), request_title="Duplicate offer Cedar")
    rs.request_reject(request=final, actor=actor(reviewer), **OUTCOME)
    sign_in(page, live_server.url, "reviewer")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/requests/")
    for title in ("Alder", "Birch", "Cedar"):
        page.get_by_label(f"Select “Duplicate offer {title}”").check()
    bar = page.locator("#bulk-form")
    bar.locator("summary", has_text="Reject").click()
    expect(bar.get_by_label("Each request cites its own latest event as evidence")).to_be_checked()
    field = lambda name: bar.locator(f"[name={name}]")  # noqa: E731
    field("outcome_type").select_option("rejected")
    field("result_summary").fill("Both duplicate an offer already under review.")
    field("outcome_decision").fill("Rejected as duplicates; the first request goes on.")
    field("next_step").fill("Research follows the first request.")
    field("next_step_owner").fill("research")
    field("head_office_review_required").select_option("false")
    field("closure_reason").fill("Duplicates of an offer already under review.")  # and the Brains' suggestions close
    screenshot(f"bulk-reject-evidence-{width}")
    bar.get_by_role("button", name="Reject them").click()

    result = page.locator("#bulk-result")
    expect(result).to_contain_text("Reject: 2 done, 1 refused")
    expect(result.locator("#bulk-refused")).to_contain_text("Duplicate offer Cedar — This request is rejected")
    screenshot(f"bulk-reject-result-{width}")
    for r in requests:
        latest = RequestEvent.objects.filter(request=r).order_by("chain_seq").first()  # the latest before the reject
        stored = BrainRequest.objects.get(pk=r.pk)
        assert stored.status == RequestStatus.REJECTED
        assert stored.outcome_evidence == [{"kind": "request_event", "id": str(latest.pk)}]
