"""The workspace inbox's row cells (templates/requests_app/workspace.html), written in Python as the
request list's are (request_list.py): issue 16, the inbox's 35 rows of lookups, filters and two
clocks each were most of its template time. The "to act" row's action cell stays in the template.
"""

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from governance_app.kernel import wording
from governance_app.kernel.paths import path_to
from requests_app.sla import request_clock
from requests_app.templatetags.sla import clock_html, duration

register = template.Library()

_FLAG = mark_safe(' <span class="flag" title="Escalation flag">⚑</span>')


@register.simple_tag
def inbox_cells(row: Any, responses: bool = False) -> SafeString:
    """The request, its Brains, status, priority, SLA badge, time in status and age; with
    `responses`, a responded request's response under its title (the "to act" list)."""
    clock, moments = request_clock(row), wording.Moments.current()
    status = wording.choice_label(row, "status")
    response = ""
    if responses and row.response_summary and row.status == "responded":
        response = wording.html_of('<div class="small">↩ {}</div>', Truncator(row.response_summary).chars(120))
    origin = row.requesting_brain.name if row.requesting_brain_id and row.requesting_brain else ""
    target = row.target_brain.name if row.target_brain_id and row.target_brain else ""
    return wording.html_of(
        '<td class="title"><a href="{}">{}</a>{}<div class="muted small">{}</div>{}</td>\n'
        '      <td class="small">{} → {}</td>\n'
        '      <td data-label="Status"><span class="badge badge-{}">{}</span></td>\n'
        '      <td data-label="Priority"><span class="badge badge-{}">{}</span></td>\n'
        '      <td data-label="SLA">{}</td>\n'
        '      <td class="small" data-label="In status" title="{} since {}">{}</td>\n'
        '      <td class="small" data-label="Age" title="Created {}">{}</td>',
        path_to("requests:detail", row.pk), row.request_title, _FLAG if row.escalation_flag else "",
        wording.choice_label(row, "request_type"), response, origin or "—", target or "—", row.status, status,
        row.priority, wording.choice_label(row, "priority"), clock_html(row, clock, times=False, moments=moments),
        status, moments.when(clock.status_entered_at), duration(clock.in_status), moments.when(row.created_at),
        duration(clock.age))
