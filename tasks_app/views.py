"""Task actions from the lineage drill-down. Each calls one task service; a refusal re-renders
the drill-down with the message next to the form and what the user typed."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from governance_app.kernel.actors import actor_for_request
from governance_app.kernel.brains import brain_options
from governance_app.kernel.errors import DomainError
from requests_app.selectors import request_get_or_404
from requests_app.views import detail_context
from tasks_app import services
from tasks_app.forms import ArtifactForm, TaskCreateForm, TaskMoveForm
from tasks_app.models import Task
from tasks_app.selectors import task_get_or_404
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
    request = request_get_or_404(actor=actor_for_request(http_request), request_id=request_id)
    form = TaskCreateForm(http_request.POST, request=request,
                          brains=brain_options(tenant_id=actor_for_request(http_request).tenant_id))
    if not form.is_valid():
        return _refused(http_request, request, form, DomainError("Check the task's fields."))
    try:
        task = services.task_create(request=request, actor=actor_for_request(http_request), **form.cleaned_data)
    except DomainError as error:
        return _refused(http_request, request, form, error)
    messages.success(http_request, f"Task “{task}” queued for {task.assigned_brain}.")
    return redirect("requests:detail", request.pk)


@require_POST
@login_required
def task_move(http_request: HttpRequest, task_id, move: str) -> HttpResponse:
    task = task_get_or_404(actor=actor_for_request(http_request), task_id=task_id)
    if move not in TASK_MOVE_NAMES:
        raise Http404("No such move")
    form = TaskMoveForm(http_request.POST, move=move, prefix=f"{task.pk}-{move}")
    form.task_id = task.pk
    form.is_valid()
    try:
        services.task_move(task=task, actor=actor_for_request(http_request), move=move, fields=form.cleaned_data)
    except DomainError as error:
        return _refused(http_request, task, form, error)
    messages.success(http_request, f"Task “{task}”: {move.replace('_', ' ')} recorded.")
    return redirect("requests:detail", task.request_id)


@require_POST
@login_required
def artifact_save(http_request: HttpRequest, task_id) -> HttpResponse:
    task = task_get_or_404(actor=actor_for_request(http_request), task_id=task_id)
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


