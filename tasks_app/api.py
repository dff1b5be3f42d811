"""The tasks part of the JSON API: creating tasks under routed requests, and the executor's loop
(claim, start, progress, artifacts, complete or fail)."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from django.http import HttpRequest
from ninja import Router
from ninja.responses import Status
from pydantic import Field

from governance_app.actors import Actor
from mwms_site.api_kit import In, Out, errors, get, not_found, post
from requests_app.api import ArtifactOut, TaskEventOut, artifact_out, task_event_out, visible_request
from requests_app.models import Priority
from tasks_app import services
from tasks_app.models import OutputMode, RiskLevel, Task, TaskStatus
from tasks_app.selectors import task_get, task_to_act_on
from tasks_app.transitions import task_moves_open

router = Router(tags=["tasks"])


class TaskMoveOut(Out):
    move: str
    label: str
    to_status: str


class TaskOut(Out):
    task_id: UUID
    request_id: UUID
    task_type: str
    title: str
    assigned_brain: str
    assigned_employee: str | None
    task_status: TaskStatus
    priority: Priority
    risk_level: RiskLevel
    output_mode: OutputMode
    attempts: int
    max_attempts: int
    last_error: str | None
    input_payload: dict[str, Any]
    execution_notes: str
    evidence_links: list[Any]
    escalation_flag: bool
    result_id: UUID | None
    started_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    moves_open: list[TaskMoveOut]


class TaskDetail(TaskOut):
    events: list[TaskEventOut]
    artifacts: list[ArtifactOut]


def task_out(task: Task, actor: Actor) -> dict[str, Any]:
    """A task as the API shows it, with the moves open to this caller (its request must be loaded)."""
    return {
        "task_id": task.pk, "request_id": task.request_id, "task_type": task.task_type, "title": task.title,
        "assigned_brain": task.assigned_brain_id, "assigned_employee": task.assigned_employee,
        "task_status": task.status, "priority": task.priority, "risk_level": task.risk_level,
        "output_mode": task.output_mode, "attempts": task.attempts, "max_attempts": task.max_attempts,
        "last_error": task.last_error, "input_payload": task.input_payload, "execution_notes": task.execution_notes,
        "evidence_links": task.evidence_links, "escalation_flag": task.escalation_flag, "result_id": task.result_id,
        "started_at": task.started_at, "completed_at": task.completed_at, "created_at": task.created_at,
        "updated_at": task.updated_at,
        "moves_open": [{"move": m.name, "label": m.label, "to_status": m.to_status}
                       for m in task_moves_open(task, actor)],
    }


class TaskIn(In):
    """An execution task under a routed or in-progress request (connector rule 1)."""

    task_type: str
    title: str = ""
    assigned_brain: str | None = Field(None, description="A Brain working the request; defaults to its "
                                                         "primary or destination Brain.")
    input_payload: dict[str, Any] = Field(default_factory=dict)
    output_mode: OutputMode = OutputMode.ARTIFACT
    risk_level: RiskLevel = RiskLevel.LOW
    priority: Priority | None = Field(None, description="Defaults to the request's priority.")
    assigned_employee: str | None = None
    max_attempts: int = Field(3, ge=1, le=20)
    execution_notes: str = ""


class TaskTransitionIn(In):
    """Move a task: picked_up (claim this task), running (start), completed (with result_summary
    unless an artifact carries the result), failed (with error; queued again while attempts
    remain), queued (retry a failed task), cancelled or escalated (with reason)."""

    to_status: Literal["picked_up", "running", "completed", "failed", "queued", "cancelled", "escalated"]
    note: str = ""
    result_summary: str = ""
    evidence_links: list[str] = Field(default_factory=list)
    error: str = ""
    reason: str = ""
    escalation_owner: str = "headoffice"


class TaskEventIn(In):
    event_type: Literal["progress", "warning"] = "progress"
    summary: str
    payload: dict[str, Any] = Field(default_factory=dict)


class ArtifactIn(In):
    artifact_type: str
    artifact_summary: str
    content_location: str = ""
    content_json: dict[str, Any] = Field(default_factory=dict)
    as_result: bool = Field(False, description="This artifact carries the task's result.")


def _task(actor: Actor, task_id: UUID) -> Task:
    task = task_to_act_on(actor=actor, task_id=task_id)
    if task is None:
        raise not_found("task")
    return task


def _move(task: Task, actor: Actor, data: TaskTransitionIn) -> Task:
    moves = {
        "picked_up": lambda: services.task_claim(task=task, actor=actor),
        "running": lambda: services.task_start(task=task, actor=actor, note=data.note),
        "completed": lambda: services.task_complete(task=task, actor=actor, result_summary=data.result_summary,
                                                    evidence_links=data.evidence_links),
        "failed": lambda: services.task_fail(task=task, actor=actor, error=data.error),
        "queued": lambda: services.task_retry(task=task, actor=actor, note=data.note),
        "cancelled": lambda: services.task_cancel(task=task, actor=actor, reason=data.reason),
        "escalated": lambda: services.task_escalate(task=task, actor=actor, reason=data.reason,
                                                    escalation_owner=data.escalation_owner),
    }
    return moves[data.to_status]()


TASK_WRITE_ERRORS = errors(400, 401, 403, 404, 409, 422)


@post(router, "/requests/{request_id}/tasks", response={201: TaskOut, **TASK_WRITE_ERRORS})
def create_task(request: HttpRequest, request_id: UUID, data: TaskIn):
    """Create an execution task under a routed request (409 before routing: routing before execution)."""
    brain_request = visible_request(request.auth, request_id)
    task = services.task_create(request=brain_request, actor=request.auth, **data.model_dump(mode="json"))
    return Status(201, task_out(task, request.auth))


@post(router, "/tasks/claim", response={200: TaskOut, 204: None, **errors(401, 403, 422)})
def claim_task(request: HttpRequest):
    """Claim the next queued task of the token's Brain (priority first, then oldest); 204 when the
    queue is empty. Any number of executors may claim at once: each task goes to exactly one."""
    task = services.task_claim_next(actor=request.auth)
    if task is None:
        return Status(204, None)
    return task_out(task, request.auth)


@get(router, "/tasks/{task_id}", response={200: TaskDetail, **errors(401, 404, 422)})
def get_task(request: HttpRequest, task_id: UUID):
    """One task the caller may see, with its events, artifacts and the moves open to the caller."""
    task = task_get(actor=request.auth, task_id=task_id)
    if task is None:
        raise not_found("task")
    return {**task_out(task, request.auth), "events": [task_event_out(e) for e in task.events.all()],
            "artifacts": [artifact_out(a) for a in task.artifacts.all()]}


@post(router, "/tasks/{task_id}/transition", response={200: TaskOut, **TASK_WRITE_ERRORS})
def transition_task(request: HttpRequest, task_id: UUID, data: TaskTransitionIn):
    """Move a task (409 from the wrong status; 403 for another Brain's task, which an executor's
    attempt leaves on the task's timeline as a rule_violation event)."""
    task = _move(_task(request.auth, task_id), request.auth, data)
    return task_out(task, request.auth)


@post(router, "/tasks/{task_id}/events", response={201: TaskEventOut, **TASK_WRITE_ERRORS})
def add_task_event(request: HttpRequest, task_id: UUID, data: TaskEventIn):
    """Report progress or a warning on a task being worked."""
    event = services.task_progress(task=_task(request.auth, task_id), actor=request.auth, summary=data.summary,
                                   payload=data.payload, warning=data.event_type == "warning")
    return Status(201, task_event_out(event))


@post(router, "/tasks/{task_id}/artifacts", response={201: ArtifactOut, **TASK_WRITE_ERRORS})
def add_task_artifact(request: HttpRequest, task_id: UUID, data: ArtifactIn):
    """Store or link a task output; writes `output_saved` on the task's timeline."""
    artifact = services.task_artifact_save(task=_task(request.auth, task_id), actor=request.auth,
                                           **data.model_dump(mode="json"))
    return Status(201, artifact_out(artifact))
