"""Every read of tasks the UI, the API and the admin share, already scoped to the actor."""

import uuid
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from governance_app.kernel.actors import Actor
from requests_app.selectors import requests_visible_to
from tasks_app.models import Task


def tasks_visible_to(actor: Actor) -> QuerySet[Task]:
    """HeadOffice sees the whole tenant; an executor its Brain's tasks; an integration the tasks
    under the requests it created; a Brain its own tasks and those under requests it can see."""
    qs = Task.objects.filter(tenant_id=actor.tenant_id)
    if actor.is_head_office and not actor.is_executor:
        return qs
    if actor.is_executor:
        return qs.filter(assigned_brain_id__in=actor.brains)
    # A correlated EXISTS on the request's primary key: checked per candidate task by an index
    # lookup, where `request__in=<visible requests>` made PostgreSQL hash every request the actor
    # may see (21,000 for a Brain owner at 100,000 requests, 74 ms) to check a page of tasks.
    request_visible = Exists(requests_visible_to(actor).filter(pk=OuterRef("request_id")))
    if actor.is_integration:
        return qs.filter(request_visible)
    return qs.filter(Q(assigned_brain_id__in=actor.brains) | request_visible)


def _pk(task_id: Any) -> uuid.UUID | None:
    try:
        return task_id if isinstance(task_id, uuid.UUID) else uuid.UUID(str(task_id))
    except ValueError:
        return None


def task_get(*, actor: Actor, task_id: Any) -> Task | None:
    """One task the actor may see, with its request, events and artifacts, or None."""
    pk = _pk(task_id)
    if pk is None:
        return None
    return (tasks_visible_to(actor).select_related("request").prefetch_related("events", "artifacts")
            .filter(pk=pk).first())


def task_get_or_404(*, actor: Actor, task_id: Any) -> Task:
    """A task the actor may see, with its request, for a browser action; Http404 otherwise."""
    pk = _pk(task_id)
    task = None if pk is None else tasks_visible_to(actor).select_related("request").filter(pk=pk).first()
    if task is None:
        raise Http404("No such task")
    return task


def task_to_act_on(*, actor: Actor, task_id: Any) -> Task | None:
    """A task the actor may see, for a move; the task services then decide whether it may act.

    An executor is the exception: it gets any task of its tenant, so that the task services can
    record its attempt on another Brain's task (a rule_violation event) before they answer it as a
    task that does not exist (404)."""
    pk = _pk(task_id)
    if pk is None:
        return None
    tasks = Task.objects.filter(tenant_id=actor.tenant_id) if actor.is_executor else tasks_visible_to(actor)
    return tasks.select_related("request").filter(pk=pk).first()
