"""The one error every refused action raises, with a message a person can act on."""

from enum import StrEnum


class Refusal(StrEnum):
    """Why an action was refused; the API turns each into its status code."""

    INVALID = "invalid"        # a field is missing or fails a rule (422)
    FORBIDDEN = "forbidden"    # the actor may not do this (403)
    CONFLICT = "conflict"      # not allowed from the current state, or lost a race (409)
    NOT_FOUND = "not_found"    # does not exist, or is not visible to the actor (404)


class DomainError(Exception):
    """A refused action. `field` names the input at fault where there is one; `findings` the broken
    things of a lineage that refused it (kernel.findings.Finding, e.g. an open child request)."""

    def __init__(self, message: str, *, kind: Refusal = Refusal.INVALID, field: str | None = None,
                 errors: dict[str, str] | None = None, findings: list | None = None):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.field = field
        self.errors = errors or ({field: message} if field else {})
        self.findings = list(findings or [])

    def __str__(self) -> str:
        return self.message


def not_found(what: str) -> DomainError:
    """The refusal for a record that does not exist or is not the actor's to see: the same words
    either way, so the answer tells nothing of a record the actor may not see."""
    return DomainError(f"No {what} with that id that you can see.", kind=Refusal.NOT_FOUND)
