"""The SLA clock of a request row, as every list, queue card, inbox row and drill-down shows it."""

from datetime import timedelta
from typing import Any

from django import template

from governance_app.kernel import wording
from requests_app.sla import request_clock

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    """A span in the fewest words that still tell it: 45 min, 3 h 20 min, 2 d 4 h."""
    if value is None:
        return ""
    minutes = max(int(abs(value).total_seconds() // 60), 0)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins and hours < 10 else f"{hours} h"
    return f"{mins} min"


@register.filter
def minutes_duration(minutes: int | None) -> str:
    return "" if minutes is None else duration(timedelta(minutes=minutes))


@register.simple_tag
def sla_clock(request: Any, compact: bool = False, times: bool = True, moments: wording.Moments | None = None) -> str:
    """The badge (on track, due soon, breached), time in status and age of one request already read
    (times=False: the badge only, for a table that shows time in status and age in columns of their own).

    Built here rather than in an included template: lists show it on every row, and at 25 rows an
    inclusion tag's context and template were a third of the list's rows' time."""
    return clock_html(request, request_clock(request), compact=compact, times=times, moments=moments)


def clock_html(request: Any, clock: Any, *, compact: bool = False, times: bool = True,
               moments: wording.Moments | None = None) -> str:
    """sla_clock's HTML from the request's clock already worked out (a row that shows its parts too)."""
    moments = moments or wording.Moments.current()  # a list's rows share theirs (request_list.request_rows)
    if clock.state != "none":
        spent = (f"{duration(clock.overdue)} over" if clock.overdue is not None
                 else f"{duration(clock.remaining)} left")
        badge = wording.html_of('<span class="sla sla-{}" title="SLA due {}">{} · {}</span>', clock.state,
                                moments.when(clock.due_at), clock.label, spent)
    elif not compact:
        title = (f"{wording.choice_label(request, 'status')}: no clock runs" if clock.final
                 else "No SLA target for this priority and status")
        took = f" · took {duration(clock.took)}" if clock.final else ""
        badge = wording.html_of('<span class="sla sla-none" title="{}">{}{}</span>', title, clock.label, took)
    else:
        badge = ""
    spans = ""
    if times:
        spans = wording.html_of('\n<span class="sla-times"><span title="{} since {}">{} in status</span> · '
                                '<span title="Created {}">{} old</span></span>',
                                wording.choice_label(request, "status"), moments.when(clock.status_entered_at),
                                duration(clock.in_status), moments.when(request.created_at), duration(clock.age))
    return wording.html_of('<span class="sla-clock">{}{}</span>', badge, spans)


@register.simple_tag
def request_clock_of(request: Any) -> Any:
    """The clock of one request already read, for a template that shows its parts in columns."""
    return request_clock(request)
