"""Database building blocks every app's models share: fields with the canon's types and database
defaults, CHECK constraints, AppendOnlyModel and its triggers. It imports no model (the bottom
layer of the import-linter contract).

The schema standard (docs/RULES.md: conventions) asks for uuid keys, timestamptz, jsonb with '{}' / '[]'
defaults and append-only event logs. Other clients (a WordPress plugin through Supabase, say)
write straight into PostgreSQL, so defaults live in the database, not only in Python.
"""

import uuid
from collections.abc import Iterable
from typing import Any

import pgtrigger
from django.db import models
from django.db.migrations.operations.base import Operation
from django.db.models.functions import Now

from governance_app.kernel import clock

# The tenant that exists after `migrate` (created by governance_app's data migration); every
# table's tenant_id defaults to it in the database, so a direct writer lands in it too.
DEFAULT_TENANT_ID = uuid.UUID("00000000-0000-0000-0000-000000000001")


class GenRandomUUID(models.Func):
    """`gen_random_uuid()` on PostgreSQL; 32 random hex digits (Django's SQLite uuid form) on SQLite."""

    function = "gen_random_uuid"
    template = "%(function)s()"
    output_field = models.UUIDField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return "(lower(hex(randomblob(16))))", []


class DbNow(Now):
    """The canon's `now()` default on PostgreSQL (Django's Now renders statement_timestamp())."""

    def as_postgresql(self, compiler, connection, **extra_context):
        return "now()", []


def json_safe(value: Any) -> Any:
    """A value as JSON can hold it: containers recursively, anything else as its text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    return str(value)


def uuid_pk() -> models.UUIDField:
    return models.UUIDField(primary_key=True, default=uuid.uuid4, db_default=GenRandomUUID(), editable=False)


def created_at() -> models.DateTimeField:
    return models.DateTimeField(default=clock.now, db_default=DbNow(), editable=False, db_index=True)


def updated_at() -> models.DateTimeField:
    return models.DateTimeField(default=clock.now, db_default=DbNow(), db_index=True)


def json_object(**kwargs) -> models.JSONField:
    return models.JSONField(default=dict, db_default=models.Value({}, output_field=models.JSONField()), blank=True, **kwargs)


def json_list(**kwargs) -> models.JSONField:
    return models.JSONField(default=list, db_default=models.Value([], output_field=models.JSONField()), blank=True, **kwargs)


def text(*, blank: bool = False, **kwargs) -> models.TextField:
    """A NOT NULL text column; optional ones default to '' in the database too."""
    if blank:
        kwargs.setdefault("default", "")
        kwargs.setdefault("db_default", "")
    return models.TextField(blank=blank, **kwargs)


def tenant_fk() -> models.ForeignKey:
    return models.ForeignKey(
        "governance_app.Tenant",
        on_delete=models.PROTECT,
        default=DEFAULT_TENANT_ID,
        db_default=DEFAULT_TENANT_ID,
        related_name="+",
    )


def brain_fk(*, null: bool = False, related_name: str = "+", db_column: str, **kwargs) -> models.ForeignKey:
    """A canonical brain column (text, e.g. target_brain) that must name a Brain in the registry."""
    return models.ForeignKey(
        "governance_app.Brain",
        to_field="slug",
        db_column=db_column,
        on_delete=models.PROTECT,
        null=null,
        blank=null,
        related_name=related_name,
        **kwargs,
    )


def choices_check(field: str, choices: type[models.TextChoices] | Iterable[str], *, table: str,
                  nullable: bool = False) -> models.CheckConstraint:
    """Schema enforcement at insertion: the column only ever holds one of the listed values."""
    values = [c for c in (choices.values if hasattr(choices, "values") else choices)]
    condition = models.Q(**{f"{field}__in": values})
    if nullable:
        condition |= models.Q(**{f"{field}__isnull": True})
    return models.CheckConstraint(condition=condition, name=f"{table}_{field}_valid")


def append_only_trigger(table: str) -> pgtrigger.Protect:
    """PostgreSQL trigger that refuses UPDATE and DELETE, from the ORM and from raw SQL alike."""
    return pgtrigger.Protect(name=f"{table}_append_only", operation=pgtrigger.Update | pgtrigger.Delete)


class AppendOnlyError(Exception):
    """An append-only row (event or decision) was asked to change or disappear."""


class AppendOnlyModel(models.Model):
    """Rows are written once. A correction is a new row (a decision supersedes an older one)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{self._meta.db_table} is append-only: rows cannot be changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    # A new row's save() is a plain INSERT: fastpath.insert_row may write it without calling save().
    save.plain_insert = True

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{self._meta.db_table} is append-only: rows cannot be deleted")


class SQLiteAppendOnlyTriggers(Operation):
    """The SQLite twin of append_only_trigger: BEFORE UPDATE/DELETE triggers that RAISE(ABORT).

    pgtrigger installs its triggers only on PostgreSQL, so on SQLite this migration operation does
    the same job; on PostgreSQL it does nothing.
    """

    reduces_to_sql = True
    reversible = True

    def __init__(self, table: str):
        self.table = table

    def state_forwards(self, app_label, state):
        pass

    def _statements(self) -> list[str]:
        return [
            f"CREATE TRIGGER {self.table}_no_{op.lower()} BEFORE {op} ON {self.table} "
            f"BEGIN SELECT RAISE(ABORT, '{self.table} is append-only: {op} is not allowed'); END"
            for op in ("UPDATE", "DELETE")
        ]

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "sqlite":
            for statement in self._statements():
                schema_editor.execute(statement)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "sqlite":
            for op in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {self.table}_no_{op}")

    def describe(self) -> str:
        return f"Make {self.table} append-only on SQLite"

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.table], {})
