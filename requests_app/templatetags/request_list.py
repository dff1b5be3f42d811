"""The request list's row cells.

They are built here rather than in template partials: the list shows up to ten of them on each of
its 25 rows, and in the template language each cell's lookups, filters and escaping cost more than
the rest of the page's rendering together. `request_cells` writes a row's cells in the person's
column order; the headings stay in the template (templates/requests_app/list.html).
"""

from collections.abc import Callable
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from governance_app.kernel import wording
from governance_app.kernel.paths import path_to
from requests_app.templatetags.sla import sla_clock

register = template.Library()


def _request(row: Any, moments: wording.Moments) -> SafeString:
    flag = mark_safe(' <span class="flag" title="Escalation flag">⚑</span>') if row.escalation_flag else ""
    hidden = mark_safe('<span class="badge">hidden from HO</span>') if not row.head_office_visible else ""
    return wording.html_of('<td class="title"><a href="{}">{}</a>{}\n          {}</td>',
                           path_to("requests:detail", row.pk), row.request_title, flag, hidden)


def _owners(row: Any, moments: wording.Moments) -> SafeString:
    origin = row.requesting_brain.name if row.requesting_brain_id and row.requesting_brain else ""
    return wording.html_of('<td class="small"><span title="origin → destination">{} → {}</span></td>',
                           origin or "—", row.target_brain.name)


def _assignee(row: Any, moments: wording.Moments) -> SafeString:
    if not row.assignee_id:
        return mark_safe('<td class="hide-sm"></td>')
    return wording.html_of('<td class="hide-sm"><span class="initials" title="Assigned to {}">{}</span></td>',
                           wording.person(row.assignee), wording.initials(row.assignee))


def _time(value: Any, moments: wording.Moments) -> SafeString:
    return wording.html_of('<td class="small muted" title="{}">{}</td>', moments.when(value), moments.ago(value))


CELLS: dict[str, Callable[[Any, wording.Moments], SafeString]] = {
    "request": _request,
    "type": lambda row, moments: wording.html_of('<td class="small hide-sm">{}</td>',
                                                 wording.choice_label(row, "request_type")),
    "owners": _owners,
    "status": lambda row, moments: wording.html_of('<td><span class="badge badge-{}">{}</span></td>', row.status,
                                                   wording.choice_label(row, "status")),
    "priority": lambda row, moments: wording.html_of('<td><span class="badge badge-{}">{}</span></td>',
                                                     row.priority, wording.choice_label(row, "priority")),
    "sla": lambda row, moments: wording.html_of("<td>{}</td>", sla_clock(row, moments=moments)),
    "tasks": lambda row, moments: wording.html_of('<td class="small hide-sm">{}</td>', row.task_count),
    "assignee": _assignee,
    "updated": lambda row, moments: _time(row.updated_at, moments),
    "created": lambda row, moments: _time(row.created_at, moments),
}


def _cells(row: Any, columns: list[str], moments: wording.Moments) -> str:
    return "".join(CELLS[column](row, moments) for column in columns)  # each cell is escaped above


@register.simple_tag
def request_cells(row: Any, columns: list[str]) -> SafeString:
    """The row's cells, in the columns' order (requests_app.saved_views.LIST_COLUMNS)."""
    return mark_safe(_cells(row, columns, wording.Moments.current()))


@register.simple_tag
def request_rows(rows: Any, columns: list[str], pick: bool = False) -> SafeString:
    """The table's rows: each row's cells in the columns' order, after a checkbox to pick it for
    the bulk bar when `pick`. One tag for the 25 rows rather than a loop in the template, so the
    page's time zone and language are read once (wording.Moments)."""
    moments = wording.Moments.current()
    out = []
    for row in rows:
        box = wording.html_of('<td class="pick"><input type="checkbox" name="selected" value="{}" form="bulk-form" '
                              'aria-label="Select “{}”"></td>', row.pk, row.request_title) if pick else ""
        out.append(f"\n      <tr>\n        {box}\n        {_cells(row, columns, moments)}\n      </tr>")
    return mark_safe("".join(out))
