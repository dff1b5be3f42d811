"""Small display filters every page shares."""

from datetime import datetime

from django import template
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def ago(value: datetime | None) -> str:
    """'3 days ago' — the largest unit only, which is what a queue needs at a glance."""
    if not value:
        return "—"
    return f"{timesince(value, depth=1)} ago"
