"""The governance part of the JSON API: decisions (and escalation resolution), feedback
classification (protocol rule 13) and the MCR gate. Each records a decision on the request's
lineage; only those the engine allows may make one. The lineage of one request (GET
/requests/{request_id}) is composed here, where requests, tasks and decisions meet."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from django.http import HttpRequest
from ninja import Router
from ninja.responses import Status
from pydantic import Field

from governance_app import services
from governance_app.kernel.actors import Actor
from governance_app.kernel.errors import DomainError, Refusal
from governance_app.models import Classification, DecisionKind, DecisionRecord, McrDecision
from mwms_site.api_kit import Document, In, Name, Out, Text, errors, get, post
from requests_app.api import (
    OutcomeIn,
    RequestEventOut,
    RequestNode,
    RequestOut,
    RequestRef,
    request_event_out,
    request_node_out,
    request_out,
    request_ref,
    visible_request,
)
from requests_app import canon
from requests_app.models import BrainRequest
from requests_app.selectors import request_lineage
from requests_app.transitions import CLOSING_FIELDS
from tasks_app.api import TaskInLineage, task_in_lineage_out

router = Router(tags=["governance"])


class DecisionOut(Out):
    decision_id: UUID
    request_id: UUID | None
    task_id: UUID | None
    authority: str
    decision_kind: str
    decision_summary: str
    reasoning: str
    evidence_used: str | None
    expected_outcome: str | None
    affected_brains: list[Any]
    classification: str | None
    mcr_decision: str | None
    supersedes_id: UUID | None
    recorded_by: str
    created_at: datetime


class LessonOut(Out):
    lesson_id: UUID
    originating_brain: str
    event_or_experiment: str
    result: str
    insight: str
    recommended_improvement: str
    task_id: UUID | None
    decision_id: UUID | None
    recorded_by: str
    created_at: datetime


class RequestDetail(RequestOut):
    """The request with its lineage: where it came from, what it spawned, and its whole history."""

    parent: RequestRef | None = Field(description="The parent request, or null when there is none or the caller "
                                                  "may not see it (parent_request_id still names it).")
    ancestors: list[RequestRef] = Field(description="The earlier requests of the chain the caller may see: "
                                                    "parent first, root last.")
    hidden_ancestors: int = Field(description="How many earlier requests of the chain the caller may not see.")
    children: list[RequestNode]
    tasks: list[TaskInLineage]
    events: list[RequestEventOut]
    decisions: list[DecisionOut]
    lessons: list[LessonOut]
    warnings: list[str]


def decision_out(d: Any) -> dict[str, Any]:
    return {"decision_id": d.pk, "request_id": d.related_request_id, "task_id": d.related_task_id,
            "authority": d.authority_id, "decision_kind": d.decision_kind, "decision_summary": d.decision_summary,
            "reasoning": d.reasoning, "evidence_used": d.evidence_used, "expected_outcome": d.expected_outcome,
            "affected_brains": d.affected_brains, "classification": d.classification,
            "mcr_decision": d.mcr_decision, "supersedes_id": d.supersedes_id, "recorded_by": d.recorded_by,
            "created_at": d.created_at}


def lesson_out(x: Any) -> dict[str, Any]:
    return {"lesson_id": x.pk, "originating_brain": x.originating_brain_id,
            "event_or_experiment": x.event_or_experiment, "result": x.result, "insight": x.insight,
            "recommended_improvement": x.recommended_improvement, "task_id": x.related_task_id,
            "decision_id": x.related_decision_id, "recorded_by": x.recorded_by, "created_at": x.created_at}


def request_detail_out(brain_request: BrainRequest, actor: Actor) -> dict[str, Any]:
    """The request with its lineage (a fixed number of queries: request_lineage)."""
    lineage = request_lineage(actor=actor, request=brain_request)
    return {
        **request_out(brain_request, actor, task_ids=[t.pk for t in lineage.tasks]),
        "parent": request_ref(lineage.parent) if lineage.parent else None,
        "ancestors": [request_ref(r) for r in lineage.ancestors],
        "hidden_ancestors": lineage.hidden_ancestors,
        "children": [request_node_out(node) for node in lineage.children],
        "tasks": [task_in_lineage_out(t) for t in lineage.tasks],
        "events": [request_event_out(e) for e in lineage.events],
        "decisions": [decision_out(d) for d in lineage.decisions],
        "lessons": [lesson_out(x) for x in lineage.lessons],
        "warnings": lineage.warnings,
    }


class DecisionResult(Out):
    """The decision recorded, and the request as it stands after it."""

    decision: DecisionOut
    request: RequestOut


class DecisionIn(OutcomeIn):
    """A decision on the request's lineage. With `resolution` it resolves the request's escalation
    (continue where it was, close with the outcome fields, or block); a correction names the decision
    it supersedes."""

    decision_summary: Text
    reasoning: Text
    evidence_used: Text | None = None
    expected_outcome: Text | None = None
    affected_brains: list[Name] | None = None
    task_id: UUID | None = None
    supersedes_id: UUID | None = None
    resolution: Literal["continue", "close", "block"] | None = None
    note: Text = ""
    expected_version: int | None = Field(None, ge=0, le=2**31 - 1)


class ClassificationIn(In):
    """HeadOffice's classification of feedback (protocol rule 13); `route_to` names the Brain for
    route_to_another_brain (and may redirect the other work classifications)."""

    classification: Classification
    note: Text = Field(description="Why: the classification's reasoning.")
    route_to: Name | None = None
    expected_version: int | None = Field(None, ge=0, le=2**31 - 1)


class McrDecisionIn(In):
    """The MCR gate: only HeadOffice decides, only on a request awaiting it. An approval may carry
    the canon amendment itself."""

    decision: McrDecision
    reasoning: Text
    canon_document_id: UUID | None = Field(None, description="With an approval: amend the proposal to this "
                                                              "document first (with amended_body).")
    amended_body: Document = Field("", description="With an approval: the document's full text as the approver "
                                                  "amends the proposal (recorded as a new proposal revision).")
    new_version: Name = Field("", description="The version the approval makes; the next one (v1.2 → v1.3) if empty.")
    amendment_type: Literal["manual_update", "governance_tightening", "capability_expansion"] = "manual_update"
    can_rollback: bool = True
    expected_version: int | None = Field(None, ge=0, le=2**31 - 1)


def _result(decision: DecisionRecord, brain_request: BrainRequest, actor: Actor) -> Status:
    brain_request.refresh_from_db()
    return Status(201, {"decision": decision_out(decision), "request": request_out(brain_request, actor)})


def _escalation_resolution(brain_request: BrainRequest) -> DecisionRecord:
    return brain_request.decisions.filter(decision_kind=DecisionKind.ESCALATION_RESOLUTION).latest("created_at")


DECISION_ERRORS = errors(400, 401, 403, 404, 409, 422)


@post(router, "/requests/{request_id}/decisions", response={201: DecisionResult, **DECISION_ERRORS})
def record_decision(request: HttpRequest, request_id: UUID, data: DecisionIn):
    """Record a decision (HeadOffice, or a Brain whose registry entry lets it decide); with
    `resolution`, resolve the request's escalation by that decision."""
    brain_request = visible_request(request.auth, request_id)
    fields: dict[str, Any] = data.model_dump(mode="json")
    if data.resolution:
        outcome = {k: fields[k] for k in CLOSING_FIELDS if fields[k] is not None}
        services.escalation_resolve(request=brain_request, actor=request.auth, resolution=data.resolution,
                                    decision_summary=data.decision_summary, reasoning=data.reasoning,
                                    outcome=outcome, note=data.note, expected_version=data.expected_version)
        return _result(_escalation_resolution(brain_request), brain_request, request.auth)
    decision = services.decision_record(
        actor=request.auth, request=brain_request, decision_summary=data.decision_summary,
        reasoning=data.reasoning, evidence_used=data.evidence_used, expected_outcome=data.expected_outcome,
        affected_brains=data.affected_brains, task_id=data.task_id, supersedes_id=data.supersedes_id)
    return _result(decision, brain_request, request.auth)


@post(router, "/requests/{request_id}/classification", response={201: DecisionResult, **DECISION_ERRORS})
def classify_feedback(request: HttpRequest, request_id: UUID, data: ClassificationIn):
    """HeadOffice classifies a feedback request as one of protocol rule 13's ten outcomes."""
    brain_request = visible_request(request.auth, request_id)
    decision = services.feedback_classify(request=brain_request, actor=request.auth,
                                          classification=data.classification.value, note=data.note,
                                          route_to=data.route_to, expected_version=data.expected_version)
    return _result(decision, brain_request, request.auth)


@post(router, "/requests/{request_id}/mcr-decision", response={201: DecisionResult, **DECISION_ERRORS})
def decide_mcr_update(request: HttpRequest, request_id: UUID, data: McrDecisionIn):
    """HeadOffice decides an MCR update suggestion: approved, rejected or parked, with reasoning."""
    brain_request = visible_request(request.auth, request_id)
    decision = services.mcr_decide(request=brain_request, actor=request.auth, decision=data.decision.value,
                                   reasoning=data.reasoning, canon_document_id=data.canon_document_id,
                                   amended_body=data.amended_body, new_version=data.new_version,
                                   amendment_type=data.amendment_type, can_rollback=data.can_rollback,
                                   expected_version=data.expected_version)
    return _result(decision, brain_request, request.auth)


# --- the canon (issue 15): read by anyone in the tenant, rolled back by HeadOffice ------------------

class CanonDocumentOut(Out):
    slug: str
    title: str
    document_type: str
    version: str
    governs: list[str] = Field(description="The Brains it governs; empty: every Brain.")
    request_types: list[str] = Field(description="The request types it covers; empty: every type.")
    last_amended_at: datetime | None
    amendments: int


class CanonDocumentText(CanonDocumentOut):
    text: str = Field(description="The current text (Markdown).")


class CanonVersionOut(Out):
    version: str
    amendment_id: UUID | None = Field(description="The amendment that made it; null for the text it started from.")
    amendment_type: str | None
    version_before: str | None
    approved_by: str | None
    approved_at: datetime | None
    rolled_back_at: datetime | None = Field(description="When it was rolled back (derived from the rollback "
                                                        "amendment); null if it was not.")
    rolled_back_by: UUID | None = Field(description="The rollback amendment, if any.")
    rolls_back: UUID | None = Field(description="For a rollback: the amendment it undid.")
    can_rollback: bool | None
    decision_id: UUID | None
    request_id: UUID | None
    sections: list[str] = Field(description="The sections (Markdown headings) it changed.")


class CanonVersionText(CanonVersionOut):
    text: str
    diff: str = Field(description="Unified diff against the version before (empty for the first).")


class RollbackIn(In):
    reason: Text = Field(description="Why it is rolled back; recorded as the decision's reasoning.")


class RollbackOut(Out):
    amendment: CanonVersionOut
    document: CanonDocumentText


def _document_out(d, *, text: bool = False) -> dict[str, Any]:
    out = {"slug": d.slug, "title": d.title, "document_type": d.document_type, "version": d.version,
           "governs": list(d.governs), "request_types": list(d.request_types),
           "last_amended_at": getattr(d, "last_amended", None), "amendments": getattr(d, "amendment_count", 0)}
    if text:
        out["text"] = d.body
    return out


def _version_out(v: canon.Version, *, text: bool = False, previous: canon.Version | None = None) -> dict[str, Any]:
    a = v.amendment
    out: dict[str, Any] = {
        "version": v.version, "amendment_id": a.pk if a else None, "amendment_type": a.amendment_type if a else None,
        "version_before": v.previous, "approved_by": a.approved_by if a else None,
        "approved_at": a.approved_when if a else None, "rolled_back_at": a.rolled_back_at if a else None,
        "rolled_back_by": a.rolled_back_by.pk if a and a.rolled_back_at else None,
        "rolls_back": a.rolls_back_id if a else None, "can_rollback": a.can_rollback if a else None,
        "decision_id": a.decision_id if a else None, "request_id": a.request_id if a else None,
        "sections": canon.changed_sections(a.body_before, a.body_after) if a else [],
    }
    if text:
        out["text"] = v.body
        out["diff"] = canon.unified_diff(previous.body, v.body, previous.version, v.version) if previous else ""
    return out


def _document_or_404(actor: Actor, slug: str):
    document = canon.document_get(actor=actor, slug=slug)
    if document is None:
        raise DomainError(f"No canon document {slug!r}.", kind=Refusal.NOT_FOUND)
    return document


CANON_READ_ERRORS = errors(401, 404, 422)


@get(router, "/canon", response={200: list[CanonDocumentOut], **errors(401)}, tags=["canon"])
def list_canon(request: HttpRequest):
    """The tenant's MCR canon documents, each with its current version."""
    return [_document_out(d) for d in canon.documents_for(actor=request.auth)]


@get(router, "/canon/{slug}", response={200: CanonDocumentText, **CANON_READ_ERRORS}, tags=["canon"])
def get_canon_document(request: HttpRequest, slug: str):
    """One canon document with its current `text` and `version`."""
    document = _document_or_404(request.auth, slug)
    found = canon.documents_for(actor=request.auth).filter(pk=document.pk).first()
    return _document_out(found, text=True)


@get(router, "/canon/{slug}/versions", response={200: list[CanonVersionOut], **CANON_READ_ERRORS}, tags=["canon"])
def list_canon_versions(request: HttpRequest, slug: str):
    """The document's versions, oldest first: who approved each, when, and whether it was rolled back."""
    return [_version_out(v) for v in canon.versions(_document_or_404(request.auth, slug))]


@get(router, "/canon/{slug}/versions/{version}", response={200: CanonVersionText, **CANON_READ_ERRORS},
     tags=["canon"])
def get_canon_version(request: HttpRequest, slug: str, version: str):
    """One version's text, and its diff against the version before."""
    found = canon.version_get(_document_or_404(request.auth, slug), version)
    if found is None:
        raise DomainError(f"{slug} has no version {version!r}.", kind=Refusal.NOT_FOUND)
    this, previous = found
    return _version_out(this, text=True, previous=previous)


@post(router, "/canon/{slug}/amendments/{amendment_id}/rollback",
      response={201: RollbackOut, **errors(400, 401, 403, 404, 409, 422)}, tags=["canon"])
def rollback_canon_amendment(request: HttpRequest, slug: str, amendment_id: UUID, data: RollbackIn):
    """HeadOffice rolls back an amendment: a new `rollback` amendment restores the sections it changed
    (the earlier text byte for byte when nothing came after it), with a decision recording `reason`.
    409 when it cannot be rolled back, was already, or later amendments changed the same sections
    (the answer names them: roll those back first)."""
    amendment = services.canon_rollback(actor=request.auth, document_slug=slug, amendment_id=amendment_id,
                                        reason=data.reason)
    document = canon.documents_for(actor=request.auth).get(pk=amendment.document_id)
    this = next(v for v in canon.versions(document) if v.amendment and v.amendment.pk == amendment.pk)
    return Status(201, {"amendment": _version_out(this), "document": _document_out(document, text=True)})


# Listed with the requests' endpoints, under the name it has always had.
@get(router, "/requests/{request_id}", response={200: RequestDetail, **errors(401, 404, 422)},
     tags=["requests"], operation_id="requests_app_api_get_request")
def get_request(request: HttpRequest, request_id: UUID):
    """One request with its lineage: parent and ancestors, children, tasks with their events and
    artifacts, request events, decisions, lessons, and the moves open to the caller."""
    return request_detail_out(visible_request(request.auth, request_id), request.auth)
