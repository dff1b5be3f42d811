"""Every write that changes a task. Each is atomic, checks the task transition table, and writes
its task event; an executor's refused move leaves a rule_violation event behind (one per window)."""

import functools
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction

from governance_app.kernel import clock, limits, webhooks
from governance_app.kernel.actors import Actor
from governance_app.kernel.brains import active_brains
from governance_app.kernel.db import SNAKE_CASE_WORD, json_safe
from governance_app.kernel.digests import artifact_content_hash, mark_fresh
from governance_app.kernel.errors import DomainError, Refusal, not_found
from governance_app.kernel.fastpath import insert_row, load_row, versioned_update
from governance_app.kernel.refusals import records_refusal, refusal_count
from governance_app.kernel.text_rules import optional_text, required_text, substantive
from governance_app.kernel.transactions import after_refusal, atomic, doomed
from governance_app.models import Brain, RefusalSubject
from requests_app import notifications
from requests_app.models import FINAL_STATUSES, BrainRequest, Priority, RequestEventType
from requests_app.selectors import requests_visible_to
from requests_app.services import request_event_write, request_move
from requests_app.transitions import (
    TASKABLE_STATUSES,
    moves_open,
    tasks_open,
    working_brains,
)
from tasks_app.models import (
    OutputMode,
    PriorityRank,
    RiskLevel,
    Task,
    TaskArtifact,
    TaskEvent,
    TaskEventType,
    TaskStatus,
)
from tasks_app.transitions import (
    TASK_MOVE_NAMES,
    TaskMove,
    TaskRole,
    task_move_check,
    task_roles_of,
)

T = TaskStatus
Service = TypeVar("Service", bound=Callable[..., Any])
CAP = limits.columns("mwms_tasks")
ARTIFACT_CAP = limits.columns("mwms_task_artifacts")


def _json_fits(value: Any, *, field: str) -> Any:
    """The JSON value, or a refusal naming the field when it is over the size limit."""
    too_large = limits.too_large(value)
    if too_large:
        raise DomainError(f"{field}: {too_large}.", field=field)
    return value


def task_event_write(*, task: Task, actor: Actor, event_type: str, summary: str,
                     from_status: str | None = None, to_status: str | None = None,
                     payload: dict[str, Any] | None = None, at: datetime | None = None,
                     event_id: uuid.UUID | None = None) -> TaskEvent:
    """Append one event to a task's timeline (call inside the transaction that made the change).

    `at` and `event_id` are for replaying a known history (the demo story); live changes omit them.
    """
    event = insert_row(TaskEvent(
        id=event_id or uuid.uuid4(),
        created_at=at or clock.now(),
        tenant_id=task.tenant_id,
        task=task,
        event_type=event_type,
        event_summary=limits.clip(summary, limits.TEXT),  # composed by the app, often quoting the input
        actor=actor.label,
        from_status=from_status,
        to_status=to_status,
        event_payload=payload or {},
    ))
    webhooks.task_event_written(task=task, event=event)
    notifications.task_event_written(task=task, event=event)
    return event


def task_record_admin_edit(*, task: Task, actor: Actor, changed_fields: dict[str, list[Any]]) -> Task:
    """Save a governed admin edit of a task and record who changed which fields from what to what."""
    with atomic():
        task.updated_at = clock.now()
        task.lock_version += 1
        task.save(update_fields=[*changed_fields, "updated_at", "lock_version"])
        if changed_fields:
            task_event_write(
                task=task, actor=actor, event_type=TaskEventType.FIELDS_CHANGED,
                summary="Edited in the admin: " + ", ".join(sorted(changed_fields)),
                payload={"via": "admin",
                         "changed_fields": {k: [json_safe(b), json_safe(a)] for k, (b, a) in changed_fields.items()}},
            )
    return task


# --- create ----------------------------------------------------------------------------------

def task_create(*, request: BrainRequest, actor: Actor, task_type: str, assigned_brain: str | None = None,
                title: str = "", input_payload: Mapping[str, Any] | None = None,
                output_mode: str = OutputMode.ARTIFACT, risk_level: str = RiskLevel.LOW,
                priority: str | None = None, assigned_employee: str | None = None, max_attempts: int = 3,
                execution_notes: str = "") -> Task:
    """Create an execution task under a routed request (connector rule 1: routing before execution)."""
    if actor.is_executor or actor.is_integration:
        raise DomainError("Tasks are created by the Brains working the request, not by executors or "
                          "integrations.", kind=Refusal.FORBIDDEN)
    task_type = required_text(task_type, field="task_type", label="Task type", limit=CAP["task_type"])
    title = optional_text(title, field="title", limit=CAP["title"])
    execution_notes = optional_text(execution_notes, field="execution_notes", limit=CAP["execution_notes"])
    assigned_employee = optional_text(assigned_employee, field="assigned_employee", limit=CAP["assigned_employee"])
    input_payload = _json_fits(dict(input_payload or {}), field="input_payload")
    if risk_level not in RiskLevel.values:
        raise DomainError(f"Risk level must be one of: {', '.join(RiskLevel.values)}.", field="risk_level")
    if not isinstance(output_mode, str) or not re.match(SNAKE_CASE_WORD, output_mode) \
            or len(output_mode) > limits.WORD:
        raise DomainError(f"Output mode must be a lowercase snake_case word of at most {limits.WORD} characters "
                          f"(a-z, 0-9 and _, a letter first), such as {', '.join(OutputMode.values)} or report.",
                          field="output_mode")
    if priority is not None and priority not in Priority.values:
        raise DomainError(f"Priority must be one of: {', '.join(Priority.values)}.", field="priority")
    if not isinstance(max_attempts, int) or not 1 <= max_attempts <= 20:
        raise DomainError("Max attempts must be a whole number from 1 to 20.", field="max_attempts")
    with atomic():
        locked = requests_visible_to(actor).select_for_update().filter(pk=request.pk).first()
        if locked is None:
            raise DomainError("No such request.", kind=Refusal.NOT_FOUND)
        mark_fresh(locked)
        if locked.status not in TASKABLE_STATUSES:
            raise DomainError(f"Tasks can only be created under a routed or in-progress request; this one is "
                              f"{locked.get_status_display().lower()}.", kind=Refusal.CONFLICT)
        if not tasks_open(locked, actor):
            raise DomainError("Only the Brains working this request (or HeadOffice) can create its tasks.",
                              kind=Refusal.FORBIDDEN)
        working = sorted(working_brains(locked))
        brain_slug = (assigned_brain or locked.primary_brain_id or locked.target_brain_id).strip()
        if brain_slug not in working:
            raise DomainError(f"A task can only be assigned to a Brain working this request "
                              f"({', '.join(working)}), not {brain_slug!r}.", field="assigned_brain")
        task = Task.objects.create(
            tenant_id=locked.tenant_id, request=locked, task_type=task_type, assigned_brain_id=brain_slug,
            assigned_employee=(assigned_employee or None), title=title,
            input_payload=input_payload, output_mode=output_mode, risk_level=risk_level,
            priority=priority or locked.priority, max_attempts=max_attempts,
            execution_notes=execution_notes,
        )
        mark_fresh(task)
        brain = active_brains(locked.tenant_id).get(brain_slug, brain_slug)
        task_event_write(task=task, actor=actor, event_type=TaskEventType.CREATED, to_status=task.status,
                         summary=f"Task created for {brain}: {task}")
        request_event_write(request=locked, actor=actor, event_type=RequestEventType.TASK_CREATED,
                            summary=f"Task created for {brain}: {task}",
                            payload={"task_id": str(task.pk), "assigned_brain": brain_slug})
    return task


# --- the move machinery ----------------------------------------------------------------------

def _task_in_sight(task: Task | Any, actor: Actor) -> None:
    """An executor works its own Brain's tasks and sees no other: another Brain's task is answered
    as one that does not exist (404, naming no Brain), as a request it may not see is. The attempt
    is still recorded on that task's history (task_refusal_record)."""
    if actor.is_executor and isinstance(task, Task) and not actor.belongs_to(task.assigned_brain_id):
        raise not_found("task")


def _task_service(move: str) -> Callable[[Service], Service]:
    """A service making task move `move`: an executor's attempt on another Brain's task is refused
    before anything else is looked at (its input included), and an executor's refusals are recorded."""
    def wrap(service: Service) -> Service:
        @wraps(service)
        def in_sight(**kwargs: Any) -> Any:
            _task_in_sight(kwargs["task"], kwargs["actor"])
            return service(**kwargs)
        return records_refusal(task_refusal_record, subject="task", move=move)(in_sight)  # type: ignore[arg-type]
    return wrap


def _task_lock(task: Task | Any, actor: Actor, move: str) -> tuple[Task, TaskMove]:
    pk = task.pk if isinstance(task, Task) else task
    locked = Task.objects.select_for_update().select_related("request").filter(
        pk=pk, tenant_id=actor.tenant_id).first()
    if locked is None:
        raise not_found("task")
    mark_fresh(locked)
    _task_in_sight(locked, actor)  # as it is now, should the task have moved to another Brain meanwhile
    return locked, task_move_check(locked, move, actor)


def _task_commit(*, task: Task, actor: Actor, changes: Mapping[str, Any], event_type: str, summary: str,
                 payload: Mapping[str, Any] | None = None) -> Task:
    """Write a checked task move: the row (only if nobody changed it meanwhile) and its event."""
    from_status = task.status
    values = {**changes, "updated_at": clock.now()}
    if not versioned_update(task, values):
        raise DomainError("Someone else changed this task at the same moment. Reload and try again.",
                          kind=Refusal.CONFLICT)
    for field, value in values.items():
        setattr(task, field, value)
    task.lock_version += 1
    task.last_event = task_event_write(task=task, actor=actor, event_type=event_type, summary=summary,
                                       from_status=from_status, to_status=task.status, payload=dict(payload or {}))
    return task


def task_refusal_record(*, task: Task | Any, actor: Actor, move: str, error: DomainError) -> None:
    """An executor tried what it may not (a move that is not an executor's, or any move on another
    Brain's task, which it was told does not exist): the attempt stays on the task's timeline as a
    rule_violation event, one per executor, task and move in each refusal window; the refusals after
    it are counted (kernel.refusals)."""
    if not actor.is_executor or error.kind not in (Refusal.FORBIDDEN, Refusal.NOT_FOUND):
        return
    task_obj = task if isinstance(task, Task) else Task.objects.filter(pk=task, tenant_id=actor.tenant_id).first()
    if task_obj is None or task_obj.tenant_id != actor.tenant_id:
        return
    if error.kind == Refusal.NOT_FOUND:
        if actor.belongs_to(task_obj.assigned_brain_id):
            return  # not an intrusion: the task went missing under a move of its own Brain
        reason = f"this task belongs to {task_obj.assigned_brain_id}, not to {', '.join(sorted(actor.brains))}"
    else:
        reason = error.message
    with transaction.atomic():
        event_id = refusal_count(tenant_id=task_obj.tenant_id, actor=actor, subject_kind=RefusalSubject.TASK,
                                 subject_id=task_obj.pk, rule=move)
        if event_id is not None:
            task_event_write(task=task_obj, actor=actor, event_type=TaskEventType.RULE_VIOLATION, event_id=event_id,
                             summary=f"Refused {move} by {actor}: {reason}",
                             payload={"move": move, "window_minutes": settings.MWMS_REFUSAL_WINDOW_MINUTES})


# --- the moves ---------------------------------------------------------------------------------

def task_claim_next(*, actor: Actor) -> Task | None:
    """Give the executor the next queued task of its Brain (priority first, then oldest), or None.

    `FOR UPDATE SKIP LOCKED` lets any number of executors claim at once without waiting on each
    other; the status condition on the update makes a lost race on SQLite visible too.
    """
    if not actor.brains:
        raise DomainError("This actor belongs to no Brain, so it has no queue.", kind=Refusal.FORBIDDEN)
    for _ in range(5):
        try:
            with atomic():
                candidate = _next_queued(actor)
                if candidate is None:
                    return None
                # The candidate row is already locked by this transaction: claim it as it is.
                return _claim(candidate, actor)
        except DomainError as error:
            # A conflict is a lost race on SQLite: take the next. (PostgreSQL's locked candidate
            # cannot be lost, so a doomed call transaction never needs the retry.)
            if error.kind != Refusal.CONFLICT or doomed():
                after_refusal(actor.tenant_id, functools.partial(
                    task_refusal_record, task=candidate, actor=actor, move="claim", error=error))
                raise
    return None


_QUEUE_SQL: dict[tuple[str, int], str] = {}  # per database vendor and number of Brains


def _next_queued(actor: Actor) -> Task | None:
    """The actor's Brains' next queued task, locked on PostgreSQL so no other claim can take it.

    This is `Task.objects.filter(tenant, assigned_brain__in, status=queued)
    .select_for_update(skip_locked=True).order_by(PriorityRank("priority"), "created_at").first()`
    written out once per process: it runs on every claim, and compiling it through the ORM cost
    more than running it. It reads the queue index (mwms_tasks_queue) through the same PriorityRank
    expression.
    """
    brains = sorted(actor.brains)
    key = (connection.vendor, len(brains))
    sql = _QUEUE_SQL.get(key)
    if sql is None:
        meta = Task._meta
        quote = connection.ops.quote_name
        sql = (
            f"SELECT {', '.join(quote(field.column) for field in meta.concrete_fields)} FROM {quote(meta.db_table)} "
            f"WHERE tenant_id = %s AND assigned_brain IN ({', '.join(['%s'] * len(brains))}) AND status = %s "
            f"ORDER BY {PriorityRank.template % {'expressions': 'priority'}}, created_at LIMIT 1"
        )
        if connection.features.has_select_for_update_skip_locked:
            sql += " FOR UPDATE SKIP LOCKED"
        _QUEUE_SQL[key] = sql
    tenant = Task._meta.get_field("tenant").target_field.get_db_prep_value(actor.tenant_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [tenant, *brains, T.QUEUED])
        row = cursor.fetchone()
    return None if row is None else mark_fresh(load_row(Task, row, connection))


def _claim(locked: Task, actor: Actor) -> Task:
    task_move_check(locked, "claim", actor)
    return _task_commit(task=locked, actor=actor, event_type=TaskEventType.PICKED_UP,
                        summary=f"Picked up by {actor} (attempt {locked.attempts + 1} of {locked.max_attempts})",
                        changes={"status": T.PICKED_UP, "attempts": locked.attempts + 1,
                                 "assigned_employee": actor.label})


@_task_service("claim")
def task_claim(*, task: Task, actor: Actor) -> Task:
    """Pick a queued task up; every pick-up counts as an attempt."""
    with atomic():
        locked, _ = _task_lock(task, actor, "claim")
        return _claim(locked, actor)


@_task_service("start")
def task_start(*, task: Task, actor: Actor, note: str = "") -> Task:
    """Start work on a picked-up task."""
    with atomic():
        locked, _ = _task_lock(task, actor, "start")
        changes = {"status": T.RUNNING}
        if locked.started_at is None:
            changes["started_at"] = clock.now()
        return _task_commit(task=locked, actor=actor, changes=changes, event_type=TaskEventType.STARTED,
                            summary=optional_text(note, field="note") or "Started")


@_task_service("progress")
def task_progress(*, task: Task, actor: Actor, summary: str, payload: Mapping[str, Any] | None = None,
                  warning: bool = False) -> TaskEvent:
    """Report progress (or a warning) on a running task; the status does not change."""
    text = required_text(summary, field="summary", label="Progress summary")
    payload = _json_fits(dict(payload or {}), field="payload")
    with atomic():
        locked, _ = _task_lock(task, actor, "warn" if warning else "progress")
        return _task_commit(task=locked, actor=actor, changes={},
                            event_type=TaskEventType.WARNING if warning else TaskEventType.PROGRESS,
                            summary=text, payload=payload).last_event


@_task_service("complete")
def task_complete(*, task: Task, actor: Actor, result_summary: str = "",
                  evidence_links: list[str] | None = None) -> Task:
    """Complete a running task; its result must be on record (an artifact or a real summary)."""
    with atomic():
        locked, _ = _task_lock(task, actor, "complete")
        changes: dict[str, Any] = {"status": T.COMPLETED, "completed_at": clock.now()}
        if result_summary.strip() or not locked.artifacts.exists():
            summary = substantive(result_summary, field="result_summary",
                                  label="A task without an artifact needs a result summary; it")
            changes["execution_notes"] = "\n\n".join(filter(None, [locked.execution_notes, summary]))
            if len(changes["execution_notes"]) > CAP["execution_notes"]:
                raise DomainError(f"result_summary: the task's notes and this result together would pass "
                                  f"{CAP['execution_notes']:,} characters; shorten the result summary "
                                  f"(or save it as an artifact).", field="result_summary")
        if evidence_links:
            changes["evidence_links"] = _json_fits(
                [*locked.evidence_links, *[str(link) for link in evidence_links]], field="evidence_links")
        latest = locked.artifacts.order_by("-created_at").first()
        if locked.result_id is None and latest is not None:
            changes["result"] = latest
        return _task_commit(task=locked, actor=actor, changes=changes, event_type=TaskEventType.COMPLETED,
                            summary=result_summary.strip() or f"Completed with {latest}")


@_task_service("fail")
def task_fail(*, task: Task, actor: Actor, error: str) -> Task:
    """Record a failure. While attempts remain the task is queued again; when they run out, the
    parent request is escalated to HeadOffice (protocol rule 8: repeated task failures)."""
    message = required_text(error, field="error", label="The error")
    with atomic():
        locked, _ = _task_lock(task, actor, "fail")
        _task_commit(task=locked, actor=actor, changes={"status": T.FAILED, "last_error": message},
                     event_type=TaskEventType.ERROR, summary=message,
                     payload={"attempts": locked.attempts, "max_attempts": locked.max_attempts})
        if locked.attempts < locked.max_attempts:
            return _task_commit(task=locked, actor=actor, changes={"status": T.QUEUED},
                                event_type=TaskEventType.REQUEUED,
                                summary=f"Queued again: {locked.max_attempts - locked.attempts} attempt(s) left")
        _request_escalate_for(task=locked, reason=limits.clip(f"Task “{locked}” failed {locked.attempts} times; "
                                                              f"last error: {message}", limits.TEXT))
        return locked


def _request_escalate_for(*, task: Task, reason: str) -> None:
    """Escalate the task's request to HeadOffice on the same lineage, if it is not already."""
    system = Actor(tenant_id=task.tenant_id, label=f"system (task {task.pk})", is_head_office=True)
    request = task.request
    if any(m.name == "escalate" for m in moves_open(request, system)):
        request_move(request=request, actor=system, move="escalate",
                     fields={"escalation_reason": reason, "escalation_owner": Brain.HEADOFFICE})


@_task_service("retry")
def task_retry(*, task: Task, actor: Actor, note: str = "") -> Task:
    """Queue a failed task again; if it had used all its attempts, it gets one more."""
    with atomic():
        locked, _ = _task_lock(task, actor, "retry")
        changes = {"status": T.QUEUED}
        if locked.attempts >= locked.max_attempts:
            changes["max_attempts"] = locked.attempts + 1
        return _task_commit(task=locked, actor=actor, changes=changes, event_type=TaskEventType.REQUEUED,
                            summary=optional_text(note, field="note") or "Queued again by hand")


@_task_service("cancel")
def task_cancel(*, task: Task, actor: Actor, reason: str) -> Task:
    """Cancel an open task, saying why."""
    text = substantive(reason, field="reason", label="Cancelling needs a reason; it")
    with atomic():
        locked, _ = _task_lock(task, actor, "cancel")
        return _task_commit(task=locked, actor=actor, changes={"status": T.CANCELLED, "completed_at": clock.now()},
                            event_type=TaskEventType.CANCELLED, summary=text)


@_task_service("escalate")
def task_escalate(*, task: Task, actor: Actor, reason: str, escalation_owner: str = Brain.HEADOFFICE) -> Task:
    """Escalate a task; its request is escalated on the same lineage (connector rule 6)."""
    text = substantive(reason, field="reason", label="Escalation reason")
    with atomic():
        locked, _ = _task_lock(task, actor, "escalate")
        _task_commit(task=locked, actor=actor, changes={"status": T.ESCALATED, "escalation_flag": True},
                     event_type=TaskEventType.ESCALATED, summary=text, payload={"escalation_owner": escalation_owner})
        system = replace(actor, label=f"{actor.label} (via task {locked.pk})", is_head_office=True, token_role=None)
        if any(m.name == "escalate" for m in moves_open(locked.request, system)):
            reason = limits.clip(f"Task “{locked}” escalated: {text}", limits.TEXT)
            request_move(request=locked.request, actor=system, move="escalate",
                         fields={"escalation_reason": reason,
                                 "escalation_owner": escalation_owner})
        return locked


# --- one entry for every move ------------------------------------------------------------------

# From a move's name (tasks_app.transitions.TASK_MOVES) to its service, with the fields it takes;
# the browser's task actions and the API's transition endpoint both go through task_move.
TASK_MOVE_SERVICES: dict[str, Callable[[Task, Actor, Mapping[str, Any]], Any]] = {
    "claim": lambda task, actor, data: task_claim(task=task, actor=actor),
    "start": lambda task, actor, data: task_start(task=task, actor=actor, note=data.get("note", "")),
    "progress": lambda task, actor, data: task_progress(task=task, actor=actor, summary=data.get("summary", ""),
                                                        payload=data.get("payload")),
    "warn": lambda task, actor, data: task_progress(task=task, actor=actor, summary=data.get("summary", ""),
                                                    payload=data.get("payload"), warning=True),
    "complete": lambda task, actor, data: task_complete(task=task, actor=actor,
                                                        result_summary=data.get("result_summary", ""),
                                                        evidence_links=data.get("evidence_links")),
    "fail": lambda task, actor, data: task_fail(task=task, actor=actor, error=data.get("error", "")),
    "retry": lambda task, actor, data: task_retry(task=task, actor=actor, note=data.get("note", "")),
    "cancel": lambda task, actor, data: task_cancel(task=task, actor=actor, reason=data.get("reason", "")),
    "escalate": lambda task, actor, data: task_escalate(
        task=task, actor=actor, reason=data.get("reason", ""),
        escalation_owner=data.get("escalation_owner") or Brain.HEADOFFICE),
}
assert set(TASK_MOVE_SERVICES) == set(TASK_MOVE_NAMES), "every task move has its service"


def task_move(*, task: Task, actor: Actor, move: str, fields: Mapping[str, Any] | None = None) -> Task | TaskEvent:
    """Make one task move by its name; progress and warnings answer the event they wrote."""
    service = TASK_MOVE_SERVICES.get(move)
    if service is None:
        raise DomainError(f"There is no task move called {move!r}.", field="move")
    return service(task, actor, dict(fields or {}))


@_task_service("save_artifact")
def task_artifact_save(*, task: Task, actor: Actor, artifact_type: str, artifact_summary: str,
                       content_location: str = "", content_json: Mapping[str, Any] | None = None,
                       as_result: bool = False, replaces_id: Any = None) -> TaskArtifact:
    """Store or link a task output and write `output_saved` (schema standard: task artifacts).
    Artifacts are write-once: a corrected output is a new one that `replaces` the earlier."""
    artifact_type = required_text(artifact_type, field="artifact_type", label="Artifact type",
                                  limit=ARTIFACT_CAP["artifact_type"])
    summary = required_text(artifact_summary, field="artifact_summary", label="Artifact summary")
    content = _json_fits(dict(content_json or {}), field="content_json")
    location = optional_text(content_location, field="content_location", limit=ARTIFACT_CAP["content_location"])
    with atomic():
        locked = Task.objects.select_for_update().select_related("request").filter(
            pk=task.pk, tenant_id=actor.tenant_id).first()
        if locked is None:
            raise not_found("task")
        mark_fresh(locked)
        _task_in_sight(locked, actor)
        if not task_roles_of(actor, locked) & {TaskRole.WORKER, TaskRole.MANAGER}:
            raise DomainError(f"Only the Brain working this task can save its output, not {actor}.",
                              kind=Refusal.FORBIDDEN)
        if locked.status == T.CANCELLED:
            raise DomainError("This task was cancelled; it takes no more output.", kind=Refusal.CONFLICT)
        if locked.request.status in FINAL_STATUSES:
            raise DomainError(f"The request is {locked.request.get_status_display().lower()}; its tasks take "
                              f"no more output (the evidence it closed on stays as it was).",
                              kind=Refusal.CONFLICT)
        if as_result and locked.status == T.COMPLETED:
            raise DomainError("This task completed with its result; a further artifact can be saved beside "
                              "it but cannot replace it.", field="as_result", kind=Refusal.CONFLICT)
        replaced = None
        if replaces_id:
            replaced = locked.artifacts.filter(pk=_artifact_id(replaces_id)).first()
            if replaced is None:
                raise DomainError(f"replaces_id: {replaces_id} is not an artifact of this task.", field="replaces_id")
        artifact = TaskArtifact.objects.create(
            tenant_id=locked.tenant_id, task=locked, artifact_type=artifact_type, artifact_summary=summary,
            content_location=location, content_json=content, created_by=actor.label, replaces=replaced,
            content_hash=artifact_content_hash(location=location, content=content),
        )
        _task_commit(task=locked, actor=actor, changes={"result": artifact} if as_result else {},
                     event_type=TaskEventType.OUTPUT_SAVED, summary=f"Saved {artifact_type}: {summary}",
                     payload={"artifact_id": str(artifact.pk)})
    return artifact


def _artifact_id(value: Any) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise DomainError(f"replaces_id must be an artifact id (a UUID), not {value!r}.", field="replaces_id") from None
