"""The tasks part of the JSON API: creating tasks under routed requests, and the executor's loop
(claim, start, progress, artifacts, complete or fail)."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from django.http import HttpRequest
from ninja import Router
from ninja.responses import Status
from pydantic import Field

from governance_app.kernel import limits
from governance_app.kernel.actors import Actor
from mwms_site.api_kit import In, Link, Name, Out, SnakeCaseWord, Text, Title, errors, get, not_found, post
from requests_app.api import visible_request
from requests_app.models import Priority
from tasks_app import services
from tasks_app.models import OutputMode, RiskLevel, Task, TaskStatus
from tasks_app.selectors import task_get, task_to_act_on
from tasks_app.transitions import TASK_MOVE_FOR_STATUS, task_moves_open

router = Router(tags=["tasks"])


class TaskEventOut(Out):
    event_id: UUID
    task_id: UUID
    event_type: str
    event_summary: str
    actor: str
    from_status: str | None
    to_status: str | None
    event_payload: dict[str, Any]
    created_at: datetime


class ArtifactOut(Out):
    artifact_id: UUID
    task_id: UUID
    artifact_type: str
    artifact_summary: str
    content_location: str
    content_json: dict[str, Any]
    content_hash: str
    created_by: str
    created_at: datetime
    replaces_id: UUID | None


class TaskInLineage(Out):
    task_id: UUID
    task_type: str
    title: str
    assigned_brain: str
    assigned_employee: str | None
    task_status: str
    priority: str
    attempts: int
    result_id: UUID | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    events: list[TaskEventOut]
    artifacts: list[ArtifactOut]


def task_event_out(e: Any) -> dict[str, Any]:
    return {"event_id": e.pk, "task_id": e.task_id, "event_type": e.event_type, "event_summary": e.event_summary,
            "actor": e.actor, "from_status": e.from_status, "to_status": e.to_status,
            "event_payload": e.event_payload, "created_at": e.created_at}


def artifact_out(a: Any) -> dict[str, Any]:
    return {"artifact_id": a.pk, "task_id": a.task_id, "artifact_type": a.artifact_type,
            "artifact_summary": a.artifact_summary, "content_location": a.content_location,
            "content_json": a.content_json, "content_hash": a.content_hash, "created_by": a.created_by,
            "created_at": a.created_at, "replaces_id": a.replaces_id}


def task_in_lineage_out(t: Any) -> dict[str, Any]:
    return {"task_id": t.pk, "task_type": t.task_type, "title": t.title, "assigned_brain": t.assigned_brain_id,
            "assigned_employee": t.assigned_employee, "task_status": t.status, "priority": t.priority,
            "attempts": t.attempts, "result_id": t.result_id, "created_at": t.created_at,
            "updated_at": t.updated_at, "completed_at": t.completed_at,
            "events": [task_event_out(e) for e in t.events.all()],
            "artifacts": [artifact_out(a) for a in t.artifacts.all()]}



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
    output_mode: str
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


OUTPUT_MODE_HELP = (f"How the task delivers its output: any lowercase snake_case word (the canon's output_mode "
                    f"is free text), usually one of {', '.join(OutputMode.values)}; e.g. report.")


class TaskIn(In):
    """An execution task under a routed or in-progress request (connector rule 1)."""

    task_type: Name
    title: Title = ""
    assigned_brain: Name | None = Field(None, description="A Brain working the request; defaults to its "
                                                          "primary or destination Brain.")
    input_payload: dict[str, Any] = Field(default_factory=dict)
    output_mode: SnakeCaseWord = Field(OutputMode.ARTIFACT.value, description=OUTPUT_MODE_HELP)
    risk_level: RiskLevel = RiskLevel.LOW
    priority: Priority | None = Field(None, description="Defaults to the request's priority.")
    assigned_employee: Annotated[str, Field(max_length=limits.ACTOR)] | None = None
    max_attempts: int = Field(3, ge=1, le=20)
    execution_notes: Text = ""


class TaskTransitionIn(In):
    """Move a task: picked_up (claim this task), running (start), completed (with result_summary
    unless an artifact carries the result), failed (with error; queued again while attempts
    remain), queued (retry a failed task), cancelled or escalated (with reason)."""

    to_status: Literal["picked_up", "running", "completed", "failed", "queued", "cancelled", "escalated"]
    note: Text = ""
    result_summary: Text = ""
    evidence_links: list[Text] = Field(default_factory=list)
    error: Text = ""
    reason: Text = ""
    escalation_owner: Name = "headoffice"


class TaskEventIn(In):
    """A progress report or a warning, by the canon's column names (seed 000: mwms_task_events'
    event_summary and event_payload). The short names `summary` and `payload` are taken too; sent
    together with the canon's, they must agree."""

    aliases = {"summary": "event_summary", "payload": "event_payload"}

    event_type: Literal["progress", "warning"] = "progress"
    event_summary: Text
    event_payload: dict[str, Any] = Field(default_factory=dict)


class ArtifactIn(In):
    artifact_type: Name
    artifact_summary: Text
    content_location: Link = ""
    content_json: dict[str, Any] = Field(default_factory=dict)
    as_result: bool = Field(False, description="This artifact carries the task's result.")
    replaces_id: UUID | None = Field(None, description="The earlier artifact of this task that this one corrects "
                                                      "(artifacts are write-once).")


def _task(actor: Actor, task_id: UUID) -> Task:
    task = task_to_act_on(actor=actor, task_id=task_id)
    if task is None:
        raise not_found("task")
    return task


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
    """Move a task (409 from the wrong status; 403 for a move that is not the caller's; 404 for an
    executor's attempt on another Brain's task, which leaves a rule_violation event on that task's
    timeline, once per executor, task and move in each refusal window)."""
    task = services.task_move(task=_task(request.auth, task_id), actor=request.auth,
                              move=TASK_MOVE_FOR_STATUS[data.to_status], fields=data.model_dump(mode="json"))
    return task_out(task, request.auth)


@post(router, "/tasks/{task_id}/events", response={201: TaskEventOut, **TASK_WRITE_ERRORS})
def add_task_event(request: HttpRequest, task_id: UUID, data: TaskEventIn):
    """Report progress or a warning on a task being worked."""
    event = services.task_move(task=_task(request.auth, task_id), actor=request.auth,
                               move="warn" if data.event_type == "warning" else "progress",
                               fields={"summary": data.event_summary, "payload": data.event_payload})
    return Status(201, task_event_out(event))


@post(router, "/tasks/{task_id}/artifacts", response={201: ArtifactOut, **TASK_WRITE_ERRORS})
def add_task_artifact(request: HttpRequest, task_id: UUID, data: ArtifactIn):
    """Store or link a task output; writes `output_saved` on the task's timeline."""
    artifact = services.task_artifact_save(task=_task(request.auth, task_id), actor=request.auth,
                                           **data.model_dump(mode="json"))
    return Status(201, artifact_out(artifact))
