"""Bulk actions on the request list (issue 14): one action on many requests, through the very
services a single request's page calls, one transaction per request.

Each request is handled on its own: its service runs inside a transaction of its own (a savepoint
inside a web request's transaction on PostgreSQL), so a refused request is rolled back whole, with
no partial row and no event, while the others go on. The result names every request with what
happened to it, and for each refusal the service's own sentence. Only HeadOffice has bulk actions:
a Brain owner's moves depend on their role on each request, and the list offers them none.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import transaction

from governance_app.kernel.actors import Actor
from governance_app.kernel.errors import DomainError, Refusal
from requests_app import services
from requests_app.models import BrainRequest
from requests_app.selectors import person_label, request_latest_event_id, requests_visible_to


class BulkAction(StrEnum):
    ROUTE = "route"
    PARK = "park"
    REJECT = "reject"
    ASSIGN = "assign"
    NOTE = "note"


LABELS = {BulkAction.ROUTE: "Route", BulkAction.PARK: "Park", BulkAction.REJECT: "Reject",
          BulkAction.ASSIGN: "Assign", BulkAction.NOTE: "Add a note"}


def bulk_allowed(actor: Actor) -> bool:
    """Whether the actor has bulk actions: a HeadOffice person or HeadOffice token."""
    return actor.is_head_office and not (actor.is_executor or actor.is_integration)


def bulk_limit() -> int:
    return int(getattr(settings, "MWMS_BULK_LIMIT", 500))


@dataclass
class BulkRow:
    request_id: uuid.UUID
    title: str
    done: bool
    message: str                   # what happened, or the service's refusal
    status: str = ""               # the request's status afterwards, when it moved


@dataclass
class BulkResult:
    action: BulkAction
    rows: list[BulkRow] = field(default_factory=list)

    @property
    def label(self) -> str:
        return LABELS[self.action]

    @property
    def done(self) -> list[BulkRow]:
        return [row for row in self.rows if row.done]

    @property
    def refused(self) -> list[BulkRow]:
        return [row for row in self.rows if not row.done]


def _service(action: BulkAction, fields: Mapping[str, Any], note: str) -> Callable[[BrainRequest, Actor], Any]:
    """The one-request service an action calls, with its input bound."""
    if action == BulkAction.ROUTE:
        return lambda r, actor: services.request_route(
            request=r, actor=actor, note=note, review_owner=fields.get("review_owner", ""),
            destination_brain=fields.get("destination_brain") or None, routing_notes=fields.get("routing_notes", ""))
    if action == BulkAction.PARK:
        return lambda r, actor: services.request_move(request=r, actor=actor, move="park", note=note)
    if action == BulkAction.REJECT:
        return _reject(fields, note)
    if action == BulkAction.ASSIGN:
        return lambda r, actor: services.request_assign(request=r, actor=actor, assignee=fields.get("assignee"),
                                                        note=note)
    return lambda r, actor: services.request_note_add(request=r, actor=actor, note=note)


def _reject(fields: Mapping[str, Any], note: str) -> Callable[[BrainRequest, Actor], Any]:
    """Reject with one outcome. The rows span lineages, and evidence must be of each request's own
    lineage or external (services.evidence_normalise), so with `cite_latest_event` each request
    names its own latest event, the state it was rejected in, before the external evidence typed."""
    fields = dict(fields)
    cite = bool(fields.pop("cite_latest_event", False))
    typed = list(fields.pop("outcome_evidence", None) or [])

    def run(request: BrainRequest, actor: Actor) -> BrainRequest:
        latest = request_latest_event_id(request=request) if cite else None
        evidence = [str(latest), *typed] if latest else typed
        return services.request_reject(request=request, actor=actor, note=note, outcome_evidence=evidence, **fields)

    return run


def _done_message(action: BulkAction, outcome: Any) -> str:
    if action == BulkAction.NOTE:
        return "Note added."
    if action == BulkAction.ASSIGN:
        return f"Assigned to {person_label(outcome.assignee)}." if outcome.assignee else "Unassigned."
    return f"Now {outcome.get_status_display().lower()}."


def requests_bulk(*, actor: Actor, action: str, request_ids: Iterable[Any], fields: Mapping[str, Any] | None = None,
                  note: str = "") -> BulkResult:
    """Apply one action to each of these requests, each in its own transaction, through the same
    service a single request's page uses; refusals are collected, not raised."""
    if not bulk_allowed(actor):
        raise DomainError("Bulk actions are HeadOffice's: act on each request from its own page.",
                          kind=Refusal.FORBIDDEN)
    try:
        action = BulkAction(action)
    except ValueError:
        raise DomainError(f"There is no bulk action called {str(action)[:40]!r}.", field="action") from None
    ids = list(dict.fromkeys(_ids(request_ids)))
    if not ids:
        raise DomainError("Select at least one request.", field="selected")
    if len(ids) > bulk_limit():
        raise DomainError(f"{len(ids)} requests are selected; a bulk action takes at most {bulk_limit()}. "
                          f"Narrow the filter and try again.", field="selected")
    visible = requests_visible_to(actor).only("pk", "request_title", "tenant_id").in_bulk(ids)
    run = _service(action, dict(fields or {}), note)
    result = BulkResult(action=action)
    for pk in ids:
        request = visible.get(pk)
        if request is None:
            result.rows.append(BulkRow(pk, "", False, "No such request that you can see."))
            continue
        try:
            with transaction.atomic():  # this request's own transaction: all of it, or none of it
                outcome = run(request, actor)
        except DomainError as error:
            result.rows.append(BulkRow(pk, request.request_title, False, error.message))
        else:
            moved = outcome if isinstance(outcome, BrainRequest) else None
            result.rows.append(BulkRow(pk, request.request_title, True, _done_message(action, outcome),
                                       status=moved.status if moved else ""))
    return result


def _ids(values: Iterable[Any]) -> Iterable[uuid.UUID]:
    for value in values:
        try:
            yield value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        except ValueError:
            raise DomainError(f"{str(value)[:40]!r} is not a request id.", field="selected") from None
