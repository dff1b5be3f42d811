"""Every write that changes a Brain Request. Each is atomic and writes its request event."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from governance_app.actors import Actor
from requests_app.models import BrainRequest, RequestEvent, RequestEventType


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str, list, dict)):
        return value
    return str(value)


def request_event_write(*, request: BrainRequest, actor: Actor, event_type: str, summary: str = "",
                        from_status: str | None = None, to_status: str | None = None, note: str = "",
                        changed_fields: dict[str, list[Any]] | None = None,
                        payload: dict[str, Any] | None = None) -> RequestEvent:
    """Append one event to a request's history (call inside the transaction that made the change)."""
    return RequestEvent.objects.create(
        tenant_id=request.tenant_id,
        request=request,
        event_type=event_type,
        event_summary=summary,
        actor=actor.label,
        from_status=from_status,
        to_status=to_status,
        note=note,
        changed_fields={k: [_jsonable(b), _jsonable(a)] for k, (b, a) in (changed_fields or {}).items()},
        event_payload=payload or {},
    )


def request_record_admin_edit(*, request: BrainRequest, actor: Actor, changed_fields: dict[str, list[Any]],
                              note: str = "") -> BrainRequest:
    """Save a governed admin edit of a request and record who changed which fields from what to what."""
    with transaction.atomic():
        request.updated_at = timezone.now()
        request.lock_version += 1
        request.save()
        if changed_fields:
            request_event_write(
                request=request, actor=actor, event_type=RequestEventType.FIELDS_CHANGED,
                summary="Edited in the admin: " + ", ".join(sorted(changed_fields)),
                changed_fields=changed_fields, note=note, payload={"via": "admin"},
            )
    return request
