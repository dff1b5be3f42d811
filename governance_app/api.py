"""The governance part of the JSON API: decisions (and escalation resolution), feedback
classification (protocol rule 13) and the MCR gate. Each records a decision on the request's
lineage; only those the engine allows may make one."""

from typing import Any, Literal
from uuid import UUID

from django.http import HttpRequest
from ninja import Router
from ninja.responses import Status
from pydantic import Field

from governance_app import services
from governance_app.actors import Actor
from governance_app.models import Classification, DecisionKind, DecisionRecord, McrDecision
from mwms_site.api_kit import In, Out, errors, post
from requests_app.api import DecisionOut, RequestOut, decision_out, request_out, visible_request
from requests_app.models import BrainRequest, OutcomeType

router = Router(tags=["governance"])


class DecisionResult(Out):
    """The decision recorded, and the request as it stands after it."""

    decision: DecisionOut
    request: RequestOut


class DecisionIn(In):
    """A decision on the request's lineage. With `resolution` it resolves the request's escalation
    (continue where it was, close with the outcome fields, or block); a correction names the decision
    it supersedes."""

    decision_summary: str
    reasoning: str
    evidence_used: str | None = None
    expected_outcome: str | None = None
    affected_brains: list[str] | None = None
    task_id: UUID | None = None
    supersedes_id: UUID | None = None
    resolution: Literal["continue", "close", "block"] | None = None
    note: str = ""
    expected_version: int | None = Field(None, ge=0, le=2**31 - 1)
    outcome_type: OutcomeType | None = None
    result_summary: str | None = None
    outcome_decision: str | None = None
    outcome_evidence: list[str] | None = None
    next_step: str | None = None
    next_step_owner: str | None = None
    head_office_review_required: bool | None = None
    closure_reason: str | None = None


OUTCOME_FIELDS = ("outcome_type", "result_summary", "outcome_decision", "outcome_evidence", "next_step",
                  "next_step_owner", "head_office_review_required", "closure_reason")


class ClassificationIn(In):
    """HeadOffice's classification of feedback (protocol rule 13); `route_to` names the Brain for
    route_to_another_brain (and may redirect the other work classifications)."""

    classification: Classification
    note: str = Field(description="Why: the classification's reasoning.")
    route_to: str | None = None
    expected_version: int | None = Field(None, ge=0, le=2**31 - 1)


class McrDecisionIn(In):
    """The MCR gate: only HeadOffice decides, only on a request awaiting it. An approval may carry
    the canon amendment itself."""

    decision: McrDecision
    reasoning: str
    canon_document_id: UUID | None = None
    amended_body: str = ""
    new_version: str = ""
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
        outcome = {k: fields[k] for k in OUTCOME_FIELDS if fields[k] is not None}
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
