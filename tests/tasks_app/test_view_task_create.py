"""POST /requests/<id>/tasks/: a Brain working the request creates a task from the drill-down; anyone
else, or a request not yet routed, is refused with the reason on the form and nothing written."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from requests_app.models import BrainRequest, RequestEvent, RequestEventType, RequestStatus
from tasks_app.models import OutputMode, Task, TaskEvent, TaskEventType, TaskStatus
from tests.conftest import said
from tests.engine import actor, new_request

pytestmark = pytest.mark.django_db

TASK = {"task_type": "offer_review_task", "assigned_brain": "affiliate", "priority": "high", "risk_level": "low",
        "output_mode": "artifact", "max_attempts": 3}


def create_url(request: BrainRequest) -> str:
    return reverse("tasks:create", args=[request.pk])


def signed_in(client, user):
    client.force_login(user)
    return client


def written(request: BrainRequest) -> dict:
    """What creating a task writes: tasks, their events, the request's events and its version."""
    return {"tasks": Task.objects.count(), "task_events": TaskEvent.objects.count(),
            "request_events": RequestEvent.objects.filter(request=request).count(),
            "request": BrainRequest.objects.filter(pk=request.pk).values("status", "lock_version").get()}


def test_creating_a_task_from_the_drill_down(client, working, other_owner):
    page = signed_in(client, other_owner).post(create_url(working), TASK)
    assert page.status_code == 302 and page["Location"] == reverse("requests:detail", args=[working.pk])
    task = Task.objects.get(request=working)
    assert task.task_type == "offer_review_task"
    assert (task.assigned_brain_id, task.priority, task.status) == ("affiliate", "high", TaskStatus.QUEUED)
    assert said(page) == ["Task “offer_review_task” queued for Affiliate Brain."]
    event = TaskEvent.objects.get(task=task)
    assert (event.event_type, event.to_status, event.actor) == (TaskEventType.CREATED, TaskStatus.QUEUED,
                                                                 "affiliate_owner")
    on_request = RequestEvent.objects.get(request=working, event_type=RequestEventType.TASK_CREATED)
    assert on_request.event_payload == {"task_id": str(task.pk), "assigned_brain": "affiliate"}


def test_a_supporting_brain_is_a_working_brain_a_task_can_go_to(client, working, other_owner):
    page = signed_in(client, other_owner).post(create_url(working), {**TASK, "assigned_brain": "finance"})
    assert page.status_code == 302
    assert Task.objects.get(request=working).assigned_brain_id == "finance"


def test_the_origin_cannot_create_a_task_and_sees_why(client, working, owner):
    before = written(working)
    page = signed_in(client, owner).post(create_url(working), {**TASK, "task_type": "x"})
    assert page.status_code == 200 and not Task.objects.exists()
    why = "Only the Brains working this request (or HeadOffice) can create its tasks."
    assert page.context["bound_task_form"].errors == {"__all__": [why]}
    assert said(page) == [f"Not saved: {why}"] and f"Not saved: {escape(why)}" in page.text
    assert not TaskEvent.objects.exists()
    assert written(working) == before


def test_a_request_not_yet_routed_takes_no_task(client, owner, other_owner):
    request = new_request(actor(owner))   # Research → Affiliate, still new
    before = written(request)
    page = signed_in(client, other_owner).post(create_url(request), TASK)
    why = "Tasks can only be created under a routed or in-progress request; this one is new."
    assert page.status_code == 200
    assert page.context["bound_task_form"].errors == {"__all__": [why]}
    assert said(page) == [f"Not saved: {why}"]
    assert written(request) == before and before["request"]["status"] == RequestStatus.NEW


def test_a_brain_not_working_the_request_is_refused_on_the_field(client, working, other_owner):
    before = written(working)
    page = signed_in(client, other_owner).post(create_url(working), {**TASK, "assigned_brain": "ads"})
    assert page.status_code == 200
    errors = page.context["bound_task_form"].errors
    assert list(errors) == ["assigned_brain", "__all__"] and "ads is not one of the available choices" in \
        errors["assigned_brain"][0]
    assert errors["__all__"] == ["Check the task's fields."]
    assert f'<ul class="field-error"><li>{escape(errors["assigned_brain"][0])}' in page.text   # by its field
    assert said(page) == ["Not saved: Check the task's fields."]
    assert written(working) == before


def test_it_rejects_get(client, working, other_owner):
    before = written(working)
    assert signed_in(client, other_owner).get(create_url(working)).status_code == 405
    assert written(working) == before


def test_it_sends_anonymous_visitors_to_sign_in(client, working):
    before = written(working)
    page = client.post(create_url(working), TASK)
    assert page.status_code == 302 and page["Location"].startswith(reverse("login"))
    assert written(working) == before


def test_it_is_404_for_an_outsider(client, working, outsider):
    before = written(working)
    assert signed_in(client, outsider).post(create_url(working), TASK).status_code == 404
    assert written(working) == before


# The canon's output_mode is free text (issue 17): any lowercase snake_case word, the usual four
# suggested by a datalist.

def test_the_task_form_takes_another_output_mode_and_suggests_the_usual_four(client, working, other_owner):
    page = signed_in(client, other_owner).get(reverse("requests:detail", args=[working.pk]))
    suggestions = "".join(f'<option value="{mode}"></option>' for mode in OutputMode.values)
    assert f'list="id_output_mode-suggestions"' in page.text
    assert f'<datalist id="id_output_mode-suggestions">{suggestions}</datalist>' in page.text

    created = client.post(reverse("tasks:create", args=[working.pk]), {**TASK, "output_mode": "weekly_report"})

    assert created.status_code == 302
    assert Task.objects.get().output_mode == "weekly_report"


def test_the_task_form_refuses_an_output_mode_that_is_no_word(client, working, other_owner):
    page = signed_in(client, other_owner).post(reverse("tasks:create", args=[working.pk]),
                                                {**TASK, "output_mode": "Weekly report"})

    assert page.status_code == 200
    assert "Use a lowercase snake_case word" in page.text
    assert not Task.objects.exists()
