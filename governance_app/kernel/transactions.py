"""A service's transaction, and the API call's transaction it usually runs in.

Every state change runs in `atomic()`: a transaction of its own or, inside an outer one, a
savepoint, so that a refusal rolls back only the service's own work and the caller goes on (a page
shows its form again with the error; a token's forbidden move is recorded as a rule_violation).

On PostgreSQL each API call with a bearer token is already one transaction acting for the token's
tenant (mwms_site.web.TenantClaimMiddleware opens it as `call_transaction(final=True)`). After a
service refuses, such a call does nothing but answer the error, so a service directly inside it
takes no savepoint of its own: a refusal rolls the whole call back, which undoes the same work and
saves two statements per call (SAVEPOINT and RELEASE, about a twentieth of a call's CPU). The one
thing a refused call still writes, the record of a refusal, is put off until that rollback is done
(`after_refusal`), and then written in a transaction of its own acting for the actor's tenant.

Pages, commands and SQLite are unchanged: there is no final call transaction there.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django_tasks.signals import task_enqueued
from django_tasks.utils import normalize_json
from django_tasks_db import DatabaseBackend

from governance_app.kernel import claims
from governance_app.kernel.fastpath import insert_row


@dataclass
class _Call:
    atomic: transaction.Atomic
    final: bool
    deferred: list[tuple[object, Callable[[], None]]] = field(default_factory=list)


_current: contextvars.ContextVar[_Call | None] = contextvars.ContextVar("mwms_call_transaction", default=None)


@contextlib.contextmanager
def call_transaction(*, final: bool) -> Iterator[None]:
    """One web request's or API call's transaction. `final`: nothing runs after a refusal but the
    error answer, so services directly inside need no savepoint (see the module docstring)."""
    call = _Call(transaction.atomic(), final)
    token = _current.set(call)
    try:
        with call.atomic:
            yield
    finally:
        _current.reset(token)
    for tenant_id, record in call.deferred:
        with claims.tenant_claim(tenant_id):
            record()


def atomic() -> transaction.Atomic:
    """The transaction of a service: `transaction.atomic()`, without the savepoint when it runs
    directly inside a final call transaction."""
    call = _current.get()
    if call is not None and call.final and connection.atomic_blocks and connection.atomic_blocks[-1] is call.atomic:
        return transaction.atomic(savepoint=False)
    return transaction.atomic()


def doomed() -> bool:
    """Whether the current transaction can only be rolled back (a service without a savepoint of
    its own refused inside it)."""
    return connection.in_atomic_block and connection.needs_rollback


def enqueue_with_change(task: Any, *args: Any) -> None:
    """Queue a background task that a change being written asks for (a notification's fan-out, a
    webhook delivery). When the queue is a table of this database (django-tasks-db's backend) the
    task is queued in the change's own transaction, as an outbox: it commits or rolls back with the
    change, so no committed change loses its task and no task names a change that never was, and it
    costs no transaction of its own (queued after commit, each API call paid a second commit).
    Another backend (the immediate one of the tests and MWMS_TASKS_IMMEDIATE, which runs the task
    at once and must see the change) gets it after commit, where a queue that cannot take it does
    not turn a committed change into an error."""
    backend = task.get_backend()
    if connection.in_atomic_block and isinstance(backend, DatabaseBackend):
        _enqueue_row(backend, task, args)
    else:
        transaction.on_commit(lambda: task.enqueue(*args), robust=True)


def _enqueue_row(backend: DatabaseBackend, task: Any, args: tuple) -> None:
    """`task.enqueue(*args)` on django-tasks-db's backend (`DatabaseBackend.enqueue`: the task
    checked, its row written, `task_enqueued` sent), with the row inserted by fastpath.insert_row
    instead of `DBTaskResult.objects.create`: every new request queues one, and the ORM's compiled
    INSERT cost a tenth of a creation's CPU. tests/test_hot_path_statements.py compares the two."""
    from django_tasks_db.models import DBTaskResult

    backend.validate_task(task)
    row = insert_row(DBTaskResult(
        id=backend._get_id(),
        args_kwargs=normalize_json({"args": args, "kwargs": {}}),
        priority=task.priority,
        task_path=task.module_path,
        queue_name=task.queue_name,
        run_after=task.run_after,
        backend_name=backend.alias,
    ))
    task_enqueued.send(type(backend), task_result=row.task_result)


def after_refusal(tenant_id, record: Callable[[], None]) -> None:
    """Write the record of a refusal once the refused work is rolled back: now, when a savepoint
    has already undone it; after the call's rollback, when the call's transaction is doomed."""
    call = _current.get()
    if doomed() and call is not None:
        call.deferred.append((tenant_id, record))
    else:
        record()


__all__ = ["after_refusal", "atomic", "call_transaction", "doomed", "enqueue_with_change"]
