"""Task actions from the drill-down."""

import pytest
from django.urls import reverse

from tasks_app.models import Task, TaskStatus
from tests.engine import actor, in_progress_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def working(owner, reviewer, other_owner):
    return in_progress_request(actor(owner), actor(reviewer), actor(other_owner))


def test_creating_a_task_from_the_drill_down(client, working, other_owner):
    client.force_login(other_owner)
    page = client.post(reverse("tasks:create", args=[working.pk]), {
        "task_type": "offer_review_task", "assigned_brain": "affiliate", "priority": "high", "risk_level": "low",
        "output_mode": "artifact", "max_attempts": 3})
    assert page.status_code == 302
    assert Task.objects.get(request=working).task_type == "offer_review_task"


def test_the_origin_cannot_create_a_task_and_sees_why(client, working, owner):
    client.force_login(owner)
    page = client.post(reverse("tasks:create", args=[working.pk]), {
        "task_type": "x", "assigned_brain": "affiliate", "priority": "high", "risk_level": "low",
        "output_mode": "artifact", "max_attempts": 3})
    assert page.status_code == 200 and not Task.objects.exists()


def test_a_worker_moves_a_task_and_a_refusal_is_shown(client, working, other_owner):
    from tasks_app import services

    task = services.task_create(request=working, actor=actor(other_owner), task_type="offer_review_task")
    client.force_login(other_owner)
    client.post(reverse("tasks:move", args=[task.pk, "claim"]))
    client.post(reverse("tasks:move", args=[task.pk, "start"]))
    refused = client.post(reverse("tasks:move", args=[task.pk, "complete"]), {f"{task.pk}-complete-result_summary": "done"})
    assert refused.status_code == 200 and "placeholder" in refused.text
    client.post(reverse("tasks:move", args=[task.pk, "complete"]),
                {f"{task.pk}-complete-result_summary": "Scored the offer 8/10 on margin."})
    assert Task.objects.get(pk=task.pk).status == TaskStatus.COMPLETED


def test_task_actions_are_post_only_and_hidden_from_outsiders(client, working, other_owner, outsider):
    from tasks_app import services

    task = services.task_create(request=working, actor=actor(other_owner), task_type="offer_review_task")
    client.force_login(outsider)
    assert client.post(reverse("tasks:move", args=[task.pk, "claim"])).status_code == 404
    client.force_login(other_owner)
    assert client.get(reverse("tasks:move", args=[task.pk, "claim"])).status_code == 405
