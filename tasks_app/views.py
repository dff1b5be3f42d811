"""Task actions from the lineage drill-down. Each calls one task service; a refusal re-renders
the drill-down with the message next to the form and what the user typed."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from governance_app.actors import actor_for_request
from governance_app.errors import DomainError
from requests_app.views import _request_or_404, detail_context
from tasks_app import services
from tasks_app.forms import ArtifactForm, TaskCreateForm, TaskMoveForm
from tasks_app.models import Task
from tasks_app.selectors import tasks_visible_to
from tasks_app.transitions import TASK_MOVE_NAMES


def _refused(http_request: HttpRequest, task_or_request, form, error: DomainError) -> HttpResponse:
    form.add_refusal(error)
    request = task_or_request.request if isinstance(task_or_request, Task) else task_or_request
    messages.error(http_request, f"Not saved: {error.message}")
    context = detail_context(http_request, request)
    context["bound_task_form"] = form
    return render(http_request, "requests_app/detail.html", context)


@require_POST
@login_required
def task_create(http_request: HttpRequest, request_id) -> HttpResponse:
    request = _request_or_404(http_request, request_id)
    form = TaskCreateForm(http_request.POST, request=request)
    if not form.is_valid():
        return _refused(http_request, request, form, DomainError("Check the task's fields."))
    try:
        task = services.task_create(request=request, actor=actor_for_request(http_request), **form.cleaned_data)
    except DomainError as error:
        return _refused(http_request, request, form, error)
    messages.success(http_request, f"Task “{task}” queued for {task.assigned_brain}.")
    return redirect("requests:detail", request.pk)


def _task_or_404(http_request: HttpRequest, task_id) -> Task:
    task = tasks_visible_to(actor_for_request(http_request)).select_related("request").filter(pk=task_id).first()
    if task is None:
        raise Http404("No such task")
    return task


MOVE_SERVICES = {
    "claim": lambda task, actor, data: services.task_claim(task=task, actor=actor),
    "start": lambda task, actor, data: services.task_start(task=task, actor=actor, note=data.get("note", "")),
    "progress": lambda task, actor, data: services.task_progress(task=task, actor=actor, summary=data.get("summary", "")),
    "warn": lambda task, actor, data: services.task_progress(task=task, actor=actor, summary=data.get("summary", ""),
                                                             warning=True),
    "complete": lambda task, actor, data: services.task_complete(task=task, actor=actor,
                                                                 result_summary=data.get("result_summary", "")),
    "fail": lambda task, actor, data: services.task_fail(task=task, actor=actor, error=data.get("error", "")),
    "retry": lambda task, actor, data: services.task_retry(task=task, actor=actor, note=data.get("note", "")),
    "cancel": lambda task, actor, data: services.task_cancel(task=task, actor=actor, reason=data.get("reason", "")),
    "escalate": lambda task, actor, data: services.task_escalate(task=task, actor=actor,
                                                                 reason=data.get("reason", "")),
}
assert set(MOVE_SERVICES) == set(TASK_MOVE_NAMES), "every task move has its browser action"


@require_POST
@login_required
def task_move(http_request: HttpRequest, task_id, move: str) -> HttpResponse:
    task = _task_or_404(http_request, task_id)
    if move not in MOVE_SERVICES:
        raise Http404("No such move")
    form = TaskMoveForm(http_request.POST, move=move, prefix=f"{task.pk}-{move}")
    form.task_id = task.pk
    form.is_valid()
    try:
        MOVE_SERVICES[move](task, actor_for_request(http_request), form.cleaned_data)
    except DomainError as error:
        return _refused(http_request, task, form, error)
    messages.success(http_request, f"Task “{task}”: {move.replace('_', ' ')} recorded.")
    return redirect("requests:detail", task.request_id)


@require_POST
@login_required
def artifact_save(http_request: HttpRequest, task_id) -> HttpResponse:
    task = _task_or_404(http_request, task_id)
    form = ArtifactForm(http_request.POST, prefix=f"{task.pk}-artifact")
    form.task_id = task.pk
    if not form.is_valid():
        return _refused(http_request, task, form, DomainError("Give the artifact a type and a summary."))
    try:
        services.task_artifact_save(task=task, actor=actor_for_request(http_request), **form.cleaned_data)
    except DomainError as error:
        return _refused(http_request, task, form, error)
    messages.success(http_request, "Artifact saved.")
    return redirect("requests:detail", task.request_id)


