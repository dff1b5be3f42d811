"""The task panel of the lineage drill-down: tasks are tasks_app's, so their forms are built here."""

from django import template
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

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


@register.simple_tag
def task_event_items(task) -> SafeString:
    """The task's events as the panel lists them, each an <li> (issue 16: in the template language,
    the busiest task's events were a third of its panel's time). A rule violation says how many
    refusals its window counted (requests_app.selectors.refusal_counts_attach)."""
    items = []
    for e in task.events.all():
        local = timezone.localtime(e.created_at)
        count = getattr(e, "refusal_count", 0)
        refused = format_html(" <strong>(refused {} times in this window)</strong>", count) if count > 1 else ""
        items.append(format_html(
            '<li><time>{} {}, {}</time><div><span class="badge badge-{}">{}</span> {}{} '
            '<span class="muted">— {}</span></div></li>', local.day, MONTHS_3[local.month].title(), f"{local:%H:%M}",
            e.event_type, e.get_event_type_display(), e.event_summary, refused, e.actor))
    return mark_safe("".join(items))
