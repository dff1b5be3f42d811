"""How the pages say a time or a person, for templates (governance_app.templatetags.mwms) and for
the cells a list builds in Python (requests_app.templatetags.request_list) alike."""

import functools
import html
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.functional import Promise
from django.utils.html import avoid_wrapping
from django.utils.safestring import SafeString
from django.utils.timesince import TIME_STRINGS, timesince
from django.utils.translation import get_language

# The units timesince counts below a month, largest first, in seconds.
_CHUNKS = (("week", 604_800), ("day", 86_400), ("hour", 3_600), ("minute", 60))


@dataclass(frozen=True)
class Moments:
    """How a page says moments: in the time zone and language it is drawn in, both read once.

    Each is a context-local lookup (about as costly as the rest of a tooltip's wording), and the
    request list's 25 rows asked for them 250 times (issue 16). `Moments.current()` reads them;
    a list that draws its rows in Python makes one for all its rows (requests_app.templatetags.
    request_list). `when` and `ago` below make one per call."""

    zone: tzinfo
    language: str | None

    @classmethod
    def current(cls) -> "Moments":
        return cls(timezone.get_current_timezone(), get_language())

    def when(self, value: datetime | None) -> str:
        """'3 Dec 2026, 09:42': the date filter's 'j M Y, H:i', without its per-call formatter."""
        if not value:
            return ""
        local = timezone.localtime(value, self.zone)
        return f"{local.day} {_months(self.language)[local.month]} {local.year}, {local.hour:02d}:{local.minute:02d}"

    def ago(self, value: datetime | None, now: datetime | None = None) -> str:
        """'3 days ago' — the largest unit only, which is what a queue needs at a glance.

        What `timesince(value, now, depth=1)` says (tests/governance_app/test_wording.py holds the
        two together), without its work for the units a depth of one never shows, each phrase
        worded once per language: timesince was a tenth of the request list's time (issue 16)."""
        if not value:
            return "—"
        if not isinstance(value, datetime):  # a date: timesince's own conversion
            return f"{timesince(value, now, depth=1)} ago"
        if now is None:
            now = datetime.now(value.tzinfo if timezone.is_aware(value) else None)
        elif timezone.is_aware(now) and timezone.is_aware(value):
            now = now.astimezone(value.tzinfo)
        delta = now - value
        unit, count = "minute", 0
        if delta.days * 86_400 + delta.seconds > 0:
            months = (now.year - value.year) * 12 + (now.month - value.month)
            if value.day > now.day or (value.day == now.day and value.time() > now.time()):
                months -= 1
            years, months = divmod(months, 12)
            if years or months:
                unit, count = ("year", years) if years else ("month", months)
            else:
                seconds = delta.total_seconds()
                for name, chunk in _CHUNKS:
                    if seconds >= chunk:
                        unit, count = name, int(seconds // chunk)
                        break
        return f"{_phrase(self.language, unit, count)} ago"


def when(value: datetime | None) -> str:
    """A moment as the pages' tooltips give it, in the current time zone: '3 Dec 2026, 09:42'."""
    return Moments.current().when(value)


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """'3 days ago', in the current language (Moments.ago)."""
    return Moments.current().ago(value, now)


@functools.lru_cache(maxsize=16)
def _months(language: str | None) -> dict[int, str]:
    """The date filter's month abbreviations ('M'), worded once per language."""
    return {number: str(name).title() for number, name in MONTHS_3.items()}


@functools.lru_cache(maxsize=1024)
def _phrase(language: str | None, unit: str, count: int) -> str:
    """'3\xa0days': timesince's words for a count of a unit, worded in `language` (the one active
    when it is first asked, which is the one the key names)."""
    return avoid_wrapping(TIME_STRINGS[unit] % {"num": count})


def initials(user: Any) -> str:
    """A person's initials for a list row: of their full name, else the first two letters of their username."""
    if user is None:
        return ""
    words = user.get_full_name().split()
    return ("".join(word[0] for word in words[:2]) if words else user.get_username()[:2]).upper()


def person(user: Any) -> str:
    """A person as the pages name them: their full name, else their username."""
    return (user.get_full_name() or user.get_username()) if user is not None else "nobody"


def choice_label(instance: Any, field_name: str) -> Any:
    """`instance.get_<field_name>_display()`, from a table of the field's choices made once per
    field: Django flattens and hashes the field's choices on every call, which was a tenth of the
    request list's time (issue 16). A value outside the choices is given back as it is, as Django's."""
    value = getattr(instance, field_name)
    return _choice_labels(type(instance), field_name).get(value, value)


@functools.cache
def _choice_labels(model: type, field_name: str) -> dict[Any, Any]:
    # The labels are kept as the choices give them: a lazy one is still worded when it is shown.
    return dict(model._meta.get_field(field_name).flatchoices)


def escaped(value: Any) -> str:
    """`conditional_escape(value)`: safe text as it is, anything else as escaped text."""
    if isinstance(value, Promise):
        value = str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def html_of(format_string: str, *args: Any) -> SafeString:
    """`format_html(format_string, *args)`, for the cells a list writes by the hundred: the same
    escaping without Django's check of every argument for a lazy one (twice per argument), which
    was most of a cell's cost."""
    return SafeString(format_string.format(*map(escaped, args)))
