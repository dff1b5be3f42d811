"""A canon suggestion's reason and evidence (issue 15, item 2): the requests, decisions and
lessons of its tenant it cites, through the form and the API; every unusable item refused with
the field named and nothing written (another tenant's id answered exactly as an unknown one);
the Feedback & MCR queue, the approval screen and the drill-down show them as links with their
titles at a fixed number of queries; the approved amendment's evidence keeps them."""

import re
import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from governance_app import services as gs
from governance_app.kernel.errors import DomainError
from governance_app.models import CanonAmendment, CanonProposal, SuggestionEvidence
from requests_app.models import BrainRequest, RequestEvent
from tests.api_client import api_as
from tests.conftest import PASSWORD
from tests.db_roles import acting_for
from tests.engine import CANON_PROPOSED, actor, canon_document, new_request, suggestion
from tests.factories import make_decision_record, make_lesson, make_request

pytestmark = pytest.mark.django_db
WHY = "Three Brains asked for the same status this month, and two requests stalled without it."
CLASSIFIED = "The evidence is consistent: propose the change to the canon."


@pytest.fixture
def cited(owner, reviewer):
    """Records of the tenant a suggestion may cite: a request of Research, a decision on it, a lesson."""
    request = new_request(actor(owner), request_title="Waiting on the supplier's data for a week")
    decision = gs.decision_record(actor=actor(reviewer), request=request, decision_summary="Hold until the data lands",
                                  reasoning="Nothing can be decided without the supplier's figures.")
    lesson = make_lesson(related_request=request, originating_brain_id="research",
                         insight="Requests waiting on outside data need a status of their own")
    return {"request": request, "decision": decision, "lesson": lesson}


def items(cited: dict) -> list[dict]:
    return [{"kind": kind, "id": str(record.pk)} for kind, record in cited.items()]


def written() -> dict:
    """What a refused suggestion must leave as it was."""
    return {"requests": BrainRequest.objects.count(), "evidence": SuggestionEvidence.objects.count(),
            "proposals": CanonProposal.objects.count(), "events": RequestEvent.objects.count()}


def stored(request) -> list[tuple[str, uuid.UUID]]:
    return [(row.kind, row.cited_id) for row in SuggestionEvidence.objects.filter(request=request).order_by("position")]


@pytest.fixture
def elsewhere():
    """Another tenant's request, decision and lesson: ids that must look exactly like unknown ones."""
    tenant = gs.tenant_create(slug="zeta", name="Zeta Corp", reviewer_username="zeta_reviewer",
                              reviewer_password=PASSWORD)
    with acting_for(tenant):
        request = make_request(tenant_id=tenant.id, request_title="Zeta's own request")
        return {"request": request,
                "decision": make_decision_record(request=request, decision_summary="Zeta's decision"),
                "lesson": make_lesson(tenant_id=tenant.id, related_request=request, insight="Zeta's lesson")}


# --- the service and the database ---------------------------------------------------------------------

def test_a_suggestion_stores_its_evidence_in_order_and_its_reason_with_the_proposal(owner, cited):
    request = suggestion(actor(owner), reason=WHY, evidence=items(cited))
    assert stored(request) == [(kind, record.pk) for kind, record in cited.items()]
    assert CanonProposal.objects.get(request=request).reason == WHY
    created = request.events.get()
    assert created.event_payload["evidence"] == items(cited)   # the history names it too
    assert SuggestionEvidence.objects.filter(request=request).first().added_by == "research_owner"


def test_the_same_record_twice_is_cited_once(owner, cited):
    request = suggestion(actor(owner), evidence=[*items(cited), items(cited)[0]])
    assert len(stored(request)) == 3


@pytest.mark.parametrize(("evidence", "says"), [
    ([{"kind": "task", "id": str(uuid.uuid4())}], "the kind must be one of request, decision, lesson"),
    ([{"kind": "request", "id": "REQ-12"}], "'REQ-12' is not an id"),
    ([{"kind": "lesson", "id": str(uuid.uuid4())}], "no lesson learned"),
    (["task: " + str(uuid.uuid4())], "the kind must be one of request, decision, lesson"),
    ([str(uuid.uuid4())], "is no request, decision or lesson that you can see here"),
])
def test_an_unusable_evidence_item_is_refused_and_nothing_is_written(owner, evidence, says):
    canon_document()
    before = written()
    with pytest.raises(DomainError) as refused:
        suggestion(actor(owner), evidence=evidence)
    assert refused.value.field == "evidence" and says in refused.value.message
    assert refused.value.message.startswith("Evidence item 1: ")
    assert written() == before


def test_a_record_of_the_wrong_kind_is_refused(owner, cited):
    canon_document()
    before = written()
    with pytest.raises(DomainError) as refused:
        suggestion(actor(owner), evidence=[{"kind": "request", "id": str(cited["request"].pk)},
                                           {"kind": "decision", "id": str(cited["lesson"].pk)}])
    assert refused.value.message == f"Evidence item 2: no decision {cited['lesson'].pk} that you can see here."
    assert written() == before


def _unknown_said(message: str) -> str:
    return re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<id>", message)


@pytest.mark.parametrize("kind", ["request", "decision", "lesson"])
def test_another_tenants_record_is_refused_exactly_as_an_unknown_one(owner, elsewhere, kind):
    canon_document()
    before = written()
    answers = []
    for pk in (elsewhere[kind].pk, uuid.uuid4()):
        with pytest.raises(DomainError) as refused:
            suggestion(actor(owner), evidence=[{"kind": kind, "id": str(pk)}])
        answers.append((refused.value.kind, refused.value.field, _unknown_said(refused.value.message)))
    assert answers[0] == answers[1]
    assert written() == before


def test_a_request_the_brain_cannot_see_is_refused_as_an_unknown_one(owner, other_owner):
    hidden = new_request(actor(other_owner), destination="content", request_title="Affiliate and Content only")
    canon_document()
    with pytest.raises(DomainError) as refused:
        suggestion(actor(owner), evidence=[{"kind": "request", "id": str(hidden.pk)}])
    assert refused.value.message == f"Evidence item 1: no request {hidden.pk} that you can see here."


def test_only_a_suggestion_cites_evidence_and_a_reason_needs_a_change(owner, cited):
    before = written()
    with pytest.raises(DomainError) as refused:
        new_request(actor(owner), evidence=items(cited))
    assert refused.value.field == "evidence" and "Only an mcr_update_suggestion" in refused.value.message
    with pytest.raises(DomainError) as refused:
        new_request(actor(owner), destination="headoffice", request_type="mcr_update_suggestion", reason=WHY)
    assert refused.value.field == "reason" and "goes with a proposed change" in refused.value.message
    assert written() == before


def test_the_database_refuses_another_tenants_record_as_evidence(owner, elsewhere):
    # A direct writer (Supabase, raw SQL) gets no further than the app: the references are tenant-matched.
    request = suggestion(actor(owner))
    for kind, record in elsewhere.items():
        with pytest.raises(IntegrityError), transaction.atomic():
            SuggestionEvidence.objects.create(tenant_id=request.tenant_id, request=request, kind=kind,
                                              added_by="direct writer", **{f"cited_{kind}": record})
    assert not SuggestionEvidence.objects.exists()


def test_evidence_refuses_update_in_the_database(owner, cited):
    suggestion(actor(owner), evidence=items(cited))
    with pytest.raises(Exception) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE mwms_suggestion_evidence SET added_by = 'someone else'")
    assert any(words in str(refused.value) for words in ("append-only", "Cannot update", "permission denied"))


# --- the approved amendment keeps it ------------------------------------------------------------------

def test_the_approved_amendment_records_the_reason_and_the_evidence(owner, reviewer, cited):
    request = suggestion(actor(owner), reason=WHY, evidence=items(cited))
    gs.feedback_classify(request=request, actor=actor(reviewer), classification="propose_mcr_update", note=CLASSIFIED)
    # HeadOffice amends the text first: the reason is carried into the new revision.
    gs.canon_proposal_amend(request=BrainRequest.objects.get(pk=request.pk), actor=actor(reviewer),
                            proposed_text=CANON_PROPOSED + "\n## Data\n\nawaiting_data pauses the clock.\n",
                            note="Say what the new status does to the SLA clock.")
    gs.mcr_decide(request=BrainRequest.objects.get(pk=request.pk), actor=actor(reviewer), decision="approved",
                  reasoning=CLASSIFIED)
    evidence = CanonAmendment.objects.get(request=request).evidence
    assert evidence["reason"] == WHY
    assert evidence["cited"] == [
        {"kind": "request", "id": str(cited["request"].pk), "title": "Waiting on the supplier's data for a week"},
        {"kind": "decision", "id": str(cited["decision"].pk), "title": "Hold until the data lands"},
        {"kind": "lesson", "id": str(cited["lesson"].pk),
         "title": "Requests waiting on outside data need a status of their own"}]


# --- the API ---------------------------------------------------------------------------------------------

def api_body(**extra) -> dict:
    return {"destination_brain": "headoffice", "request_type": "mcr_update_suggestion",
            "request_title": "Add an awaiting_data status",
            "request_summary": "Our workspace needs a status for requests waiting on third-party data.",
            "canon_document": canon_document().slug, "proposed_text": CANON_PROPOSED, **extra}


def test_the_api_takes_the_evidence_and_the_reason(brains, cited):
    response = api_as("research").post("/requests", api_body(reason=WHY, evidence=items(cited)))
    assert response.status_code == 201, response.json()
    request = BrainRequest.objects.get(pk=response.json()["request_id"])
    assert stored(request) == [(kind, record.pk) for kind, record in cited.items()]
    assert CanonProposal.objects.get(request=request).reason == WHY


@pytest.mark.parametrize(("evidence", "says"), [
    ([{"kind": "task", "id": str(uuid.uuid4())}], "evidence.0.kind"),
    ([{"kind": "request"}], "evidence.0.id"),
    ([{"kind": "request", "id": "nope"}], "evidence"),
    ([{"kind": "decision", "id": str(uuid.uuid4())}], "evidence"),
])
def test_the_api_refuses_unusable_evidence_with_422_naming_the_field(brains, evidence, says):
    before = written()
    response = api_as("research").post("/requests", api_body(evidence=evidence))
    assert response.status_code == 422 and says in response.json()["errors"], response.json()
    assert written() == before


def test_the_api_answers_another_tenants_id_exactly_as_an_unknown_one(brains, elsewhere):
    research = api_as("research")
    answers = []
    for pk in (elsewhere["decision"].pk, uuid.uuid4()):
        response = research.post("/requests", api_body(evidence=[{"kind": "decision", "id": str(pk)}]))
        answers.append((response.status_code, _unknown_said(response.json()["detail"]),
                        {k: _unknown_said(v) for k, v in response.json()["errors"].items()}))
    assert answers[0] == answers[1] and answers[0][0] == 422
    assert not SuggestionEvidence.objects.exists()


def test_the_openapi_document_describes_the_evidence(client):
    schema = client.get("/api/v1/openapi.json").json()
    request_in = schema["components"]["schemas"]["RequestIn"]["properties"]
    assert "evidence" in request_in and "reason" in request_in
    evidence_in = schema["components"]["schemas"]["EvidenceIn"]
    assert set(evidence_in["properties"]) == {"kind", "id"}
    kinds = schema["components"]["schemas"].get("EvidenceKind", {}).get("enum") or evidence_in["properties"]["kind"]
    assert "lesson" in str(kinds)


# --- the form ----------------------------------------------------------------------------------------------

CREATE = reverse("requests:create")


def form_data(**extra) -> dict:
    return {"origin_brain": "research", "destination_brain": "headoffice", "request_type": "mcr_update_suggestion",
            "priority": "medium", "operating_layer": "operational", "request_title": "Add an awaiting_data status",
            "request_summary": "Our workspace needs a status for requests waiting on third-party data.",
            "head_office_visible": "on", "canon_document": canon_document().slug, "proposed_text": CANON_PROPOSED,
            **extra}


def test_the_form_takes_links_and_ids_one_per_line(client, owner, cited):
    lines = "\n".join([
        f"http://testserver/requests/{cited['request'].pk}/",                                   # the address bar
        f"http://testserver/requests/{cited['request'].pk}/#decision-{cited['decision'].pk}",   # "Cite" beside it
        f"lesson: {cited['lesson'].pk}",
    ])
    client.force_login(owner)
    # As a browser sends a textarea: lines ended CRLF.
    page = client.post(CREATE, form_data(reason=WHY, evidence=lines.replace("\n", "\r\n"),
                                         proposed_text=CANON_PROPOSED.replace("\n", "\r\n")))
    assert page.status_code == 302, page.context["form"].errors
    request = BrainRequest.objects.get(request_title="Add an awaiting_data status")
    assert stored(request) == [(kind, record.pk) for kind, record in cited.items()]
    proposal = CanonProposal.objects.get(request=request)
    assert proposal.reason == WHY
    # Only the section the writer changed is changed: the browser's line ends are not a change.
    assert proposal.proposed_text == CANON_PROPOSED and proposal.sections == ["Statuses"]


def test_the_form_refuses_an_unknown_id_on_its_field_and_writes_nothing(client, owner, elsewhere):
    client.force_login(owner)
    before = written()
    page = client.post(CREATE, form_data(evidence=f"decision: {elsewhere['decision'].pk}"))
    assert page.status_code == 200
    assert page.context["form"].errors["evidence"] == [
        f"Evidence item 1: no decision {elsewhere['decision'].pk} that you can see here."]
    assert "that you can see here" in page.text
    assert written() == before


def test_the_drill_downs_cite_links_open_the_form_with_the_record_filled_in(client, reviewer, cited):
    client.force_login(reviewer)
    page = client.get(reverse("requests:detail", args=[cited["request"].pk]))
    link = f"{CREATE}?request_type=mcr_update_suggestion&amp;evidence=decision:{cited['decision'].pk}"
    assert link in page.text
    form = client.get(link.replace("&amp;", "&")).context["form"]
    assert form["evidence"].value() == f"decision:{cited['decision'].pk}"
    assert form["request_type"].value() == "mcr_update_suggestion"


# --- the pages show it ---------------------------------------------------------------------------------------

def proposed(owner, reviewer, evidence) -> BrainRequest:
    request = suggestion(actor(owner), reason=WHY, evidence=evidence, request_title="Add awaiting_data")
    gs.feedback_classify(request=request, actor=actor(reviewer), classification="propose_mcr_update", note=CLASSIFIED)
    return BrainRequest.objects.get(pk=request.pk)


def links(cited) -> list[str]:
    return [f'<a href="/requests/{cited["request"].pk}/">Waiting on the supplier&#x27;s data for a week</a>',
            f'<a href="/requests/{cited["request"].pk}/#decision-{cited["decision"].pk}">Hold until the data lands</a>',
            f'<a href="/requests/{cited["request"].pk}/#lesson-{cited["lesson"].pk}">'
            f'Requests waiting on outside data need a status of their own</a>']


def test_the_review_pages_and_the_drill_down_link_the_evidence_by_title(client, owner, reviewer, cited):
    request = proposed(owner, reviewer, items(cited))
    client.force_login(reviewer)
    for url in (reverse("governance:feedback"), reverse("governance:mcr_review", args=[request.pk]),
                reverse("requests:detail", args=[request.pk])):
        page = client.get(url)
        assert page.status_code == 200
        for link in links(cited):
            assert link in page.text, url
        assert WHY.replace("'", "&#x27;") in page.text


def test_a_brain_owner_sees_a_record_they_may_not_see_as_such_without_its_title(client, owner, reviewer,
                                                                               other_owner):
    hidden = new_request(actor(other_owner), destination="content", request_title="Affiliate and Content only")
    # HeadOffice files it from Research, so Research's owner reads the suggestion but not that request.
    request = suggestion(actor(reviewer), origin_brain="research", request_title="Add awaiting_data",
                         evidence=[{"kind": "request", "id": str(hidden.pk)}])
    client.force_login(reviewer)
    assert "Affiliate and Content only" in client.get(reverse("requests:detail", args=[request.pk])).text
    client.force_login(owner)
    page = client.get(reverse("requests:detail", args=[request.pk]))
    assert page.status_code == 200 and "A request you cannot see" in page.text
    assert "Affiliate and Content only" not in page.text and f"/requests/{hidden.pk}/" not in page.text


# --- their cost ----------------------------------------------------------------------------------------------

def many(owner, reviewer, rows: int) -> list[dict]:
    made = []
    for i in range(rows):
        made.append({"kind": "request", "id": str(make_request(request_title=f"Evidence {i}").pk)})
    return made


@pytest.mark.parametrize("rows", [5, 200])
def test_the_approval_screen_and_the_drill_down_cost_the_same_at_any_amount_of_evidence(
        client, owner, reviewer, rows, django_assert_num_queries):
    evidence = many(owner, reviewer, min(rows, 50))          # at most 50 items per suggestion
    request = proposed(owner, reviewer, evidence)
    client.force_login(reviewer)
    for url, expected in ((reverse("governance:mcr_review", args=[request.pk]), APPROVAL_SCREEN_QUERIES),
                          (reverse("requests:detail", args=[request.pk]), SUGGESTION_DRILL_DOWN_QUERIES)):
        client.get(url)  # warm the per-process Brain registry
        with django_assert_num_queries(expected):
            page = client.get(url)
        assert page.text.count('class="badge badge-evidence"') == len(evidence)


APPROVAL_SCREEN_QUERIES = 10    # the screen's reads, one of them the evidence (the nav's saved views are fetched when it is opened, issue 16)
SUGGESTION_DRILL_DOWN_QUERIES = 16   # the drill-down, +2 for a suggestion: its proposal and its evidence (its lineage check is fetched on its own, issue 16; +1 the timeline's people by name, issue 14; -3 its chain, its watch button, and its authors with the assign form's people one statement each; -2 its nav's saved views fetched when opened and its Brain options from the registry: issue 16)


@pytest.mark.parametrize("rows", [5, 200])
def test_the_feedback_queue_costs_the_same_with_evidence_on_every_row(client, owner, reviewer, rows,
                                                                      django_assert_num_queries):
    cited_once = many(owner, reviewer, 3)
    for i in range(min(rows, 25)):        # a page of the queue
        proposed(owner, reviewer, cited_once)
    for _ in range(rows):
        make_request(request_title="Background row")
    client.force_login(reviewer)
    client.get(reverse("governance:feedback"))
    with django_assert_num_queries(FEEDBACK_QUEUE_QUERIES):
        page = client.get(reverse("governance:feedback"))
    assert page.text.count('class="badge badge-evidence"') == 3 * min(rows, 25)


# One of them the evidence of every row on the page; one counts both queues, in one statement at any
# size (issue 16: a count each at 100,000 requests, none while each queue fit on its first page; the
# nav's saved views are fetched when it is opened).
FEEDBACK_QUEUE_QUERIES = 9


# --- the suggestions drafted from lessons before the evidence had its table -----------------------------------

def test_the_migration_turns_the_lessons_a_draft_named_in_meta_json_into_its_evidence(brains):
    from importlib import import_module
    from types import SimpleNamespace

    migration = import_module("governance_app.migrations.0021_suggestion_evidence")
    lessons = [make_lesson(insight=f"Lesson {i}") for i in range(2)]
    drafted = make_request(request_type="mcr_update_suggestion", target_brain="headoffice",
                           meta_json={"lesson_ids": [str(lessons[1].pk), str(uuid.uuid4()), str(lessons[0].pk)]})
    make_request(meta_json={"lesson_ids": [str(lessons[0].pk)]})   # not a suggestion: nothing to cite

    migration.evidence_from_meta_json(None, SimpleNamespace(connection=connection))

    # The lessons that exist, in the draft's order; an id of no lesson is left out.
    assert [(row.kind, row.cited_lesson_id) for row in SuggestionEvidence.objects.order_by("position")] == [
        ("lesson", lessons[1].pk), ("lesson", lessons[0].pk)]
    assert set(SuggestionEvidence.objects.values_list("request_id", flat=True)) == {drafted.pk}


# --- the form's evidence picker ---------------------------------------------------------------------------------

PICK = reverse("governance:evidence_search")


def picked(page) -> list[str]:
    return re.findall(r'data-evidence="([a-z]+):', page.text)


def test_the_picker_finds_the_requests_decisions_and_lessons_the_person_may_see(client, owner, reviewer,
                                                                               other_owner, cited, elsewhere):
    new_request(actor(other_owner), destination="content", request_title="Hidden data for Content")
    client.force_login(reviewer)
    page = client.get(PICK, {"q": "data"}, HTTP_HX_REQUEST="true")
    assert page.status_code == 200
    assert f'data-evidence="decision:{cited["decision"].pk}"' in page.text
    assert f'data-evidence="lesson:{cited["lesson"].pk}"' in page.text
    assert f'data-evidence="request:{cited["request"].pk}"' in page.text
    assert set(picked(page)) == {"request", "decision", "lesson"}      # no tasks or artifacts to cite
    assert "Zeta" not in page.text                                       # another tenant's: never
    client.force_login(owner)
    page = client.get(PICK, {"q": "data"})
    assert "Hidden data for Content" not in page.text and f"request:{cited['request'].pk}" in page.text


def test_the_picker_asks_for_words_and_sends_anonymous_visitors_to_sign_in(client, reviewer):
    assert client.get(PICK, {"q": "data"}).status_code == 302
    client.force_login(reviewer)
    assert "Type words from its title or text." in client.get(PICK).text
    assert "Nothing you can see matches" in client.get(PICK, {"q": "zzzqqq"}).text
    assert client.post(PICK, {"q": "data"}).status_code == 405


@pytest.mark.parametrize("rows", [5, 200])
def test_the_picker_costs_the_same_at_any_size(client, reviewer, rows, django_assert_num_queries):
    for i in range(rows):
        make_request(request_title=f"Data request {i}")
    client.force_login(reviewer)
    client.get(PICK, {"q": "data"})
    with django_assert_num_queries(PICKER_QUERIES + (connection.vendor == "postgresql")):  # + the matching ids
        page = client.get(PICK, {"q": "data"})
    assert len(picked(page)) == min(rows, 20)


PICKER_QUERIES = 5   # the session, the person and their membership; a page of hits of the three kinds; their requests
