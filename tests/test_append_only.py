"""Events, decisions and canon amendments are append-only, and lineage is never deleted.

The schema standard ("append-only rule", docs/RULES.md): "All event logs must be append-only" — "No updates. No deletes.
Events are immutable." ARCHITECTURE.md adds decision records and canon amendments, and makes the
foreign keys along the chain PROTECT. The database refuses on its own (pgtrigger Protect on
PostgreSQL, BEFORE UPDATE/DELETE RAISE(ABORT) triggers on SQLite), so raw SQL from any client is
refused too; these tests run on both databases.
"""

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import DatabaseError, IntegrityError, ProgrammingError, connection, models, transaction
from django.db.models import ProtectedError

from governance_app.kernel.db import DEFAULT_TENANT_ID, AppendOnlyError
from governance_app.models import CanonAmendment, DecisionRecord
from requests_app.models import BrainRequest, RequestEvent
from tasks_app.models import Task, TaskEvent
from tests.db_roles import as_runtime_role
from tests.direct_writer import chain_link_columns
from tests.factories import (
    make_canon_amendment,
    make_canon_document,
    make_decision_record,
    make_lesson,
    make_request,
    make_request_event,
    make_task,
    make_task_artifact,
    make_task_event,
)

pytestmark = pytest.mark.django_db


class AppendOnly:
    """One append-only table: its model, a factory for a valid row, and a text column to tamper with."""

    def __init__(self, model: type[models.Model], make: Callable[[], models.Model], text_column: str,
                 raw_insert: Callable[[], dict[str, Any]]):
        self.model = model
        self.make = make
        self.text_column = text_column
        self.raw_insert = raw_insert

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    def __repr__(self) -> str:
        return self.table


def _task_event_insert() -> dict[str, Any]:
    return {"task_id": make_task().pk.hex, "event_type": "progress", "event_summary": "Written by raw SQL"}


def _request_event_insert() -> dict[str, Any]:
    return {"request_id": make_request().pk.hex, "event_type": "note", "actor": "wordpress-plugin"}


def _decision_insert() -> dict[str, Any]:
    return {"authority": "headoffice", "decision_summary": "Written by raw SQL", "reasoning": "A direct writer."}


def _amendment_insert() -> dict[str, Any]:
    existing = make_canon_amendment()
    return {
        "document_id": make_canon_document().pk.hex,
        "request_id": existing.request_id.hex,
        "decision_id": existing.decision_id.hex,
        "version_before": "v1.0",
        "version_after": "v1.1",
        "approved_by": "reviewer",
    }


APPEND_ONLY = [
    AppendOnly(TaskEvent, make_task_event, "event_summary", _task_event_insert),
    AppendOnly(RequestEvent, make_request_event, "note", _request_event_insert),
    AppendOnly(DecisionRecord, make_decision_record, "decision_summary", _decision_insert),
    AppendOnly(CanonAmendment, make_canon_amendment, "body_after", _amendment_insert),
]
tables = pytest.mark.parametrize("table", APPEND_ONLY, ids=repr)


def _row(model: type[models.Model], pk: Any) -> dict[str, Any]:
    """Every column of one row, as the database holds it now."""
    return model.objects.filter(pk=pk).values().get()


@contextmanager
def refused_by_append_only_trigger(table: str, operation: str) -> Iterator[None]:
    """Expect the database's append-only trigger to refuse `operation` (UPDATE or DELETE) on `table`.

    PostgreSQL as the runtime role (DATABASE_OWNER_URL set): it has no UPDATE or DELETE on history,
    so the grant refuses first (SQLSTATE 42501), and the trigger stays behind it for the owner.
    PostgreSQL as one role: pgtrigger Protect raises a PL/pgSQL exception (SQLSTATE P0001), which
    psycopg maps to ProgrammingError. SQLite: RAISE(ABORT, …) in a trigger is a constraint failure,
    IntegrityError.
    """
    with pytest.raises(DatabaseError) as excinfo:
        with transaction.atomic():  # a savepoint: PostgreSQL aborts the transaction otherwise
            yield
    error = excinfo.value
    if as_runtime_role():
        assert type(error) is ProgrammingError
        assert error.__cause__.sqlstate == "42501"
        assert str(error).startswith(f"permission denied for table {table}")
    elif connection.vendor == "postgresql":
        assert type(error) is ProgrammingError
        assert error.__cause__.sqlstate == "P0001"
        assert str(error).startswith(f"pgtrigger: Cannot update or delete rows from {table} table")
    else:
        assert type(error) is IntegrityError
        assert str(error) == f"{table} is append-only: {operation} is not allowed"


# --- INSERT works --------------------------------------------------------------------------------


@tables
def test_insert_into_an_append_only_table_by_raw_sql_is_accepted(table: AppendOnly) -> None:
    values = table.raw_insert()
    values.update(chain_link_columns(table.model, values))  # what the chain's INSERT trigger asks for
    before = table.model.objects.count()
    columns = ", ".join(values)
    placeholders = ", ".join(["%s"] * len(values))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table.table} ({columns}) VALUES ({placeholders}) RETURNING id", list(values.values())
        )
        row_id = uuid.UUID(str(cursor.fetchone()[0]))

    assert table.model.objects.count() == before + 1
    row = _row(table.model, row_id)
    # The columns the writer left out come from the database defaults.
    assert row["tenant_id"] == DEFAULT_TENANT_ID
    assert row["created_at"] is not None


@tables
def test_insert_into_an_append_only_table_through_the_model_is_accepted(table: AppendOnly) -> None:
    row = table.make()

    assert _row(table.model, row.pk)[table.text_column] == getattr(row, table.text_column)


# --- UPDATE and DELETE are refused by the database ----------------------------------------------


@tables
def test_update_by_raw_sql_is_refused_by_the_database(table: AppendOnly) -> None:
    row = table.make()
    before = _row(table.model, row.pk)

    with refused_by_append_only_trigger(table.table, "UPDATE"):
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table.table} SET {table.text_column} = %s WHERE id = %s", ["tampered", row.pk.hex]
            )

    assert _row(table.model, row.pk) == before


@tables
def test_update_of_every_row_by_raw_sql_is_refused_by_the_database(table: AppendOnly) -> None:
    table.make()
    table.make()
    before = list(table.model.objects.order_by("pk").values())

    with refused_by_append_only_trigger(table.table, "UPDATE"):
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table.table} SET {table.text_column} = %s", ["tampered"])

    assert list(table.model.objects.order_by("pk").values()) == before


@tables
def test_delete_by_raw_sql_is_refused_by_the_database(table: AppendOnly) -> None:
    row = table.make()
    before = _row(table.model, row.pk)

    with refused_by_append_only_trigger(table.table, "DELETE"):
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table.table} WHERE id = %s", [row.pk.hex])

    assert _row(table.model, row.pk) == before


@tables
def test_queryset_update_is_refused_by_the_database(table: AppendOnly) -> None:
    # QuerySet.update() never calls Model.save(), so only the database stands in its way.
    row = table.make()
    before = _row(table.model, row.pk)

    with refused_by_append_only_trigger(table.table, "UPDATE"):
        table.model.objects.filter(pk=row.pk).update(**{table.text_column: "tampered"})

    assert _row(table.model, row.pk) == before


@tables
def test_queryset_delete_is_refused_by_the_database(table: AppendOnly) -> None:
    # QuerySet.delete() never calls Model.delete(), so only the database stands in its way.
    row = table.make()
    before = _row(table.model, row.pk)

    with refused_by_append_only_trigger(table.table, "DELETE"):
        table.model.objects.filter(pk=row.pk).delete()

    assert _row(table.model, row.pk) == before


def test_update_of_a_task_event_is_refused_by_the_database() -> None:
    event = make_task_event(event_summary="Scanned two of three markets.")

    with refused_by_append_only_trigger("mwms_task_events", "UPDATE"):
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE mwms_task_events SET event_type = 'completed', event_summary = 'All done' WHERE id = %s",
                [event.pk.hex],
            )

    event.refresh_from_db()
    assert (event.event_type, event.event_summary) == ("progress", "Scanned two of three markets.")


# --- The model layer refuses before the database is asked ----------------------------------------


@tables
def test_saving_an_existing_row_again_raises_append_only_error(table: AppendOnly) -> None:
    row = table.make()
    before = _row(table.model, row.pk)
    setattr(row, table.text_column, "tampered")

    with pytest.raises(AppendOnlyError, match=f"^{table.table} is append-only: rows cannot be changed$"):
        row.save()

    assert _row(table.model, row.pk) == before


@tables
def test_deleting_a_row_through_the_model_raises_append_only_error(table: AppendOnly) -> None:
    row = table.make()
    before = _row(table.model, row.pk)

    with pytest.raises(AppendOnlyError, match=f"^{table.table} is append-only: rows cannot be deleted$"):
        row.delete()

    assert _row(table.model, row.pk) == before


# --- Nothing with lineage is deleted: the chain's foreign keys are PROTECT ------------------------


def _request_with_task() -> tuple[models.Model, models.Model]:
    task = make_task()
    return task.request, task


def _request_with_event() -> tuple[models.Model, models.Model]:
    event = make_request_event()
    return event.request, event


def _request_with_child_request() -> tuple[models.Model, models.Model]:
    parent = make_request()
    return parent, make_request(parent_request=parent)


def _task_with_event() -> tuple[models.Model, models.Model]:
    event = make_task_event()
    return event.task, event


def _task_with_artifact() -> tuple[models.Model, models.Model]:
    artifact = make_task_artifact()
    return artifact.task, artifact


def _task_with_decision() -> tuple[models.Model, models.Model]:
    task = make_task()
    return task, make_decision_record(task=task)


def _task_with_lesson() -> tuple[models.Model, models.Model]:
    task = make_task()
    return task, make_lesson(related_task=task)


def _request_with_decision() -> tuple[models.Model, models.Model]:
    decision = make_decision_record()
    return decision.related_request, decision


@pytest.mark.parametrize(
    "make_lineage",
    [
        _request_with_task,
        _request_with_event,
        _request_with_child_request,
        _request_with_decision,
        _task_with_event,
        _task_with_artifact,
        _task_with_decision,
        _task_with_lesson,
    ],
    ids=lambda make: make.__name__.lstrip("_"),
)
def test_deleting_a_record_that_has_lineage_raises_protected_error(
    make_lineage: Callable[[], tuple[models.Model, models.Model]],
) -> None:
    parent, child = make_lineage()

    with pytest.raises(ProtectedError) as excinfo:
        parent.delete()

    assert child in excinfo.value.protected_objects
    assert type(parent).objects.filter(pk=parent.pk).exists()
    assert type(child).objects.filter(pk=child.pk).exists()


def test_deleting_a_brain_request_that_has_a_task_raises_protected_error() -> None:
    task = make_task()

    with pytest.raises(ProtectedError):
        task.request.delete()

    assert BrainRequest.objects.filter(pk=task.request_id).exists()
    assert Task.objects.get(pk=task.pk).request_id == task.request_id


def test_deleting_a_task_that_has_events_raises_protected_error() -> None:
    event = make_task_event()

    with pytest.raises(ProtectedError):
        event.task.delete()

    assert Task.objects.filter(pk=event.task_id).exists()
    assert TaskEvent.objects.filter(task_id=event.task_id).count() == 1


def test_deleting_a_brain_request_that_has_a_task_by_raw_sql_is_refused_by_the_foreign_key() -> None:
    # A direct writer bypasses PROTECT; the foreign key still refuses to orphan the task. Django's
    # foreign keys are DEFERRABLE INITIALLY DEFERRED, so the check runs at commit; check_constraints()
    # runs it now (SET CONSTRAINTS ALL IMMEDIATE on PostgreSQL, PRAGMA foreign_key_check on SQLite).
    # As the runtime role the grant refuses first: it may not delete a request at all.
    task = make_task()

    with pytest.raises(ProgrammingError if as_runtime_role() else IntegrityError) as excinfo:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM mwms_brain_requests WHERE id = %s", [task.request_id.hex])
            connection.check_constraints()

    if as_runtime_role():
        assert str(excinfo.value).startswith("permission denied for table mwms_brain_requests")
    elif connection.vendor == "postgresql":
        assert 'violates foreign key constraint' in str(excinfo.value)
        assert 'on table "mwms_tasks"' in str(excinfo.value)
    else:
        assert "mwms_tasks.request_id contains a value" in str(excinfo.value)
    assert BrainRequest.objects.filter(pk=task.request_id).exists()
