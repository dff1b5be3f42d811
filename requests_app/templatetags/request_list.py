"""The request list's row cells.

They are built here rather than in template partials: the list shows up to ten of them on each of
its 25 rows, and in the template language each cell's lookups, filters and escaping cost more than
the rest of the page's rendering together. `request_cells` writes a row's cells in the person's
column order; the headings stay in the template (templates/requests_app/list.html).
"""

from collections.abc import Callable
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from governance_app.kernel import wording
from governance_app.kernel.paths import path_to
from requests_app.templatetags.sla import sla_clock

register = template.Library()


def _request(row: Any) -> SafeString:
    flag = mark_safe(' <span class="flag" title="Escalation flag">⚑</span>') if row.escalation_flag else ""
    hidden = mark_safe('<span class="badge">hidden from HO</span>') if not row.head_office_visible else ""
    return format_html('<td class="title"><a href="{}">{}</a>{}\n          {}</td>',
                       path_to("requests:detail", row.pk), row.request_title,
                       flag, hidden)


def _owners(row: Any) -> SafeString:
    origin = row.requesting_brain.name if row.requesting_brain_id and row.requesting_brain else ""
    return format_html('<td class="small"><span title="origin → destination">{} → {}</span></td>',
                       origin or "—", row.target_brain.name)


def _assignee(row: Any) -> SafeString:
    if not row.assignee_id:
        return mark_safe('<td class="hide-sm"></td>')
    return format_html('<td class="hide-sm"><span class="initials" title="Assigned to {}">{}</span></td>',
                       wording.person(row.assignee), wording.initials(row.assignee))


def _time(value: Any) -> SafeString:
    return format_html('<td class="small muted" title="{}">{}</td>', wording.when(value), wording.ago(value))


CELLS: dict[str, Callable[[Any], SafeString]] = {
    "request": _request,
    "type": lambda row: format_html('<td class="small hide-sm">{}</td>', row.get_request_type_display()),
    "owners": _owners,
    "status": lambda row: format_html('<td><span class="badge badge-{}">{}</span></td>', row.status,
                                      row.get_status_display()),
    "priority": lambda row: format_html('<td><span class="badge badge-{}">{}</span></td>', row.priority,
                                        row.get_priority_display()),
    "sla": lambda row: format_html("<td>{}</td>", sla_clock(row)),
    "tasks": lambda row: format_html('<td class="small hide-sm">{}</td>', row.task_count),
    "assignee": _assignee,
    "updated": lambda row: _time(row.updated_at),
    "created": lambda row: _time(row.created_at),
}


@register.simple_tag
def request_cells(row: Any, columns: list[str]) -> SafeString:
    """The row's cells, in the columns' order (requests_app.saved_views.LIST_COLUMNS)."""
    return mark_safe("".join(CELLS[column](row) for column in columns))  # each cell is escaped above
