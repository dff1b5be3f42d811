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
    canon_document_id: UUID | None = None
    amended_body: Document = ""
    new_version: Name = ""
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
                                   expected_version=data.expected_version)
    return _result(decision, brain_request, request.auth)


# Listed with the requests' endpoints, under the name it has always had.
@get(router, "/requests/{request_id}", response={200: RequestDetail, **errors(401, 404, 422)},
     tags=["requests"], operation_id="requests_app_api_get_request")
def get_request(request: HttpRequest, request_id: UUID):
    """One request with its lineage: parent and ancestors, children, tasks with their events and
    artifacts, request events, decisions, lessons, and the moves open to the caller."""
    return request_detail_out(visible_request(request.auth, request_id), request.auth)
