"""Escalation review: the queue with reason, owner and age, and resolving one by a recorded decision
that continues, closes or blocks the request (connector "standard escalation chain")."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from governance_app.models import DecisionKind, DecisionRecord
from requests_app import services as rs
from requests_app.models import BrainRequest, RequestEvent, RequestStatus
from tests.conftest import said
from tests.engine import OUTCOME, actor, in_progress_request
from tests.factories import request_fields_for

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
URL = reverse("governance:escalations")
WHY = "Finance confirmed the cap; the test can run inside it without further review."
REFUSED = "The resolution was not saved: see the message next to the form."


def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def escalated(owner, reviewer, other_owner) -> BrainRequest:
    """Research asked Affiliate; Affiliate, working on it, escalated it to HeadOffice."""
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner),
                                  request_title="Test budget above the cap")
    return rs.request_escalate(request=request, actor=actor(other_owner), escalation_owner="headoffice",
                               escalation_reason="The test budget is above the Brain's approved cap.")


def request_row(request: BrainRequest) -> dict:
    """What a refused resolution must leave as it was: the request's columns, events and decisions."""
    return {"request": BrainRequest.objects.filter(pk=request.pk).values().get(),
            "events": RequestEvent.objects.filter(request_id=request.pk).count(),
            "decisions": DecisionRecord.objects.filter(related_request_id=request.pk).count()}


def bound_form(page, request: BrainRequest):
    """The refused resolution form, shown again on its request's row."""
    forms = [form for row, form, _may in page.context["rows"] if row.pk == request.pk]
    assert len(forms) == 1 and forms[0] is not None and forms[0].is_bound
    return forms[0]


def resolve_url(request: BrainRequest) -> str:
    return reverse("governance:escalation_resolve", args=[request.pk])


def resolution(request: BrainRequest, **fields) -> dict:
    return {"resolution": "continue", "decision_summary": "Run the test inside the existing cap",
            "reasoning": WHY, "lock_version": request.lock_version, "next": URL, **fields}


# --- the queue ---------------------------------------------------------------------------------------

def test_it_lists_escalations_with_reason_owner_age_and_the_resolve_action(client, reviewer, escalated):
    page = signed_in(client, reviewer).get(URL)
    assert page.status_code == 200
    for text in ("Test budget above the cap", "above the Brain&#x27;s approved cap", "HeadOffice",
                 f'id="resolve-{escalated.pk}"', f'hx-get="{resolve_url(escalated)}"',
                 f'<a href="{resolve_url(escalated)}">Open the form</a>'):
        assert text in page.text
    # The page renders no form (issue 16): each is loaded when its row's action is opened.
    assert "<form" not in page.text.split('id="escalation-list"')[1].split("</main>")[0]


def test_opening_the_action_loads_the_form_returning_to_the_page_it_was_opened_on(client, reviewer, escalated):
    page = signed_in(client, reviewer).get(resolve_url(escalated), HTTP_HX_CURRENT_URL=f"http://testserver{URL}?page=2",
                                            **HTMX)
    assert page.status_code == 200 and "HX-Request" in page["Vary"]
    assert page.text.lstrip().startswith(f'<form method="post" action="{resolve_url(escalated)}"')
    assert f'name="next" value="{URL}?page=2"' in page.text and 'name="decision_summary"' in page.text
    assert f'name="lock_version" value="{escalated.lock_version}"' in page.text


def test_a_form_loaded_from_another_site_returns_to_the_queue(client, reviewer, escalated):
    page = signed_in(client, reviewer).get(resolve_url(escalated), HTTP_HX_CURRENT_URL="https://evil.example/x",
                                            **HTMX)
    assert f'name="next" value="{URL}"' in page.text


def test_without_javascript_the_form_opens_on_the_queue(client, reviewer, escalated):
    page = signed_in(client, reviewer).get(resolve_url(escalated))
    assert page.status_code == 200 and "<html" in page.text
    assert f'<details class="action" id="resolve-{escalated.pk}" open>' in page.text
    assert f'action="{resolve_url(escalated)}"' in page.text and f'name="next" value="{URL}"' in page.text


def test_the_form_is_404_for_a_brain_that_may_not_resolve(client, other_owner, escalated):
    assert signed_in(client, other_owner).get(resolve_url(escalated), **HTMX).status_code == 404


def test_the_form_is_404_for_the_outsider(client, outsider, escalated):
    assert signed_in(client, outsider).get(resolve_url(escalated), **HTMX).status_code == 404


def test_a_brain_that_is_not_the_escalation_owner_sees_it_without_the_form(client, other_owner, escalated):
    page = signed_in(client, other_owner).get(URL)
    assert "Test budget above the cap" in page.text
    assert f'id="resolve-{escalated.pk}"' not in page.text and "can resolve this escalation" in page.text


def test_the_outsider_sees_no_escalation(client, outsider, escalated):
    page = signed_in(client, outsider).get(URL)
    assert "Test budget above the cap" not in page.text and "No escalations are waiting" in page.text


def test_the_htmx_request_gets_only_the_list(client, reviewer, escalated):
    page = signed_in(client, reviewer).get(URL, **HTMX)
    assert page.text.lstrip().startswith('<div id="escalation-list"') and "<html" not in page.text
    assert "HX-Request" in page["Vary"]


def test_the_queue_rejects_post(client, reviewer):
    assert signed_in(client, reviewer).post(URL).status_code == 405


def test_the_queue_sends_anonymous_visitors_to_sign_in(client):
    page = client.get(URL)
    assert page.status_code == 302 and page["Location"].startswith(reverse("login"))


# --- resolving ---------------------------------------------------------------------------------------

def test_continuing_records_the_decision_and_returns_the_request_to_work(client, reviewer, escalated):
    page = signed_in(client, reviewer).post(resolve_url(escalated), resolution(escalated))
    assert page.status_code == 302 and page["Location"] == URL
    decision = DecisionRecord.objects.get(related_request=escalated)
    assert (decision.decision_kind, decision.authority_id) == (DecisionKind.ESCALATION_RESOLUTION, "headoffice")
    assert BrainRequest.objects.get(pk=escalated.pk).status == RequestStatus.IN_PROGRESS
    assert "Escalation resolved" in client.get(URL).text


def test_closing_takes_the_complete_outcome(client, reviewer, escalated):
    outcome = {**OUTCOME, "outcome_evidence": "\n".join(OUTCOME["outcome_evidence"]),
               "head_office_review_required": "false"}
    signed_in(client, reviewer).post(resolve_url(escalated), resolution(escalated, resolution="close", **outcome))
    closed = BrainRequest.objects.get(pk=escalated.pk)
    assert closed.status == RequestStatus.CLOSED and closed.result_summary == OUTCOME["result_summary"]
    # The resolving decision is part of the evidence.
    assert {"kind": "decision", "id": str(DecisionRecord.objects.get(related_request=escalated).pk)} in \
        closed.outcome_evidence


def test_closing_picks_evidence_from_the_requests_own_records(client, reviewer, escalated):
    escalation = RequestEvent.objects.filter(request=escalated, to_status=RequestStatus.ESCALATED).get()
    # The row's form is loaded when its action is opened (issue 16), with its picker.
    page = signed_in(client, reviewer).get(resolve_url(escalated), HTTP_HX_REQUEST="true")
    form = page.context["form"]
    titles = dict(form.fields["evidence_records"].choices)
    assert titles[str(escalation.pk)].startswith("Status changed, ")   # by kind, when and summary, not an id
    assert titles[str(escalation.pk)].endswith("In progress → Escalated")
    assert f'name="evidence_records" value="{escalation.pk}"' in page.text
    assert "External evidence" in page.text
    outcome = {**OUTCOME, "outcome_evidence": "", "head_office_review_required": "false",
               "evidence_records": [str(escalation.pk)]}
    page = client.post(resolve_url(escalated), resolution(escalated, resolution="close", **outcome))
    assert page.status_code == 302
    closed = BrainRequest.objects.get(pk=escalated.pk)
    decision = DecisionRecord.objects.get(related_request=escalated)
    assert closed.outcome_evidence == [{"kind": "request_event", "id": str(escalation.pk)},
                                       {"kind": "decision", "id": str(decision.pk)}]


def test_a_refused_close_shows_the_picker_again_with_the_ticks_kept(client, reviewer, escalated):
    escalation = RequestEvent.objects.filter(request=escalated, to_status=RequestStatus.ESCALATED).get()
    before = request_row(escalated)
    outcome = {**OUTCOME, "outcome_evidence": "", "result_summary": "done", "head_office_review_required": "false",
               "evidence_records": [str(escalation.pk)]}
    page = signed_in(client, reviewer).post(resolve_url(escalated),
                                            resolution(escalated, resolution="close", **outcome))
    assert page.status_code == 200 and "placeholder, not an outcome" in page.text
    assert f'name="evidence_records" value="{escalation.pk}" checked' in page.text
    assert request_row(escalated) == before


def bound_or_blank_form(page, request: BrainRequest):
    return next(form for row, form in page.context["rows"] if row.pk == request.pk)


def test_blocking_holds_the_request(client, reviewer, escalated):
    signed_in(client, reviewer).post(resolve_url(escalated), resolution(escalated, resolution="block"))
    assert BrainRequest.objects.get(pk=escalated.pk).status == RequestStatus.BLOCKED


def test_a_placeholder_outcome_is_refused_next_to_its_field_and_changes_nothing(client, reviewer, escalated):
    outcome = {**OUTCOME, "outcome_evidence": "DOS-2026-11 in Affiliate Workspace", "result_summary": "done",
               "head_office_review_required": "false"}
    before = request_row(escalated)
    page = signed_in(client, reviewer).post(resolve_url(escalated),
                                            resolution(escalated, resolution="close", **outcome))
    assert page.status_code == 200
    assert "placeholder, not an outcome" in page.text and 'class="field-error"' in page.text
    assert "Run the test inside the existing cap" in page.text      # the input is kept
    assert BrainRequest.objects.get(pk=escalated.pk).status == RequestStatus.ESCALATED
    assert not DecisionRecord.objects.exists()
    errors = bound_form(page, escalated).errors
    assert list(errors) == ["result_summary"] and "placeholder, not an outcome" in errors["result_summary"][0]
    assert f'<ul class="field-error"><li>{escape(errors["result_summary"][0])}' in page.text   # by its field
    assert said(page) == [REFUSED] and REFUSED in page.text
    assert request_row(escalated) == before


def test_a_brain_that_is_not_the_escalation_owner_is_refused(client, other_owner, escalated):
    before = request_row(escalated)
    page = signed_in(client, other_owner).post(resolve_url(escalated), resolution(escalated))
    assert page.status_code == 200 and "needs one of these roles" in page.text
    assert BrainRequest.objects.get(pk=escalated.pk).status == RequestStatus.ESCALATED
    assert bound_form(page, escalated).errors == {
        "__all__": ["Resolve escalation needs one of these roles on this request: escalation owner, head office."]}
    assert said(page) == [REFUSED]
    assert request_row(escalated) == before


def test_resolving_is_404_for_the_outsider(client, outsider, escalated):
    before = request_row(escalated)
    page = signed_in(client, outsider).post(resolve_url(escalated), resolution(escalated))
    assert page.status_code == 404
    assert BrainRequest.objects.get(pk=escalated.pk).status == RequestStatus.ESCALATED
    assert request_row(escalated) == before


def test_resolving_rejects_put(client, reviewer, escalated):
    assert signed_in(client, reviewer).put(resolve_url(escalated)).status_code == 405


def test_resolving_sends_anonymous_visitors_to_sign_in(client, escalated):
    before = request_row(escalated)
    page = client.post(resolve_url(escalated), resolution(escalated))
    assert page.status_code == 302 and page["Location"].startswith(reverse("login"))
    assert BrainRequest.objects.get(pk=escalated.pk).status == RequestStatus.ESCALATED
    assert request_row(escalated) == before


def test_an_unsafe_next_falls_back_to_the_drill_down(client, reviewer, escalated):
    page = signed_in(client, reviewer).post(resolve_url(escalated),
                                            resolution(escalated, next="https://evil.example/"))
    assert page["Location"] == reverse("requests:detail", args=[escalated.pk])


@pytest.mark.parametrize("rows", [5, 200])
def test_the_query_count_does_not_grow_with_rows(client, reviewer, rows, django_assert_max_num_queries):
    BrainRequest.objects.bulk_create([BrainRequest(
        requesting_authority="research", requesting_brain_id="research", target_brain_id="affiliate",
        request_type="offer_review_request", request_title=f"Offer {i}", request_summary="Review this offer please.",
        required_output="", status=RequestStatus.ESCALATED, **request_fields_for(RequestStatus.ESCALATED))
        for i in range(rows)])
    signed_in(client, reviewer)
    # +1: the nav's saved views; +4: the rows' evidence pickers, one query each for artifacts,
    # decisions, request events and task events of every row shown (issue 14).
    with django_assert_max_num_queries(10):
        page = client.get(URL)
    assert page.status_code == 200 and len(page.context["rows"]) == min(rows, 25)
