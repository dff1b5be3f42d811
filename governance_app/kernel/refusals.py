"""One way to keep a refused attempt on the record.

A service refuses by raising DomainError inside its transaction, so everything it wrote is rolled
back. Some refusals must still leave a trace (a token's forbidden move is a `rule_violation` event
on the request's or the task's history): `records_refusal` runs the service and, when it refuses,
calls the app's recorder after the rollback, then lets the refusal go on to the caller. The
recorder decides which refusals it keeps. Inside an API call's transaction the rollback may be the
whole call's; the recorder then runs after it (kernel.transactions.after_refusal).
"""

from collections.abc import Callable
from functools import partial, wraps
from typing import Any, TypeVar

from governance_app.kernel.errors import DomainError
from governance_app.kernel.transactions import after_refusal

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
