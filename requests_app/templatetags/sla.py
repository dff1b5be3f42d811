"""The SLA clock of a request row, as every list, queue card, inbox row and drill-down shows it."""

from datetime import timedelta
from typing import Any

from django import template

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


@register.inclusion_tag("requests_app/_sla_clock.html")
def sla_clock(request: Any, compact: bool = False, times: bool = True) -> dict[str, Any]:
    """The badge (on track, due soon, breached), time in status and age of one request already read
    (times=False: the badge only, for a table that shows time in status and age in columns of their own)."""
    return {"clock": request_clock(request), "r": request, "compact": compact, "times": times}


@register.simple_tag
def request_clock_of(request: Any) -> Any:
    """The clock of one request already read, for a template that shows its parts in columns."""
    return request_clock(request)
