"""What counts as a real answer. Protocol rule 7: "Done" is not a sufficient governed outcome."""

import re

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


def substantive(value: str | None, *, field: str, label: str) -> str:
    """The value stripped, or a refusal saying that a placeholder is not an answer."""
    text = (value or "").strip()
    if not text:
        raise DomainError(f"{label} is required.", field=field, kind=Refusal.INVALID)
    if is_placeholder(text):
        raise DomainError(
            f"{label} must say what actually happened: {text!r} is a placeholder, not an outcome "
            f"(write at least a short sentence).",
            field=field, kind=Refusal.INVALID,
        )
    return text


def required_text(value: str | None, *, field: str, label: str) -> str:
    """A value that must be present but may be short (a name, an owner)."""
    text = (value or "").strip()
    if not text:
        raise DomainError(f"{label} is required.", field=field, kind=Refusal.INVALID)
    return text
