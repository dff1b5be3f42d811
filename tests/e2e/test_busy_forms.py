"""Every form is guarded once, in base.html and static/js/busy.js (issue 14, the walk's fixes): while a
form is being sent its submit buttons are disabled and the page says "Working…"; a named submit
button still sends its value; a second submit while the first is on its way sends nothing."""

import json
from urllib.parse import parse_qs

import pytest
from django.urls import reverse
from playwright.sync_api import Page, Route, expect

from requests_app.models import BrainRequest, RequestEvent
from tests.e2e.test_headoffice_journeys import sign_in
from tests.engine import actor, new_request


def hold(page: Page, pattern: str) -> list[Route]:
    """Hold every request to `pattern` until the test lets it go; the held routes, in order."""
    held: list[Route] = []
    page.route(pattern, lambda route: held.append(route))
    return held


def wait_for(page: Page, held: list[Route]) -> None:
    """Until the first request is held: the route handler runs while Playwright waits on the page."""
    for _ in range(100):
        if held:
            return
        page.wait_for_timeout(50)


# Run in the page before a plain form is sent: what it shows as the form is sent and 300 ms later,
# kept in sessionStorage, and a second submit of the same form at that moment.
RECORD_WHILE_SENT = """selector => {
    const form = document.querySelector(selector);
    const note = (when) => sessionStorage.setItem('busy-' + when, JSON.stringify({
        buttons: Array.from(form.querySelectorAll('button')).map(b => [b.textContent, b.disabled]),
        busy: form.getAttribute('aria-busy'),
        indicator: [document.getElementById('busy-indicator').hidden,
                    document.getElementById('busy-indicator').textContent]}));
    document.addEventListener('submit', () => {
        note('at-submit');
        setTimeout(() => { note('in-flight'); form.requestSubmit(); }, 300);
    }, {once: true});
}"""


def sent(route: Route) -> dict[str, list[str]]:
    return parse_qs(route.request.post_data or "", keep_blank_values=True)


@pytest.mark.parametrize("width", [1366, 390])
def test_a_plain_forms_named_button_sends_its_value_and_is_disabled_while_the_form_is_sent(
        page: Page, live_server, reviewer, owner, screenshot, width):
    request = new_request(actor(owner), request_title="Review the Voltcamp offer")
    sign_in(page, live_server.url, "reviewer")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url + reverse("requests:detail", args=[request.pk]))
    # The page is on its way to the answer while the request is held, and Playwright waits for that
    # answer before it reads the page again; so the page notes what it shows as the form is sent and
    # while it is in flight, where the next page can read it (sessionStorage), and tries to send it twice.
    page.evaluate(RECORD_WHILE_SENT, "#assignee form")
    held = hold(page, "**/assignee/")
    page.locator("#assignee").get_by_role("button", name="Assign to me").click(no_wait_after=True)
    wait_for(page, held)
    page.wait_for_timeout(800)
    # The button pressed picks the action: its name=value is in what was sent, once, after the select's.
    assert sent(held[0])["assignee"] == ["", str(reviewer.pk)]
    assert len(held) == 1   # the second submit, 300 ms in, sent nothing
    held[0].continue_()
    expect(page.locator("#messages")).to_contain_text("Assigned to")
    assert BrainRequest.objects.get(pk=request.pk).assignee_id == reviewer.pk
    assert RequestEvent.objects.filter(request=request, event_type="assigned").count() == 1
    noted = page.evaluate("() => [sessionStorage.getItem('busy-at-submit'), sessionStorage.getItem('busy-in-flight')]")
    disabled = {"buttons": [["Save", True], ["Assign to me", True]], "busy": "true", "indicator": [False, "Working…"]}
    assert [json.loads(n) for n in noted] == [disabled, disabled]
    # The new page's form is usable.
    expect(page.locator("#assignee").get_by_role("button", name="Save")).to_be_enabled()
    expect(page.locator("#busy-indicator")).to_be_hidden()
    screenshot(f"busy-plain-form-after-{width}")


def test_an_htmx_forms_named_button_sends_its_value_is_disabled_in_flight_and_a_second_submit_is_dropped(
        page: Page, live_server, reviewer, owner, screenshot):
    requests = [new_request(actor(owner), request_title=f"Review offer {name}") for name in ("Alder", "Birch")]
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url, "reviewer")
    page.goto(live_server.url + reverse("requests:list"))
    for r in requests:
        page.get_by_label(f"Select “{r.request_title}”").check()
    bar = page.locator("#bulk-form")
    bar.get_by_role("textbox", name="Note").first.fill("Checked in the Monday triage.")
    held = hold(page, "**/requests/bulk/")
    button = bar.get_by_role("button", name="Add the note")
    button.click()
    wait_for(page, held)
    assert len(held) == 1
    expect(button).to_be_disabled()
    expect(bar.get_by_role("button", name="Park them (needs the note)")).to_be_disabled()
    expect(page.locator("#busy-indicator")).to_be_visible()
    screenshot("busy-htmx-form")
    assert sent(held[0])["action"] == ["note"]
    assert page.evaluate("document.getElementById('bulk-form').getAttribute('aria-busy')") == "true"
    bar.evaluate("form => form.requestSubmit()")   # Enter, or a script: not sent twice
    held[0].continue_()
    expect(page.locator("#bulk-result")).to_contain_text("Add a note: 2 done")
    expect(button).to_be_enabled()
    expect(page.locator("#busy-indicator")).to_be_hidden()
    page.wait_for_timeout(500)
    assert len(held) == 1
    assert RequestEvent.objects.filter(request__in=requests, note="Checked in the Monday triage.").count() == 2
