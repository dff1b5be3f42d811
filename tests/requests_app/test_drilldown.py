"""The drill-down in words (issue 14, the walk's fixes): evidence shown by kind and title, evidence
picked from the lineage in the Close form, forms that show what the move needs, names instead of
codes, plain success messages, one timeline entry per action, fixed query counts."""

import re

import pytest
from django.urls import reverse

from governance_app import services as gs
from requests_app import services as rs
from requests_app.models import BrainRequest, RequestEvent, RequestStatus
from tasks_app import services as ts
from tasks_app.models import Task, TaskEvent
from tests.conftest import said
from tests.engine import OUTCOME, actor, in_progress_request, new_request, token_actor
from tests.requests_app.test_views import bound_move_form, request_row, signed_in

pytestmark = pytest.mark.django_db


def responded_with_artifact(owner, reviewer, other_owner, title="Review the Voltcamp offer", summary="Offer scorecard"):
    """A responded request whose task saved an artifact, and that artifact."""
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner), request_title=title)
    ts.task_create(request=request, actor=actor(other_owner), task_type="offer_review", title=f"Score: {title}")
    executor = token_actor("affiliate", label=f"exec-{title[:12]}")
    task = ts.task_start(task=ts.task_claim_next(actor=executor), actor=executor)
    artifact = ts.task_artifact_save(task=task, actor=executor, artifact_type="scorecard",
                                     artifact_summary=summary, content_json={"score": 8}, as_result=True)
    ts.task_complete(task=task, actor=executor)
    request = rs.request_respond(request=BrainRequest.objects.get(pk=request.pk), actor=actor(other_owner),
                                 outcome_type="recommendation_delivered",
                                 response_summary="Recommend a capped test in two markets.")
    return request, artifact


def close_data(**extra) -> dict:
    data = {f"close-{k}": v for k, v in OUTCOME.items() if k not in ("outcome_evidence", "head_office_review_required")}
    data.update({"close-head_office_review_required": "false", **extra})
    return data


def detail(client, request):
    return client.get(reverse("requests:detail", args=[request.pk]))


# --- evidence on a final request ---------------------------------------------------------------------

def test_evidence_stored_as_bare_ids_shows_each_record_by_kind_and_title(client, owner, reviewer, other_owner):
    request, artifact = responded_with_artifact(owner, reviewer, other_owner)
    decision = gs.decision_record(actor=actor(reviewer), request=request, decision_summary="Test Voltcamp in DE first",
                                  reasoning="Demand is strongest there.")
    rs.request_close(request=BrainRequest.objects.get(pk=request.pk), actor=actor(owner),
                     **{**OUTCOME, "outcome_evidence": [str(artifact.pk)]})
    # Another client writes the jsonb list as bare ids and a bare reference, as the canon allows.
    BrainRequest.objects.filter(pk=request.pk).update(
        outcome_evidence=[str(artifact.pk), str(decision.pk), "https://wiki.example.org/dossier"])
    page = detail(signed_in(client, owner), request)
    evidence = re.search(r'<ul class="chain evidence">(.*?)</ul>', page.text, re.S).group(1)
    rows = re.findall(r"<li>(.*?)</li>", evidence, re.S)
    assert len(rows) == 3
    assert '<span class="badge">Artifact</span>' in rows[0] and f'href="#artifact-{artifact.pk}"' in rows[0]
    assert "scorecard: Offer scorecard" in rows[0]
    assert '<span class="badge">Decision</span>' in rows[1] and f'href="#decision-{decision.pk}"' in rows[1]
    assert "Test Voltcamp in DE first" in rows[1]
    assert '<span class="badge">External reference</span>' in rows[2]
    assert 'href="https://wiki.example.org/dossier"' in rows[2]
    assert ": <code>" not in evidence and "<li>: " not in evidence  # no blank kind, no bare id
    assert f'id="artifact-{artifact.pk}"' in page.text  # the link lands on the artifact


def test_evidence_naming_a_parents_record_links_to_the_parent(client, owner, reviewer, other_owner):
    parent, artifact = responded_with_artifact(owner, reviewer, other_owner, title="Parent offer review")
    child = new_request(actor(other_owner), destination="research", request_type="research_request",
                        request_title="Background on Voltcamp", parent_request_id=str(parent.pk))
    rs.request_close(request=child, actor=actor(reviewer), **{**OUTCOME, "outcome_evidence": [str(artifact.pk)]})
    page = detail(signed_in(client, reviewer), child)
    assert f'href="{reverse("requests:detail", args=[parent.pk])}#artifact-{artifact.pk}"' in page.text


def test_evidence_naming_no_record_of_the_lineage_says_so(client, owner, reviewer):
    request = new_request(actor(owner))
    rs.request_close(request=request, actor=actor(reviewer), **OUTCOME)
    ghost = "0b7c3c58-6a4a-4f8a-9a76-6c3f1c2a9d11"
    BrainRequest.objects.filter(pk=request.pk).update(outcome_evidence=[ghost])
    page = detail(signed_in(client, reviewer), request)
    assert "not found in this lineage" in page.text and f'title="{ghost}"' in page.text


# --- picking evidence in the Close form --------------------------------------------------------------

def test_the_close_form_lists_this_lineages_records_only(client, owner, reviewer, other_owner):
    request, artifact = responded_with_artifact(owner, reviewer, other_owner)
    _other, foreign = responded_with_artifact(owner, reviewer, other_owner, title="Another offer",
                                              summary="Scorecard of another offer")
    page = detail(signed_in(client, owner), request)
    form = bound_or_blank(page, "close")
    offered = {value for _title, records in form.evidence_groups for value in [r.id for r in records]}
    assert str(artifact.pk) in offered and str(foreign.pk) not in offered
    assert {title for title, _ in form.evidence_groups} == {"Artifacts", "Events"}
    assert (f'<input type="checkbox" name="close-evidence_records" value="{artifact.pk}"> scorecard: Offer scorecard'
            in page.text)
    assert "Scorecard of another offer" not in page.text
    events = set(RequestEvent.objects.filter(request=request).values_list("pk", flat=True))
    assert {str(pk) for pk in events} <= offered


def bound_or_blank(page, move: str):
    return next(form for form in page.context["move_forms"] if form.move.name == move)


def test_closing_with_a_ticked_artifact_records_it_as_evidence(client, owner, reviewer, other_owner):
    request, artifact = responded_with_artifact(owner, reviewer, other_owner)
    page = signed_in(client, owner).post(reverse("requests:move", args=[request.pk, "close"]),
                                         close_data(**{"close-evidence_records": [str(artifact.pk)],
                                                       "close-outcome_evidence": "RPT-2026-11 in Affiliate Workspace"}),
                                         follow=True)
    closed = BrainRequest.objects.get(pk=request.pk)
    assert closed.status == RequestStatus.CLOSED
    assert closed.outcome_evidence == [{"kind": "artifact", "id": str(artifact.pk)},
                                       {"kind": "external", "text": "RPT-2026-11 in Affiliate Workspace"}]
    assert said(page) == ["Request closed with its outcome."]


def test_another_requests_artifact_is_refused_with_a_message_and_nothing_changes(client, owner, reviewer,
                                                                                 other_owner):
    request, _artifact = responded_with_artifact(owner, reviewer, other_owner)
    _other, foreign = responded_with_artifact(owner, reviewer, other_owner, title="Another offer")
    before = request_row(request)
    page = signed_in(client, owner).post(reverse("requests:move", args=[request.pk, "close"]),
                                         close_data(**{"close-evidence_records": [str(foreign.pk)]}))
    assert page.status_code == 200
    why = f"Evidence {foreign.pk}: not an artifact, event or decision of this request's lineage."
    assert bound_move_form(page, "close").errors["outcome_evidence"] == [why]
    assert said(page) == [f"Close was not saved: Close needs a complete outcome: {why}"]
    assert request_row(request) == before


def test_a_refused_close_comes_back_in_view_with_the_failing_field_focused(client, owner, reviewer, other_owner):
    request, artifact = responded_with_artifact(owner, reviewer, other_owner)
    page = signed_in(client, owner).post(reverse("requests:move", args=[request.pk, "close"]),
                                         close_data(**{"close-result_summary": "done",
                                                       "close-evidence_records": [str(artifact.pk)]}))
    anchor = f"move-close-{request.pk}"
    assert f'<details class="action next-step" open data-refused id="{anchor}">' in page.text
    assert re.search(r'<textarea name="close-result_summary"[^>]* autofocus', page.text)
    assert page.text.count(" autofocus") == 1
    # what was ticked stays ticked
    assert f'value="{artifact.pk}" checked' in page.text


def test_the_close_form_prefills_the_outcome_type_from_the_response(client, owner, reviewer, other_owner):
    request, _artifact = responded_with_artifact(owner, reviewer, other_owner)
    page = detail(signed_in(client, owner), request)
    assert bound_or_blank(page, "close")["outcome_type"].value() == "recommendation_delivered"
    assert '<option value="recommendation_delivered" selected>' in page.text


# --- forms that show what the move needs ----------------------------------------------------------

def test_the_route_form_states_the_primary_brain_rule_and_keeps_optional_fields_folded(client, owner, reviewer):
    request = new_request(actor(owner))
    page = detail(signed_in(client, reviewer), request)
    route = re.search(rf'<details class="action[^"]*"\s*id="move-route-{request.pk}">(.*?)</form>', page.text, re.S)
    html = route.group(1)
    assert "Naming supporting Brains needs one primary Brain" in html
    assert '<abbr title="connector rule 2">' in html
    # the label sits with its checkboxes: a legend of their own fieldset
    assert re.search(r'<fieldset class="choices"><legend>Supporting Brains</legend>\s*<label class="row"><input '
                     r'type="checkbox" name="route-supporting_brains"', html)
    assert html.index("Review owner") < html.index("Add a note") < html.index('name="route-note"')


def test_one_next_step_is_emphasised(client, owner, reviewer):
    request = new_request(actor(owner))
    page = detail(signed_in(client, reviewer), request)
    assert page.text.count("next-step") == 1
    assert f'<details class="action next-step"  id="move-route-{request.pk}">' in page.text


def _move_form_html(html: str, url: str) -> str:
    """The form posting to `url`, without what differs between two renderings (the CSRF token's
    mask) or in white space."""
    form = re.search(rf'<form method="post" action="{re.escape(url)}".*?</form>', html, re.S).group(0)
    form = re.sub(r'<input type="hidden" name="csrfmiddlewaretoken" value="[^"]*">', "", form)
    return re.sub(r">\s+<", "><", form)


def test_only_the_next_steps_form_is_drawn_the_others_load_when_opened(client, owner, reviewer):
    request = new_request(actor(owner))
    rs.request_note_add(request=request, actor=actor(reviewer), note="Looks like a duplicate")
    page = detail(signed_in(client, reviewer), request)
    assert [form.move.name for form in page.context["move_forms"]] == ["route"]   # issue 16
    assert 'name="route-review_owner"' in page.text
    others = [move.name for move, form in page.context["move_actions"] if form is None]
    assert "reject" in others and "park" in others
    for name in others:
        url = reverse("requests:move", args=[request.pk, name])
        assert f'id="move-{name}-{request.pk}" hx-get="{url}" hx-trigger="toggle once"' in page.text
        assert f'name="{name}-lock_version"' not in page.text
        assert f'<a href="{url}#move-{name}-{request.pk}">Open the form</a>' in page.text  # without JavaScript


def test_a_move_form_loaded_on_opening_is_the_one_the_drill_down_draws(client, owner, reviewer):
    request = new_request(actor(owner))
    rs.request_note_add(request=request, actor=actor(reviewer), note="Looks like a duplicate")
    url, here = reverse("requests:move", args=[request.pk, "reject"]), reverse("requests:detail", args=[request.pk])
    loaded = signed_in(client, reviewer).get(url, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL=f"http://testserver{here}")
    assert loaded.status_code == 200 and "<html" not in loaded.text
    # Prefilled from the request and offering this lineage's records to tick, as the drill-down's.
    assert 'name="reject-next_step_owner" value="research"' in loaded.text
    events = RequestEvent.objects.filter(request=request)
    assert events.count() == 2
    for event in events:
        assert f'name="reject-evidence_records" value="{event.pk}"' in loaded.text
    # Without JavaScript the link lands on the drill-down with that form drawn, open.
    landing = client.get(url)
    assert landing.status_code == 302
    assert landing["Location"] == f"{here}?move=reject#move-reject-{request.pk}"
    drawn = client.get(landing["Location"])
    assert f'<details class="action" open id="move-reject-{request.pk}">' in drawn.text
    assert _move_form_html(loaded.text, url) == _move_form_html(drawn.text, url)  # it returns to the drill-down too
    assert 'name="next"' not in loaded.text


@pytest.mark.parametrize("rows", [5, 200])
def test_a_move_form_loaded_on_opening_costs_the_same_at_any_size(client, owner, reviewer, rows,
                                                                  django_assert_num_queries):
    request = new_request(actor(owner))
    for i in range(rows):
        rs.request_note_add(request=BrainRequest.objects.get(pk=request.pk), actor=actor(reviewer), note=f"Note {i}")
    url = reverse("requests:move", args=[request.pk, "reject"])
    signed_in(client, reviewer).get(url, HTTP_HX_REQUEST="true")  # warm the per-process Brain registry
    # The session, the user, the tenant claim, the memberships, the request, and the four kinds of
    # evidence (requests_app.drilldown.evidence_groups_for).
    with django_assert_num_queries(EXPECTED_LOADED_FORM_QUERIES):
        loaded = client.get(url, HTTP_HX_REQUEST="true")
    assert loaded.text.count('name="reject-evidence_records"') == rows + 1


# -1: the Brain options come from the process's registry (issue 16).
EXPECTED_LOADED_FORM_QUERIES = 8


def test_a_refusal_names_its_rule_in_a_tooltip_not_the_sentence(client, owner, reviewer):
    request = new_request(actor(owner))
    before = request_row(request)
    page = signed_in(client, reviewer).post(reverse("requests:move", args=[request.pk, "route"]), {
        "route-review_owner": "headoffice", "route-supporting_brains": ["research"],
        "route-lock_version": request.lock_version})
    assert ('Several Brains work this request: name the primary Brain <abbr class="rule" title="connector rule 2">'
            '(rule)</abbr>.') in page.text
    assert "(connector rule 2)" not in page.text
    assert request_row(request) == before


# --- names, not codes ---------------------------------------------------------------------------

def test_the_timeline_reads_statuses_and_tells_each_action_once(client, owner, reviewer, other_owner):
    request, _artifact = responded_with_artifact(owner, reviewer, other_owner)
    task = Task.objects.get(request=request)
    page = detail(signed_in(client, owner), request)
    entries = page.context["timeline"]
    told = [e for e in entries if e["task"] is not None and e["task"].pk == task.pk
            and ("task_created" in [ev.event_type for ev in e["events"]] or e["event"].event_type == "created")]
    assert len(told) == 1  # the request's task_created and the task's created event: one entry
    assert TaskEvent.objects.filter(task=task, event_type="created").exists()
    timeline = page.text[page.text.index('id="timeline"'):]
    assert "under_review" not in timeline and "in_progress" not in timeline
    assert "Picked up → Running" in timeline or "Queued → Picked up" in timeline


def test_a_decision_and_the_move_it_makes_are_one_timeline_entry(client, owner, reviewer):
    request = new_request(actor(owner), destination="headoffice", request_type="head_office_review_request",
                          feedback_required=True)
    decision = gs.feedback_classify(request=request, actor=actor(reviewer), classification="park",
                                    note="Parked until the quarter's numbers are in.")
    page = detail(signed_in(client, reviewer), request)
    entries = [e for e in page.context["timeline"]
               if any(ev.event_payload.get("decision_id") == str(decision.pk) for ev in e["events"])]
    assert len(entries) == 1
    assert [ev.event_type for ev in entries[0]["events"]] == ["decision_recorded", "status_changed"]
    ids = [ev.pk for ev in entries[0]["events"]]
    assert all(f'id="event-{pk}"' in page.text for pk in ids)  # evidence links still land


def test_the_next_step_owner_and_the_task_form_name_brains(client, owner, reviewer, other_owner):
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner))
    page = detail(signed_in(client, other_owner), request)
    assert '<option value="affiliate" selected>Affiliate Brain</option>' in page.text  # the task form's Brain
    assert "<dt>Requesting authority</dt><dd>Research Brain · created by" in page.text
    assert '<datalist id="id_task_type-suggestions"><option value="offer_review">Offer review</option>' in page.text
    rs.request_close(request=BrainRequest.objects.get(pk=request.pk), actor=actor(reviewer), **OUTCOME)
    page = detail(client, request)
    assert "Experimentation Brain designs the test structure. — <strong>Experimentation Brain</strong>" in page.text


def test_accepting_says_who_works_it(client, owner, reviewer, other_owner):
    request = rs.request_route(request=new_request(actor(owner)), actor=actor(reviewer), review_owner="headoffice")
    page = signed_in(client, other_owner).post(reverse("requests:move", args=[request.pk, "accept"]),
                                               {"accept-lock_version": request.lock_version}, follow=True)
    assert said(page) == ["Accepted: Affiliate Brain is working on it."]


# --- cost -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rows", [5, 200])
def test_a_closed_requests_page_with_evidence_costs_the_same_at_any_size(client, owner, reviewer, other_owner, rows,
                                                                         django_assert_num_queries):
    request, artifact = responded_with_artifact(owner, reviewer, other_owner)
    parent_decision = gs.decision_record(actor=actor(reviewer), request=request,
                                         decision_summary="Go ahead with the capped test",
                                         reasoning="The scorecard is convincing.")
    for i in range(rows):
        rs.request_note_add(request=BrainRequest.objects.get(pk=request.pk), actor=actor(owner), note=f"Note {i}")
    rs.request_close(request=BrainRequest.objects.get(pk=request.pk), actor=actor(owner),
                     **{**OUTCOME, "outcome_evidence": [str(artifact.pk), str(parent_decision.pk),
                                                        *OUTCOME["outcome_evidence"]]})
    signed_in(client, owner)
    detail(client, request)  # warm the per-process Brain registry
    # The same count at 5 and at 200 events: evidence of this request's own records costs nothing.
    with django_assert_num_queries(EXPECTED_CLOSED_PAGE_QUERIES):
        page = detail(client, request)
    assert page.status_code == 200 and len(page.context["evidence_items"]) == 3


# The drill-down of a closed request as its origin reads it; no query is spent on evidence this
# request's own records hold (requests_app.drilldown).
# +1: the timeline's people by name (issue 14); -14: the lineage check is fetched on its own;
# -1: the chain above and the tree below are one statement, -1: the watch button's choice and owned
# Brains are one; -1: the Brain options come from the process's registry; the nav's saved views are
# fetched when it is opened (issue 16).
EXPECTED_CLOSED_PAGE_QUERIES = 15


@pytest.mark.parametrize("rows", [5, 200])
def test_evidence_from_elsewhere_in_the_chain_costs_four_queries_at_any_size(client, owner, reviewer, other_owner,
                                                                             rows, django_assert_num_queries):
    parent, artifact = responded_with_artifact(owner, reviewer, other_owner, title="Parent offer review")
    child = new_request(actor(other_owner), destination="research", request_type="research_request",
                        request_title="Background on Voltcamp", parent_request_id=str(parent.pk))
    for i in range(rows):
        rs.request_note_add(request=BrainRequest.objects.get(pk=child.pk), actor=actor(reviewer), note=f"Note {i}")
    parent_event = RequestEvent.objects.filter(request=parent).first()
    rs.request_close(request=BrainRequest.objects.get(pk=child.pk), actor=actor(reviewer),
                     **{**OUTCOME, "outcome_evidence": [str(artifact.pk), str(parent_event.pk)]})
    signed_in(client, reviewer)
    detail(client, child)
    # One query each for artifacts, task events, request events and decisions named from elsewhere.
    with django_assert_num_queries(EXPECTED_CHILD_PAGE_QUERIES):
        page = detail(client, child)
    assert [item.kind_label for item in page.context["evidence_items"]] == ["Artifact", "Event"]


# +1: the timeline's people by name (issue 14); -15: the lineage check is fetched on its own;
# -1: the chain above and the tree below are one statement; -1: the Brain options from the
# process's registry; the nav's saved views are fetched when it is opened (issue 16).
EXPECTED_CHILD_PAGE_QUERIES = 18


@pytest.mark.parametrize("rows", [5, 200])
def test_a_request_with_every_owner_named_costs_the_same_at_any_size(client, owner, reviewer, rows,
                                                                    django_assert_num_queries):
    """Every Brain and the person the drill-down names (requests_app.selectors.DETAIL_ROW_FIELDS),
    its parent and its child (CHAIN_ROW_FIELDS): a column the page reads that its query left out
    would be one query more."""
    reviewer.first_name, reviewer.last_name = "Hana", "Okafor"
    reviewer.save()
    parent = new_request(actor(owner), request_title="The earlier offer review")
    request = rs.request_route(request=new_request(actor(owner), parent_request_id=str(parent.pk)),
                               actor=actor(reviewer), review_owner="headoffice",
                               primary_brain="affiliate", supporting_brains=["research"])
    new_request(actor(owner), request_title="A follow-up on the supplier", parent_request_id=str(request.pk))
    rs.request_assign(request=request, actor=actor(reviewer), assignee=reviewer.pk)
    rs.request_escalate(request=BrainRequest.objects.get(pk=request.pk), actor=actor(reviewer),
                        escalation_reason="The supplier's terms contradict the offer page.", escalation_owner="finance")
    for i in range(rows):
        rs.request_note_add(request=BrainRequest.objects.get(pk=request.pk), actor=actor(reviewer), note=f"Note {i}")
    signed_in(client, reviewer)
    detail(client, request)  # warm the per-process Brain registry
    with django_assert_num_queries(EXPECTED_OWNERS_PAGE_QUERIES):
        page = detail(client, request)
    for shown in ("<dt>Review owner</dt><dd>HeadOffice", "<dt>Primary Brain</dt><dd>Affiliate Brain",
                  "<dt>Escalation owner</dt><dd>Finance Brain", "<dt>Origin Brain</dt><dd>Research Brain",
                  "<dt>Destination Brain</dt><dd>Affiliate Brain", "</span> Hana Okafor</dd>",
                  "The earlier offer review</a> <span class=\"badge badge-new\">New</span>",       # its chain
                  "A follow-up on the supplier</a> <span class=\"badge badge-new\">New</span>"):  # its child
        assert shown in page.text


# Its chain: the ids above and below it in one statement, the parent's and the child's rows in one
# more (issue 16: four queries before); the watch button's choice and owned Brains in one (two before);
# the timeline's authors and the assign form's people in one (two before); -2 as above.
EXPECTED_OWNERS_PAGE_QUERIES = 14


# --- people by name ---------------------------------------------------------------------------------

def test_headoffice_reads_the_authors_by_name_and_is_offered_its_active_members_from_one_query(
        client, owner, reviewer):
    """The drill-down asks for its timeline's authors and its assign form's people at once
    (selectors.drilldown_people): an author of a Brain is named but not offered; a HeadOffice
    member who wrote nothing is offered; an inactive one is neither."""
    from governance_app.models import MembershipRole
    from tests.factories import make_membership, make_user
    owner.first_name, owner.last_name = "Ravi", "Menon"
    owner.save()
    colleague = make_user(username="colleague", first_name="Ada", last_name="Quist")
    make_membership(user=colleague, role=MembershipRole.HEAD_OFFICE_REVIEWER)
    gone = make_user(username="gone", first_name="Former", last_name="Reviewer", is_active=False)
    make_membership(user=gone, role=MembershipRole.HEAD_OFFICE_REVIEWER)
    request = new_request(actor(owner))
    page = detail(signed_in(client, reviewer), request)
    assert f'by <span title="{owner.username}">Ravi Menon</span>' in page.text
    offered = dict(page.context["assign_form"].fields["assignee"].choices)
    assert offered[str(colleague.pk)] == "Ada Quist" and offered[str(reviewer.pk)] == reviewer.username
    assert str(owner.pk) not in offered and str(gone.pk) not in offered
    assert [name for _pk, name in page.context["assign_form"].fields["assignee"].choices][0] == "Nobody"


def test_the_timeline_names_a_person_by_full_name_with_the_username_as_its_title(client, owner, reviewer):
    reviewer.first_name, reviewer.last_name = "Hana", "Okafor"
    reviewer.save()
    request = new_request(actor(owner))                      # owner has no name: shown by username
    rs.request_note_add(request=request, actor=actor(reviewer), note="Looked at it")
    page = detail(signed_in(client, owner), request)
    assert f'by <span title="{reviewer.username}">Hana Okafor</span>' in page.text
    assert f"by {owner.username}</div>" in page.text
