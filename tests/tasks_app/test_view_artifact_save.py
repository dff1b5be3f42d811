"""POST /tasks/<id>/artifacts/: the Brain working a task saves its output from the drill-down; a form
without a type or summary, a cancelled task, or someone who does not work the task is refused with
the reason on the form and nothing written."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from tasks_app.models import Task, TaskArtifact, TaskEvent, TaskEventType, TaskStatus
from tests.conftest import said
from tests.factories import make_task
from tests.tasks_app.conftest import task_row

pytestmark = pytest.mark.django_db

ARTIFACT = {"artifact_type": "report", "artifact_summary": "Demand report for DE, FR and UK.",
            "content_location": "https://drive.example/reports/offer-881-demand"}


def artifact_url(task: Task) -> str:
    return reverse("tasks:artifact", args=[task.pk])


def posted(task: Task, fields: dict) -> dict:
    return {f"{task.pk}-artifact-{name}": value for name, value in fields.items()}


def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def task(working) -> Task:
    """A running task of the working request, assigned to Finance."""
    return make_task(working, status=TaskStatus.RUNNING, assigned_brain="finance", attempts=1)


def test_the_worker_saves_an_artifact_and_its_event(client, task, finance_member):
    page = signed_in(client, finance_member).post(artifact_url(task), posted(task, ARTIFACT))
    assert page.status_code == 302 and page["Location"] == reverse("requests:detail", args=[task.request_id])
    assert said(page) == ["Artifact saved."]
    artifact = TaskArtifact.objects.get(task=task)
    assert (artifact.artifact_type, artifact.artifact_summary, artifact.content_location, artifact.created_by) == (
        "report", ARTIFACT["artifact_summary"], ARTIFACT["content_location"], "finance_member")
    event = TaskEvent.objects.get(task=task)
    assert (event.event_type, event.event_summary, event.event_payload) == (
        TaskEventType.OUTPUT_SAVED, f"Saved report: {ARTIFACT['artifact_summary']}", {"artifact_id": str(artifact.pk)})
    row = Task.objects.get(pk=task.pk)
    assert (row.status, row.result_id, row.lock_version) == (TaskStatus.RUNNING, None, task.lock_version + 1)


def test_an_artifact_saved_as_the_result_becomes_the_tasks_result(client, task, finance_member):
    signed_in(client, finance_member).post(artifact_url(task), posted(task, {**ARTIFACT, "as_result": "on"}))
    assert Task.objects.get(pk=task.pk).result == TaskArtifact.objects.get(task=task)


def test_an_artifact_without_a_summary_is_refused_on_the_field(client, task, finance_member):
    before = task_row(task)
    page = signed_in(client, finance_member).post(artifact_url(task),
                                                  posted(task, {**ARTIFACT, "artifact_summary": ""}))
    assert page.status_code == 200
    errors = page.context["bound_task_form"].errors
    assert errors == {"artifact_summary": ["This field is required."],
                      "__all__": ["Give the artifact a type and a summary."]}
    assert '<ul class="field-error"><li>This field is required.' in page.text        # by its field
    assert ARTIFACT["content_location"] in page.text                                  # the input is kept
    assert said(page) == ["Not saved: Give the artifact a type and a summary."]
    assert task_row(task) == before


def test_a_cancelled_task_takes_no_more_output(client, working, finance_member):
    task = make_task(working, status=TaskStatus.CANCELLED, assigned_brain="finance", attempts=1)
    before = task_row(task)
    page = signed_in(client, finance_member).post(artifact_url(task), posted(task, ARTIFACT))
    why = "This task was cancelled; it takes no more output."
    assert page.status_code == 200
    assert page.context["bound_task_form"].errors == {"__all__": [why]}
    assert said(page) == [f"Not saved: {why}"] and f"Not saved: {escape(why)}" in page.text
    assert task_row(task) == before


def test_a_brain_that_does_not_work_the_task_is_refused(client, task, owner):
    # Research asked for the work and sees the task, but neither works nor manages it.
    before = task_row(task)
    page = signed_in(client, owner).post(artifact_url(task), posted(task, ARTIFACT))
    why = "Only the Brain working this task can save its output, not research_owner."
    assert page.status_code == 200
    assert page.context["bound_task_form"].errors == {"__all__": [why]}
    assert said(page) == [f"Not saved: {why}"]
    assert task_row(task) == before


def test_it_rejects_get(client, task, finance_member):
    before = task_row(task)
    assert signed_in(client, finance_member).get(artifact_url(task)).status_code == 405
    assert task_row(task) == before


def test_it_sends_anonymous_visitors_to_sign_in(client, task):
    before = task_row(task)
    page = client.post(artifact_url(task), posted(task, ARTIFACT))
    assert page.status_code == 302 and page["Location"].startswith(reverse("login"))
    assert task_row(task) == before


def test_it_is_404_for_an_outsider(client, task, outsider):
    before = task_row(task)
    assert signed_in(client, outsider).post(artifact_url(task), posted(task, ARTIFACT)).status_code == 404
    assert task_row(task) == before
