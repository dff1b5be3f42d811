"""Every write that changes a task. Each is atomic and writes its task event."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from governance_app.actors import Actor
from requests_app.services import _jsonable
from tasks_app.models import Task, TaskEvent, TaskEventType


def task_event_write(*, task: Task, actor: Actor, event_type: str, summary: str,
                     from_status: str | None = None, to_status: str | None = None,
                     payload: dict[str, Any] | None = None) -> TaskEvent:
    """Append one event to a task's timeline (call inside the transaction that made the change)."""
    return TaskEvent.objects.create(
        tenant_id=task.tenant_id,
        task=task,
        event_type=event_type,
        event_summary=summary,
        actor=actor.label,
        from_status=from_status,
        to_status=to_status,
        event_payload=payload or {},
    )


def task_record_admin_edit(*, task: Task, actor: Actor, changed_fields: dict[str, list[Any]]) -> Task:
    """Save a governed admin edit of a task and record who changed which fields from what to what."""
    with transaction.atomic():
        task.updated_at = timezone.now()
        task.lock_version += 1
        task.save()
        if changed_fields:
            task_event_write(
                task=task, actor=actor, event_type=TaskEventType.FIELDS_CHANGED,
                summary="Edited in the admin: " + ", ".join(sorted(changed_fields)),
                payload={"via": "admin",
                         "changed_fields": {k: [_jsonable(b), _jsonable(a)] for k, (b, a) in changed_fields.items()}},
            )
    return task
