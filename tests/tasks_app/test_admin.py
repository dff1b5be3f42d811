"""The admin of tasks_app: tasks (governed edits only), task events and artifacts (read-only).

An edit made in the admin writes a fields_changed task event with the changed fields, before and
after, in its payload; status, attempts, errors and the parent request cannot be edited there.
"""

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib import admin
from django.db import connection
from django.db.models import Model
from django.test.client import RequestFactory

from governance_app.kernel.actors import SYSTEM
from requests_app.models import BrainRequest
from tasks_app.models import Task, TaskArtifact, TaskEvent, TaskEventType
from tasks_app.services import task_event_write
from tests.admin_pages import admin_url, assert_changelist_query_count_is_flat, assert_pages_answer, change_form_data
from tests.db_roles import AppQueries

_seq = itertools.count(1)


# --- private builders ---------------------------------------------------------------------------


def _request() -> BrainRequest:
    return BrainRequest.objects.create(
        requesting_authority="Research Brain", requesting_brain_id="research", target_brain_id="finance",
        request_type="finance_review_request", request_title=f"Budget check {next(_seq)}",
        request_summary="Is the test budget within limits?", required_output="A yes or no with limits",
        status="routed", review_owner_id="headoffice",
    )


def _task(**fields: Any) -> Task:
    values = {"task_type": "budget_check", "assigned_brain_id": "finance", "title": f"Check the budget {next(_seq)}",
              "priority": "medium"}
    return Task.objects.create(request=fields.pop("request", None) or _request(), **(values | fields))


def _event(task: Task | None = None) -> TaskEvent:
    return task_event_write(task=task or _task(), actor=SYSTEM, event_type=TaskEventType.PROGRESS,
                            summary=f"Half the ledger checked {next(_seq)}")


def _artifact(task: Task | None = None) -> TaskArtifact:
    return TaskArtifact.objects.create(task=task or _task(), artifact_type="report",
                                       artifact_summary=f"Budget report {next(_seq)}",
                                       content_json={"within_limits": True})


BUILDERS: dict[type[Model], Callable[[], Model]] = {
    Task: _task,
    TaskEvent: _event,
    TaskArtifact: _artifact,
}
TESTED_HERE = sorted((m for m in admin.site._registry if m._meta.app_label == "tasks_app"),
                     key=lambda m: m._meta.label)
READ_ONLY = [TaskEvent, TaskArtifact]


# --- every page answers -------------------------------------------------------------------------


def test_every_model_tested_here_has_a_builder():
    assert set(TESTED_HERE) == set(BUILDERS)


@pytest.mark.parametrize("model", TESTED_HERE, ids=lambda m: m._meta.label)
def test_changelist_and_change_page_answer_200(admin_client, brains, model):
    assert_pages_answer(admin_client, model, BUILDERS[model])


@pytest.mark.parametrize("model", TESTED_HERE, ids=lambda m: m._meta.label)
def test_changelist_query_count_does_not_grow_with_rows(admin_client, brains, model, django_assert_max_num_queries):
    assert_changelist_query_count_is_flat(admin_client, model, BUILDERS[model], django_assert_max_num_queries)


def test_task_change_page_query_count_does_not_grow_with_events_and_artifacts(
        admin_client, brains, django_assert_max_num_queries):
    task = _task()
    url = admin_url(Task, "change", task.pk)
    for _ in range(3):
        _event(task), _artifact(task)
    admin_client.get(url)
    with AppQueries(connection) as with_three:
        admin_client.get(url)

    for _ in range(27):
        _event(task), _artifact(task)
    with django_assert_max_num_queries(len(with_three)):
        assert admin_client.get(url).status_code == 200


def test_task_changelist_heads_the_status_column_task_status(admin_client, brains):
    task = _task()

    content = admin_client.get(admin_url(Task, "changelist")).content.decode()

    assert "Task status" in content
    assert task.title in content
    assert task.request.request_title in content


# --- a governed edit writes a task event --------------------------------------------------------


def test_editing_title_and_priority_writes_one_fields_changed_event(admin_client, admin_user, brains):
    task = _task(title="Check the budget", priority="medium")
    url = admin_url(Task, "change", task.pk)
    data = change_form_data(admin_client.get(url))

    response = admin_client.post(url, data | {"title": "Check the Q3 budget", "priority": "high"})

    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.title, task.priority, task.lock_version) == ("Check the Q3 budget", "high", 1)
    event = TaskEvent.objects.get(task=task)
    assert event.event_type == TaskEventType.FIELDS_CHANGED
    assert event.actor == admin_user.username
    assert event.event_payload["changed_fields"] == {"priority": ["medium", "high"],
                                                     "title": ["Check the budget", "Check the Q3 budget"]}


def test_status_attempts_and_request_cannot_be_changed_in_the_admin(admin_client, brains):
    task = _task()
    own_request_id, other_request = task.request_id, _request()
    url = admin_url(Task, "change", task.pk)
    data = change_form_data(admin_client.get(url))

    admin_client.post(url, data | {"status": "completed", "attempts": "2", "last_error": "boom",
                                   "request": str(other_request.pk), "assigned_brain": "sit"})

    task.refresh_from_db()
    assert (task.status, task.attempts, task.last_error) == ("queued", 0, None)
    assert (task.request_id, task.assigned_brain_id) == (own_request_id, "finance")
    assert not TaskEvent.objects.filter(task=task).exists()


def test_an_edit_on_a_stale_page_is_refused(admin_client, brains):
    task = _task(title="Check the budget")
    url = admin_url(Task, "change", task.pk)
    data = change_form_data(admin_client.get(url))
    Task.objects.filter(pk=task.pk).update(title="Check the budget (theirs)", lock_version=1)

    response = admin_client.post(url, data | {"risk_level": "high"})

    assert response.status_code == 200
    assert b"Someone changed this record after you opened it" in response.content
    task.refresh_from_db()
    assert (task.title, task.risk_level) == ("Check the budget (theirs)", "low")
    assert not TaskEvent.objects.filter(task=task).exists()


def test_only_descriptive_fields_are_editable(admin_client, brains):
    task = _task()

    form = admin_client.get(admin_url(Task, "change", task.pk)).context["adminform"].form

    assert set(form.fields) == {"title", "execution_notes", "evidence_links", "risk_level", "priority",
                                "input_payload", "assigned_employee", "seen_lock_version"}


def test_task_page_shows_its_events_and_artifacts_read_only(admin_client, brains):
    task = _task()
    event, artifact = _event(task), _artifact(task)

    response = admin_client.get(admin_url(Task, "change", task.pk))

    assert event.event_summary.encode() in response.content
    assert artifact.artifact_summary.encode() in response.content
    assert b'name="events-0-event_summary"' not in response.content
    assert b'name="artifacts-0-artifact_summary"' not in response.content


# --- no add, no delete; events and artifacts read-only ------------------------------------------


def test_tasks_cannot_be_added_or_deleted_in_the_admin(admin_client, brains):
    task = _task()

    assert admin_client.get(admin_url(Task, "add")).status_code == 403
    assert admin_client.post(admin_url(Task, "delete", task.pk), {"post": "yes"}).status_code == 403
    assert Task.objects.filter(pk=task.pk).exists()


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda m: m._meta.label)
def test_read_only_models_grant_no_add_change_or_delete_even_to_a_superuser(admin_user, brains, model):
    obj = BUILDERS[model]()
    http_request = RequestFactory().get("/admin/")
    http_request.user = admin_user
    model_admin = admin.site._registry[model]

    assert model_admin.has_view_permission(http_request, obj)
    assert not model_admin.has_add_permission(http_request)
    assert not model_admin.has_change_permission(http_request, obj)
    assert not model_admin.has_delete_permission(http_request, obj)


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda m: m._meta.label)
def test_read_only_models_refuse_add_change_and_delete(admin_client, brains, model):
    obj = BUILDERS[model]()
    change_url = admin_url(model, "change", obj.pk)

    assert admin_client.get(admin_url(model, "add")).status_code == 403
    page = admin_client.get(change_url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    rewrite = {"event_summary": "Rewritten", "artifact_summary": "Rewritten"}
    assert admin_client.post(change_url, rewrite).status_code == 403
    assert admin_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    fresh = model.objects.get(pk=obj.pk)
    assert getattr(fresh, "event_summary", None) == getattr(obj, "event_summary", None)
    assert getattr(fresh, "artifact_summary", None) == getattr(obj, "artifact_summary", None)
