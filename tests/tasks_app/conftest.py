"""What the task view modules share: a request being worked, the people who work its tasks, and the
snapshot a refusal must leave as it was."""

from typing import Any

import pytest

from governance_app.models import MembershipRole
from requests_app import services as rs
from requests_app.models import BrainRequest, RequestEvent
from tasks_app.models import Task, TaskArtifact, TaskEvent
from tests.engine import actor, new_request
from tests.factories import make_membership, make_user


@pytest.fixture
def working(owner, reviewer, other_owner) -> BrainRequest:
    """Research asked Affiliate; HeadOffice routed it to Affiliate as the primary Brain
    with Finance supporting; Affiliate works on it."""
    request = new_request(actor(owner))
    request = rs.request_route(request=request, actor=actor(reviewer), review_owner="headoffice",
                               primary_brain="affiliate", supporting_brains=["finance"])
    return rs.request_accept(request=request, actor=actor(other_owner))


@pytest.fixture
def finance_member(brains):
    """A member (not the owner) of the Finance Brain: a worker of the tasks assigned to Finance, and of
    nothing else."""
    return make_membership(user=make_user(username="finance_member"), brain_id="finance",
                           role=MembershipRole.MEMBER).user


def task_row(task: Task) -> dict[str, Any]:
    """Everything a refused task action must leave as it was: the task's columns, its events and
    artifacts, and its request's status, version and events."""
    return {
        "task": Task.objects.filter(pk=task.pk).values().get(),
        "events": TaskEvent.objects.filter(task_id=task.pk).count(),
        "artifacts": TaskArtifact.objects.filter(task_id=task.pk).count(),
        "request": BrainRequest.objects.filter(pk=task.request_id).values("status", "lock_version").get(),
        "request_events": RequestEvent.objects.filter(request_id=task.request_id).count(),
    }
