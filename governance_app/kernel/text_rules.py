"""What counts as a real answer (protocol rule 7: "Done" is not a sufficient governed outcome), and
text that can be stored at all: no NUL, and no longer than its column's limit (kernel.limits)."""

import re

from governance_app.kernel import limits
from governance_app.kernel.errors import DomainError, Refusal

# Phrases that say nothing about what happened (protocol rule 7; connector "result handoff").
PLACEHOLDERS = frozenset({
    "done", "ok", "okay", "completed", "complete", "finished", "closed", "fixed", "resolved", "n/a", "na",
    "none", "nothing", "yes", "no", "tbd", "todo", "to do", "see above", "as discussed", "as above", "noted",
    "handled", "sorted", "all good", "fine", "approved", "rejected", "-", "...", "?", "x", "test",
})
MIN_CHARACTERS = 12


def _normalise(value: str) -> str:
    return re.sub(r"[\s.!,;:]+", " ", value.strip().lower()).strip()


def is_placeholder(value: str | None) -> bool:
    text = _normalise(value or "")
    return not text or text in PLACEHOLDERS or len(text) < MIN_CHARACTERS or len(text.split()) < 2


def storable(text: str, *, field: str, limit: int = limits.TEXT) -> str:
    """The text, or a refusal naming the field: it holds a NUL (which PostgreSQL cannot store) or
    is longer than `limit` ("request_title: at most 300 characters (this has 1,000,000).")."""
    problem = limits.unstorable_text(text) or limits.too_long(text, limit)
    if problem:
        raise DomainError(f"{field}: {problem}.", field=field, kind=Refusal.INVALID)
    return text


def optional_text(value: str | None, *, field: str, limit: int = limits.TEXT) -> str:
    """An optional text stripped ("" when absent), refused when it cannot be stored."""
    return storable((value or "").strip(), field=field, limit=limit)


def substantive(value: str | None, *, field: str, label: str, limit: int = limits.TEXT) -> str:
    """The value stripped, or a refusal saying that a placeholder is not an answer."""
    text = storable((value or "").strip(), field=field, limit=limit)
    if not text:
        raise DomainError(f"{label} is required.", field=field, kind=Refusal.INVALID)
    if is_placeholder(text):
        raise DomainError(
            f"{label} must say what actually happened: {text!r} is a placeholder, not an outcome "
            f"(write at least a short sentence).",
            field=field, kind=Refusal.INVALID,
        )
    return text


def required_text(value: str | None, *, field: str, label: str, limit: int = limits.TEXT) -> str:
    """A value that must be present but may be short (a name, an owner)."""
    text = storable((value or "").strip(), field=field, limit=limit)
    if not text:
        raise DomainError(f"{label} is required.", field=field, kind=Refusal.INVALID)
    return text
