"""The task panel of the lineage drill-down: tasks are tasks_app's, so their forms are built here."""

from django import template

from requests_app.transitions import tasks_open
from tasks_app.forms import ArtifactForm, TaskCreateForm, TaskMoveForm
from tasks_app.transitions import task_moves_open

register = template.Library()


@register.inclusion_tag("tasks_app/_task_panel.html", takes_context=True)
def task_panel(context, request, tasks) -> dict:
    actor = context["actor"]
    bound = context.get("bound_task_form")  # a refused task form comes back with what was typed

    def form_for(task, name, make):
        if bound is not None and getattr(bound, "task_id", None) == task.pk and bound.prefix.endswith(name):
            return bound
        return make()

    rows = []
    for task in tasks:
        moves = task_moves_open(task, actor)
        rows.append({
            "task": task,
            "forms": [(m, form_for(task, m.name, lambda m=m: TaskMoveForm(move=m.name, prefix=f"{task.pk}-{m.name}")))
                      for m in moves],
            "artifact_form": form_for(task, "artifact", lambda: ArtifactForm(prefix=f"{task.pk}-artifact"))
            if moves else None,
        })
    create_form = None
    if tasks_open(request, actor):
        create_form = bound if isinstance(bound, TaskCreateForm) else TaskCreateForm(
            request=request, brains=context.get("brains"), used_types=[task.task_type for task in tasks])
    return {"r": request, "rows": rows, "csrf_token": context.get("csrf_token"), "create_form": create_form}
