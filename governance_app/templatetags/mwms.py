"""Small display filters every page shares."""

from datetime import datetime, timedelta

from django import template
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def ago(value: datetime | None) -> str:
    """'3 days ago' — the largest unit only, which is what a queue needs at a glance."""
    if not value:
        return "—"
    return f"{timesince(value, depth=1)} ago"


@register.filter
def minutes(value: timedelta | None) -> str:
    """A wait as a person says it: '15 minutes', '1 minute'."""
    if not value:
        return "a moment"
    count = max(1, round(value.total_seconds() / 60))
    return f"{count} minute{'s' if count != 1 else ''}"
