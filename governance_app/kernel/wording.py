"""How the pages say a time or a person, for templates (governance_app.templatetags.mwms) and for
the cells a list builds in Python (requests_app.templatetags.request_list) alike."""

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.timesince import timesince


def ago(value: datetime | None) -> str:
    """'3 days ago' — the largest unit only, which is what a queue needs at a glance."""
    if not value:
        return "—"
    return f"{timesince(value, depth=1)} ago"


def initials(user: Any) -> str:
    """A person's initials for a list row: of their full name, else the first two letters of their username."""
    if user is None:
        return ""
    words = user.get_full_name().split()
    return ("".join(word[0] for word in words[:2]) if words else user.get_username()[:2]).upper()


def person(user: Any) -> str:
    """A person as the pages name them: their full name, else their username."""
    return (user.get_full_name() or user.get_username()) if user is not None else "nobody"


def when(value: datetime | None) -> str:
    """A moment as the pages' tooltips give it, in the current time zone: '3 Dec 2026, 09:42'
    (the date filter's 'j M Y, H:i', without its per-call formatter: a list gives a few on each row)."""
    if not value:
        return ""
    local = timezone.localtime(value)
    return f"{local.day} {MONTHS_3[local.month].title()} {local.year}, {local:%H:%M}"
