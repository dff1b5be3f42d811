"""Intake surfaces that become Brain Requests: signals (connector "signal flow") and Brain Room
messages (protocol "Standard Flow Example 5"). Each is an input surface, never a replacement for
the request: both go through request_create, so the request follows normal routing from there.
"""

import uuid
from contextlib import contextmanager
from typing import Any, Iterator

from governance_app.kernel import limits
from governance_app.kernel.actors import Actor
from governance_app.kernel.errors import DomainError
from governance_app.kernel.transactions import atomic
from requests_app.models import BrainRequest, Priority, RequestType, Signal, SignalDirection, SignalType
from requests_app.services import request_create

# The request a signal becomes when the source does not say (connector "signal sources").
SIGNAL_REQUEST_TYPE = {
    SignalType.DASHBOARD_KPI_MOVEMENT: RequestType.HEAD_OFFICE_REVIEW_REQUEST,
    SignalType.EXPERIMENT_OUTCOME: RequestType.EXPERIMENTATION_REQUEST,
    SignalType.FINANCIAL_THRESHOLD: RequestType.FINANCE_REVIEW_REQUEST,
    SignalType.ANOMALY_DETECTION: RequestType.SIT_INTEGRITY_REQUEST,
    SignalType.EVIDENCE_UPDATE: RequestType.DATA_VALIDATION_REQUEST,
    SignalType.COMPLIANCE_VIOLATION: RequestType.COMPLIANCE_REVIEW_REQUEST,
    SignalType.STAGE_PROGRESSION_ATTEMPT: RequestType.SIT_INTEGRITY_REQUEST,
    SignalType.MANUAL_EXECUTIVE_REVIEW: RequestType.HEAD_OFFICE_REVIEW_REQUEST,
    SignalType.RESEARCH_DENSITY_SHIFT: RequestType.RESEARCH_REQUEST,
    SignalType.CAMPAIGN_DETERIORATION: RequestType.ADS_SIGNAL_REQUEST,
    SignalType.TASK_FAILURE_CLUSTER: RequestType.ESCALATION_REQUEST,
    SignalType.UNRESOLVED_BLOCKER: RequestType.ESCALATION_REQUEST,
}
TITLE_LENGTH = 80


@contextmanager
def _fields_named(fields: dict[str, str], labels: dict[str, str]) -> Iterator[None]:
    """Refusals name the intake's own fields (user_instruction), not the request's (request_summary)."""
    try:
        yield
    except DomainError as error:
        if not any(field in fields for field in [error.field, *error.errors]):
            raise
        message = error.message
        for old, new in labels.items():
            message = message.replace(old, new)
        raise DomainError(message, kind=error.kind, field=fields.get(error.field, error.field),
                          errors={fields.get(k, k): message if k == error.field else v
                                  for k, v in error.errors.items()}) from None


def _title(text: str) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= TITLE_LENGTH else line[:TITLE_LENGTH - 1].rstrip() + "…"


def signal_intake(*, actor: Actor, signal_type: str, summary: str, destination_brain: str,
                  direction: str = SignalDirection.UPWARD, request_type: str | None = None,
                  request_title: str = "", priority: str = Priority.MEDIUM, payload: dict[str, Any] | None = None,
                  source_page: str = "", source_system: str = "", origin_brain: str | None = None) -> Signal:
    """Record a signal and the Brain Request it triggers, citing each other (connector rule 5)."""
    if signal_type not in SignalType.values:
        raise DomainError(f"Signal type must be one of: {', '.join(SignalType.values)}.", field="signal_type")
    if direction not in SignalDirection.values:
        raise DomainError(f"Direction must be one of: {', '.join(SignalDirection.values)}.", field="direction")
    too_large = limits.too_large(payload or {})
    if too_large:
        raise DomainError(f"payload: {too_large}.", field="payload")
    signal_id = uuid.uuid4()
    label = SignalType(signal_type).label
    with atomic(), _fields_named({"request_summary": "summary"}, {"Request summary": "The summary"}):
        request = request_create(
            actor=actor, origin_brain=origin_brain, destination_brain=destination_brain,
            request_type=request_type or SIGNAL_REQUEST_TYPE[signal_type],
            request_title=(request_title or "").strip() or f"{label}: {_title(summary)}",
            request_summary=summary, priority=priority, source_origin=f"signal:{signal_type}",
            source_page=source_page, source_system=source_system,
            meta_json={"signal": {"signal_id": str(signal_id), "signal_type": signal_type, "direction": direction}},
            note=f"Triggered by a {label.lower()} signal.",
        )
        return Signal.objects.create(
            id=signal_id, tenant_id=request.tenant_id, source_brain_id=request.requesting_brain_id,
            signal_type=signal_type, direction=direction, summary=request.request_summary,
            payload=dict(payload or {}), request=request, created_by=actor.label,
        )


def brain_room_message_intake(*, actor: Actor, requested_brain: str, user_instruction: str,
                              urgency: str = Priority.MEDIUM, task_type: str = "", expected_output: str = "",
                              source_context: Any = None, request_title: str = "", source_page: str = "",
                              origin_brain: str | None = None) -> BrainRequest:
    """Convert a Brain Room message into a governed brain_room_request (protocol flow example 5)."""
    # The message itself is kept in the request's meta_json: too large a one is too large a source_context.
    fields = {"request_summary": "user_instruction", "destination_brain": "requested_brain", "priority": "urgency",
              "meta_json": "source_context"}
    labels = {"Request summary": "The user instruction", "Destination Brain": "Requested Brain",
              "Priority": "Urgency", "meta_json": "source_context"}
    with _fields_named(fields, labels):
        return request_create(
            actor=actor, origin_brain=origin_brain, destination_brain=requested_brain,
            request_type=RequestType.BRAIN_ROOM_REQUEST,
            request_title=(request_title or "").strip() or _title(user_instruction) or "Brain Room message",
            request_summary=user_instruction, required_output=(expected_output or "").strip(), priority=urgency,
            source_origin="brain_room", source_system="brain_room", source_page=source_page,
            meta_json={"brain_room": {"user_instruction": user_instruction, "source_context": source_context or {},
                                      "requested_brain": requested_brain, "urgency": urgency,
                                      "task_type": (task_type or "").strip(),
                                      "expected_output": (expected_output or "").strip()}},
        )
