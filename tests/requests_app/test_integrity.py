"""The lineage check (requests_app.integrity, issue 13): what each check finds, the closing guard in
the services, the API and the drill-down, the accepted forms of external evidence, the dashboard's
Integrity and ping-pong queues, and another tenant's findings never showing.

Broken lineages are made the way other clients of the database could make them: rows written
straight through the ORM (no service, no event), and columns of the mutable request row changed
in place.
"""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse

from governance_app.kernel.errors import DomainError, Refusal
from governance_app.models import DecisionRecord, TokenRole
from requests_app import services as rs
from requests_app.integrity import lineage_findings, request_findings
from requests_app.models import BrainRequest, RequestEvent, RequestStatus
from tests.api_client import api_as
from tests.conftest import PASSWORD
from tests.db_roles import acting_for
from tests.engine import OUTCOME, actor, in_progress_request, new_request
from tests.factories import make_lesson, make_request, make_task, make_task_artifact

pytestmark = pytest.mark.django_db


def orphan_decision(tenant_id=None, summary: str = "Proceed with DE and FR only.") -> DecisionRecord:
    """A decision attached to no request, task or decision, as a direct writer could insert it."""
    from governance_app.kernel.db import DEFAULT_TENANT_ID
    return DecisionRecord.objects.create(tenant_id=tenant_id or DEFAULT_TENANT_ID, authority_id="headoffice",
                                         decision_summary=summary, reasoning="UK demand is flat.")


def codes(findings) -> list[tuple[str, str]]:
    return sorted((f.code, f.row_id) for f in findings)


def tenant_findings(tenant_id=None):
    from governance_app.kernel.db import DEFAULT_TENANT_ID
    return list(lineage_findings(tenant_id=tenant_id or DEFAULT_TENANT_ID))


def responded(owner, reviewer, other_owner, **extra) -> BrainRequest:
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner), **extra)
    return rs.request_respond(request=request, actor=actor(other_owner), outcome_type="recommendation_delivered",
                              response_summary="Demand is rising in DE and FR; UK is flat.")


def child_of(parent: BrainRequest, by) -> BrainRequest:
    return new_request(actor(by), destination="research", request_type="data_validation_request",
                       parent_request_id=parent.pk, request_title="Validate the refund rate first")


# --- what a healthy lineage gives ---------------------------------------------------------------

def test_a_lineage_made_by_the_services_is_verified(owner, reviewer, other_owner):
    request = rs.request_close(request=responded(owner, reviewer, other_owner), actor=actor(owner), **OUTCOME)
    assert request_findings(request=request) == []
    assert tenant_findings() == []


# --- each check -----------------------------------------------------------------------------------

def test_a_request_without_its_created_event_is_named(brains):
    written = make_request()   # straight into the table: no event at all
    [finding] = request_findings(request=written)
    assert (finding.code, finding.table, finding.row_id) == ("missing_created_event", "mwms_brain_requests",
                                                             str(written.pk))
    assert "has no `created` event" in finding.message and not finding.blocking


def test_a_status_changed_without_its_event_is_named(owner):
    request = new_request(actor(owner))
    BrainRequest.objects.filter(pk=request.pk).update(status=RequestStatus.UNDER_REVIEW, review_owner_id="headoffice")
    [finding] = request_findings(request=request)
    assert finding.code == "status_without_event"
    assert finding.message.startswith("its status is under_review but its latest status event moved it to new")


def test_a_closed_request_with_an_open_task_is_named_and_blocking(owner, reviewer, other_owner):
    request = rs.request_close(request=responded(owner, reviewer, other_owner), actor=actor(owner), **OUTCOME)
    task = make_task(request=request, title="Late follow-up")   # queued, under a closed request
    [finding] = request_findings(request=request)
    assert (finding.code, finding.table, finding.row_id, finding.blocking) == ("open_task", "mwms_tasks",
                                                                               str(task.pk), True)
    assert "“Late follow-up” is still queued" in finding.message


def test_a_closed_request_with_a_child_opened_before_it_closed_is_named(owner, reviewer, other_owner):
    parent = rs.request_close(request=responded(owner, reviewer, other_owner), actor=actor(owner), **OUTCOME)
    early = make_request(parent_request=parent, created_at=parent.closed_at - timedelta(hours=1),
                         request_title="Refund check")
    make_request(parent_request=parent, request_title="Follow-up opened after the close")  # new work: no finding
    RequestEvent.objects.bulk_create([RequestEvent(request=r, tenant_id=r.tenant_id, event_type="created",
                                                   actor="x", to_status="new")
                                      for r in BrainRequest.objects.filter(parent_request=parent)])
    [finding] = request_findings(request=parent)
    assert (finding.code, finding.row_id, finding.request_id, finding.blocking) == (
        "open_child_request", str(early.pk), str(parent.pk), True)
    assert f"child request “Refund check” ({early.pk}) is still new" in finding.message


def test_evidence_that_does_not_resolve_in_the_lineage_is_named(owner, reviewer, other_owner):
    request = rs.request_close(request=responded(owner, reviewer, other_owner), actor=actor(owner), **OUTCOME)
    stranger = make_task_artifact()                    # an artifact of another request's lineage
    missing = uuid.uuid4()
    BrainRequest.objects.filter(pk=request.pk).update(outcome_evidence=[
        {"kind": "artifact", "id": str(stranger.pk)}, {"kind": "decision", "id": str(missing)}])
    found = request_findings(request=request)
    assert [(f.code, f.blocking) for f in found] == [("evidence_unresolved", True)] * 2
    assert {str(stranger.pk), str(missing)} == {m.split()[5].rstrip(",") for m in (f.message for f in found)}


def test_evidence_of_the_parent_resolves_in_the_childs_lineage(owner, reviewer, other_owner):
    parent = in_progress_request(actor(owner), actor(reviewer), actor(other_owner))
    artifact = make_task_artifact(task=make_task(request=parent, status="completed"))
    child = child_of(parent, other_owner)
    child = rs.request_reject(request=child, actor=actor(reviewer), **{
        **OUTCOME, "outcome_type": "rejected", "outcome_evidence": [str(artifact.pk)]})
    assert request_findings(request=child) == []


def test_decisions_and_lessons_attached_to_nothing_are_named(brains):
    decision = orphan_decision()
    lesson = make_lesson()
    found = [f for f in tenant_findings() if f.code.startswith("orphan")]
    assert codes(found) == sorted([("orphan_decision", str(decision.pk)), ("orphan_lesson", str(lesson.pk))])


def test_a_lesson_re_pointed_at_another_requests_task_is_named(owner):
    mine, theirs = new_request(actor(owner)), new_request(actor(owner))
    lesson = make_lesson(related_request=mine, related_task=make_task(request=theirs, execution_notes="done it"))
    assert codes(request_findings(request=mine)) == [("lesson_lineage_mismatch", str(lesson.pk))]


def _bounce(request, reviewer, destinations):
    for destination in destinations:
        request = rs.request_route(request=request, actor=actor(reviewer), review_owner="headoffice",
                                   destination_brain=destination)
        request = rs.request_move(request=request, actor=actor(reviewer), move="return_for_revision",
                                  note="Wrong Brain for this validation; sending it on.")
    return request


def test_a_request_bounced_between_brains_more_than_the_limit_is_ping_pong(owner, reviewer, settings):
    request = new_request(actor(owner), destination="experimentation", request_type="data_validation_request")
    request = _bounce(request, reviewer, ["sit", "research", "experimentation"])   # three changes: the limit
    assert request_findings(request=request) == []
    request = _bounce(request, reviewer, ["sit"])                                   # a fourth
    [finding] = request_findings(request=request)
    assert finding.code == "ping_pong" and "routed to a different Brain 4 times (more than 3)" in finding.message
    settings.MWMS_PING_PONG_LIMIT = 4
    assert request_findings(request=request) == []


def test_routing_to_the_brain_it_already_has_is_no_bounce(owner, reviewer):
    request = new_request(actor(owner), destination="experimentation", request_type="data_validation_request")
    _bounce(request, reviewer, ["experimentation"] * 5)
    assert tenant_findings() == []


# --- the closing guard ----------------------------------------------------------------------------

def test_closing_with_an_open_child_request_is_refused_and_says_which_child(owner, reviewer, other_owner):
    parent = in_progress_request(actor(owner), actor(reviewer), actor(other_owner))
    child = child_of(parent, other_owner)
    parent = rs.request_respond(request=parent, actor=actor(other_owner), outcome_type="recommendation_delivered",
                                response_summary="Demand is rising in DE and FR; UK is flat.")
    before = BrainRequest.objects.filter(pk=parent.pk).values().get()
    with pytest.raises(DomainError) as refused:
        rs.request_close(request=parent, actor=actor(owner), **OUTCOME)
    assert refused.value.kind == Refusal.CONFLICT
    assert refused.value.message == (
        f"Close is not possible while the lineage has 1 problem(s): 1. child request “Validate the refund rate "
        f"first” ({child.pk}) is still new: close or reject it before its parent.")
    assert codes(refused.value.findings) == [("open_child_request", str(child.pk))]
    assert BrainRequest.objects.filter(pk=parent.pk).values().get() == before

    rs.request_reject(request=child, actor=actor(reviewer), **{**OUTCOME, "outcome_type": "rejected"})
    assert rs.request_close(request=parent, actor=actor(owner), **OUTCOME).status == RequestStatus.CLOSED


def test_rejecting_with_an_open_child_request_is_refused_too(owner, reviewer, other_owner):
    parent = rs.request_route(request=new_request(actor(owner)), actor=actor(reviewer), review_owner="headoffice")
    child_of(parent, owner)
    with pytest.raises(DomainError) as refused:
        rs.request_reject(request=parent, actor=actor(reviewer), **{**OUTCOME, "outcome_type": "rejected"})
    assert refused.value.message.startswith("Reject is not possible while the lineage has 1 problem(s)")
    assert BrainRequest.objects.get(pk=parent.pk).status == RequestStatus.ROUTED


@pytest.mark.parametrize("reference", ["https://wiki.example.org/dossier", "Confluence:DOC-123",
                                       "DOC-123 in Confluence", "jira:MWMS-42"])
def test_external_evidence_is_a_reference_a_reader_can_follow(owner, reviewer, other_owner, reference):
    closed = rs.request_close(request=responded(owner, reviewer, other_owner), actor=actor(owner),
                              **{**OUTCOME, "outcome_evidence": [reference]})
    assert closed.outcome_evidence == [{"kind": "external", "text": reference}]


@pytest.mark.parametrize("sentence", ["Report in the Affiliate workspace", "Search volume export, March 2026",
                                      "see the study", "https://"])
def test_a_sentence_is_not_evidence(owner, reviewer, other_owner, sentence):
    request = responded(owner, reviewer, other_owner)
    with pytest.raises(DomainError) as refused:
        rs.request_close(request=request, actor=actor(owner), **{**OUTCOME, "outcome_evidence": [sentence]})
    assert refused.value.field == "outcome_evidence"
    assert "External evidence must be a reference a reader can follow: a link (https://…), or a document id " \
           "with its system (Confluence:DOC-123, or DOC-123 in Confluence)" in refused.value.errors["outcome_evidence"]
    assert BrainRequest.objects.get(pk=request.pk).status == RequestStatus.RESPONDED


# --- the API --------------------------------------------------------------------------------------

def test_the_integrity_endpoint_answers_verified_or_the_findings(brains, owner):
    healthy = new_request(actor(owner))
    api = api_as("headoffice", TokenRole.HEADOFFICE)
    assert api.get(f"/requests/{healthy.pk}/integrity").json() == {
        "request_id": str(healthy.pk), "verified": True, "findings": []}
    broken = make_request()
    body = api.get(f"/requests/{broken.pk}/integrity").json()
    assert body["verified"] is False
    assert body["findings"] == [{"code": "missing_created_event", "table": "mwms_brain_requests",
                                 "row_id": str(broken.pk), "request_id": str(broken.pk), "blocking": False,
                                 "message": body["findings"][0]["message"]}]


def test_the_integrity_endpoint_is_scoped_to_the_caller(brains, owner):
    request = new_request(actor(owner))              # research → affiliate: the Content Brain sees it not
    answer = api_as("content").get(f"/requests/{request.pk}/integrity")
    assert answer.status_code == 404 and answer.json() == {"detail": "No request with that id that you can see."}
    assert api_as("headoffice", TokenRole.HEADOFFICE).get(f"/requests/{uuid.uuid4()}/integrity").status_code == 404


def test_closing_over_an_open_child_answers_409_naming_each_problem(brains, owner, reviewer, other_owner):
    parent = in_progress_request(actor(owner), actor(reviewer), actor(other_owner))
    child = child_of(parent, other_owner)
    task = make_task(request=parent, title="Still running", status="running")
    answer = api_as("headoffice", TokenRole.HEADOFFICE).post(f"/requests/{parent.pk}/transition",
                                       {"to_status": "closed", **OUTCOME})
    assert answer.status_code == 409
    body = answer.json()
    assert body["detail"].startswith("Close is not possible while the lineage has 2 problem(s)")
    assert [(f["code"], f["row_id"], f["blocking"]) for f in body["findings"]] == [
        ("open_task", str(task.pk), True), ("open_child_request", str(child.pk), True)]
    assert BrainRequest.objects.get(pk=parent.pk).status == RequestStatus.IN_PROGRESS


# --- the drill-down -------------------------------------------------------------------------------

def test_the_drill_down_says_verified(client, owner):
    request = new_request(actor(owner))
    client.force_login(owner)
    page = client.get(reverse("requests:detail", args=[request.pk]))
    check = reverse("requests:integrity", args=[request.pk])
    assert 'id="integrity"' in page.text and f'hx-get="{check}" hx-trigger="load"' in page.text
    assert "Verified." not in page.text  # the check is fetched once the page is shown
    panel = client.get(check, HTTP_HX_REQUEST="true")
    assert panel.text.lstrip().startswith('<section class="card" id="integrity"') and "<html" not in panel.text
    assert "<strong>Verified.</strong>" in panel.text


def test_the_lineage_check_without_javascript_is_a_page_and_keeps_to_what_the_person_may_see(client, owner,
                                                                                              outsider):
    request = new_request(actor(owner))
    client.force_login(owner)
    page = client.get(reverse("requests:integrity", args=[request.pk]))
    assert "<html" in page.text and "<strong>Verified.</strong>" in page.text
    assert f'href="{reverse("requests:detail", args=[request.pk])}"' in page.text
    client.force_login(outsider)
    assert client.get(reverse("requests:integrity", args=[request.pk])).status_code == 404


def test_the_drill_down_links_each_finding_to_its_row(client, owner, reviewer, other_owner):
    request = rs.request_close(request=responded(owner, reviewer, other_owner), actor=actor(owner), **OUTCOME)
    task = make_task(request=request, title="Late follow-up")
    client.force_login(reviewer)
    page = client.get(reverse("requests:integrity", args=[request.pk]), HTTP_HX_REQUEST="true")
    assert "Verified." not in page.text
    here = reverse("requests:detail", args=[request.pk])
    assert f'<a href="{here}#task-{task.pk}">task <code title="{task.pk}">{str(task.pk)[:8]}</code></a>' in page.text
    assert f'id="task-{task.pk}"' in client.get(here).text            # the anchor it leads to
    assert "blocks closing" in page.text


def test_closing_over_an_open_child_in_the_drill_down_lists_the_problem(client, owner, reviewer, other_owner):
    parent = responded(owner, reviewer, other_owner)
    child = child_of(parent, reviewer)
    data = {f"close-{k}": v for k, v in OUTCOME.items() if k != "outcome_evidence"}
    data.update({"close-outcome_evidence": OUTCOME["outcome_evidence"][0], "close-head_office_review_required": "false",
                 "close-lock_version": str(BrainRequest.objects.get(pk=parent.pk).lock_version)})
    client.force_login(owner)
    page = client.post(reverse("requests:move", args=[parent.pk, "close"]), data)
    assert page.status_code == 200
    form = [f for f in page.context["move_forms"] if f.move.name == "close"][0]
    [error] = form.non_field_errors()
    assert f"child request “Validate the refund rate first” ({child.pk}) is still new" in error
    assert BrainRequest.objects.get(pk=parent.pk).status == RequestStatus.RESPONDED


# --- the dashboard --------------------------------------------------------------------------------

def test_the_dashboard_lists_broken_requests_and_ping_pong_with_its_routing_history(client, owner, reviewer):
    broken = make_request(request_title="Written straight into the table")
    bounced = new_request(actor(owner), destination="experimentation", request_type="data_validation_request",
                          request_title="Who validates this?")
    _bounce(bounced, reviewer, ["sit", "research", "experimentation", "sit"])
    client.force_login(reviewer)
    page = client.get(reverse("governance:dashboard_integrity"), HTTP_HX_REQUEST="true")
    assert page.text.lstrip().startswith('<div id="integrity-queues">') and "<html" not in page.text
    integrity = page.text.split('id="queue-integrity"')[1].split('id="queue-ping-pong"')[0]
    assert "Written straight into the table" in integrity and "[missing_created_event]" in integrity
    assert f'{reverse("requests:detail", args=[broken.pk])}#integrity' in integrity
    ping_pong = page.text.split('id="queue-ping-pong"')[1]
    assert "Who validates this?" in ping_pong and "4 changes of destination" in ping_pong
    assert [line.split("<span")[0].strip() for line in ping_pong.split("<li>")[2:6]] == [
        "experimentation → sit", "sit → research", "research → experimentation", "experimentation → sit"]
    assert "by reviewer" in ping_pong


def test_a_healthy_dashboard_says_verified_and_none(client, owner, reviewer):
    new_request(actor(owner))
    client.force_login(reviewer)
    page = client.get(reverse("governance:dashboard_integrity"))  # without htmx: a page of its own
    assert "<html" in page.text and "<h1>Integrity</h1>" in page.text
    assert "No lineage problem in the requests changed lately." in page.text
    assert "No open request is being bounced between Brains." in page.text


def test_the_dashboard_fetches_the_queues_once_shown_and_links_them_without_javascript(client, reviewer):
    client.force_login(reviewer)
    page = client.get(reverse("governance:dashboard"))
    integrity = reverse("governance:dashboard_integrity")
    assert f'hx-get="{integrity}" hx-trigger="load"' in page.text and f'<a href="{integrity}">' in page.text
    assert 'id="queue-integrity"' not in page.text  # the check itself is not run for the page


def test_the_integrity_queues_need_a_signed_in_person_and_a_get(client, reviewer):
    url = reverse("governance:dashboard_integrity")
    assert client.get(url).status_code == 302
    client.force_login(reviewer)
    assert client.post(url).status_code == 405


# --- two tenants ----------------------------------------------------------------------------------

def test_another_tenants_findings_never_show(client, brains, owner, reviewer):
    from governance_app import services as gs
    tenant = gs.tenant_create(slug="zeta", name="Zeta Corp", reviewer_username="zeta_reviewer",
                              reviewer_password=PASSWORD)
    with acting_for(tenant):
        theirs = make_request(tenant_id=tenant.id, request_title="ZETA-B broken request")
        orphan_decision(tenant.id, "ZETA-B orphan")
        assert {f.code for f in lineage_findings(tenant_id=tenant.id)} == {"missing_created_event",
                                                                            "orphan_decision"}
    assert tenant_findings() == []
    client.force_login(reviewer)
    assert "ZETA-B" not in client.get(reverse("governance:dashboard_integrity")).text
    assert api_as("headoffice", TokenRole.HEADOFFICE).get(f"/requests/{theirs.pk}/integrity").status_code == 404


@pytest.mark.parametrize("rows", [5, 200])
def test_the_lineage_check_costs_the_same_at_any_size_of_history(client, owner, reviewer, other_owner, rows,
                                                                django_assert_num_queries):
    request = responded(owner, reviewer, other_owner)
    for i in range(rows):
        rs.request_note_add(request=BrainRequest.objects.get(pk=request.pk), actor=actor(owner), note=f"Note {i}")
    client.force_login(owner)
    url = reverse("requests:integrity", args=[request.pk])
    client.get(url, HTTP_HX_REQUEST="true")
    with django_assert_num_queries(EXPECTED_CHECK_QUERIES):
        assert "<strong>Verified.</strong>" in client.get(url, HTTP_HX_REQUEST="true").text


# The session, the user and their memberships, the request; the lineage checks (integrity.py) and
# the chains of its history (kernel.chain), each a fixed number of queries.
EXPECTED_CHECK_QUERIES = 14
