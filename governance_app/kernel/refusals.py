"""One way to keep a refused attempt on the record.

A service refuses by raising DomainError inside its transaction, so everything it wrote is rolled
back. Some refusals must still leave a trace (a token's forbidden move is a `rule_violation` event
on the request's or the task's history): `records_refusal` runs the service and, when it refuses,
calls the app's recorder after the rollback, then lets the refusal go on to the caller. The
recorder decides which refusals it keeps. Inside an API call's transaction the rollback may be the
whole call's; the recorder then runs after it (kernel.transactions.after_refusal).

A flood of refused calls must not flood the history: `refusal_count` keeps one window per actor,
record and move (MWMS_REFUSAL_WINDOW_MINUTES long, starting on the clock's multiples of it). Only
the window's first refusal is written as an event; the later ones count up the window's row of
mwms_refusal_windows, so the history stays append-only and HeadOffice still sees how many there were.
"""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial, wraps
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from governance_app.kernel import clock
from governance_app.kernel.actors import Actor
from governance_app.kernel.errors import DomainError
from governance_app.kernel.transactions import after_refusal
from governance_app.models import RefusalWindow

Service = TypeVar("Service", bound=Callable[..., Any])


def records_refusal(recorder: Callable[..., None], *, subject: str, move: str | None = None) -> Callable[[Service], Service]:
    """Decorate a keyword-only service: on a refusal, `recorder(<subject>=…, actor=…, move=…, error=…)`
    runs outside the service's rolled-back transaction. `move` defaults to the service's own `move`
    argument."""
    def wrap(service: Service) -> Service:
        @wraps(service)
        def run(**kwargs: Any) -> Any:
            try:
                return service(**kwargs)
            except DomainError as error:
                actor = kwargs["actor"]
                after_refusal(actor.tenant_id, partial(
                    recorder, **{subject: kwargs[subject]}, actor=actor, move=move or kwargs["move"], error=error))
                raise
        return run  # type: ignore[return-value]
    return wrap


def refusal_window_start(at: datetime) -> datetime:
    """The start of the refusal window `at` falls in."""
    length = settings.MWMS_REFUSAL_WINDOW_MINUTES * 60
    seconds = int(at.timestamp())
    return datetime.fromtimestamp(seconds - seconds % length, tz=UTC)


def _actor_key(actor: Actor) -> str:
    if actor.token_id is not None:
        return f"token:{actor.token_id}"
    if actor.user_id is not None:
        return f"user:{actor.user_id}"
    return actor.label


def refusal_count(*, tenant_id: uuid.UUID, actor: Actor, subject_kind: str, subject_id: uuid.UUID,
                  rule: str) -> uuid.UUID | None:
    """Count one refusal in its window (call inside the transaction that records it). The id the
    rule_violation event must take when this refusal opens the window, None when the window's
    event is written already.

    Two first refusals at the same moment: the unique key lets one open the window, and the other
    (which waited for it on PostgreSQL) counts in it.
    """
    now = clock.now()
    window = RefusalWindow.objects.filter(tenant_id=tenant_id, actor_key=_actor_key(actor), subject_kind=subject_kind,
                                          subject_id=subject_id, rule=rule, window_start=refusal_window_start(now))
    if window.update(refusal_count=F("refusal_count") + 1, last_refused_at=now):
        return None
    event_id = uuid.uuid4()
    try:
        with transaction.atomic():
            RefusalWindow.objects.create(tenant_id=tenant_id, actor_key=_actor_key(actor), actor=actor.label,
                                         subject_kind=subject_kind, subject_id=subject_id, rule=rule,
                                         window_start=refusal_window_start(now), event_id=event_id,
                                         last_refused_at=now, created_at=now)
    except IntegrityError:  # opened by the other refusal meanwhile
        if not window.update(refusal_count=F("refusal_count") + 1, last_refused_at=now):
            raise
        return None
    return event_id
