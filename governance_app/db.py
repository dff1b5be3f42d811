"""Database building blocks every app's models share.

The canon (000_3dddb00aafcd29e2.txt) asks for uuid keys, timestamptz, jsonb with '{}' / '[]'
defaults and append-only event logs. Other clients (a WordPress plugin through Supabase, say)
write straight into PostgreSQL, so defaults live in the database, not only in Python.
"""

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import pgtrigger
from django.db import connections, models, router
from django.db.models.signals import post_save, pre_save
from django.db.migrations.operations.base import Operation
from django.db.models.functions import Now
from django.utils import timezone

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


def read_back_only_database_choices(model: type[models.Model]) -> None:
    """After an INSERT, read back (RETURNING) only the columns whose value the database chose.

    Every column here has a database default for direct writers, and nearly every one a Python
    default too, so the ORM always sends the value. Django 5.2 still reads back every column with
    a database default after each insert and converts it again (JSON parsed, timestamps loaded):
    a quarter of the CPU that creating a request cost. A column without a Python default keeps
    being read back, so the instance never misses a value the database filled in.
    """
    meta = model._meta
    meta.db_returning_fields = [field for field in meta.db_returning_fields if not field.has_default()]


# --- statements on the busiest paths ------------------------------------------------------------
#
# Every request move, task move and event goes through these. They do what the ORM call named in
# each docstring does, through the same field methods (get_db_prep_save, from_db, the backend's
# converters), but build the statement's text once per process instead of compiling it on every
# call: on the API's busiest calls the compiling cost more than the statements themselves.

_statements: dict[tuple, Any] = {}


def _connection_for_write(instance: models.Model):
    return connections[router.db_for_write(type(instance), instance=instance)]


def _plain(fields: Iterable[models.Field]) -> bool:
    """Fields whose value is always sent as one plain parameter (no field-specific placeholder)."""
    return not any(hasattr(field, "get_placeholder") for field in fields)


def insert_row(instance: models.Model) -> models.Model:
    """INSERT the new row `instance` holds: `instance.save(force_insert=True)` without the compiling.

    Whenever the shortcut could differ from save() it is save() that runs: a pre_save or post_save
    receiver is connected, the model has a parent table, or a column must be read back after the
    insert (read_back_only_database_choices leaves only columns without a Python default there).
    """
    model = type(instance)
    meta = model._meta
    if not instance._state.adding:
        raise ValueError(f"insert_row() is for new rows; this {meta.object_name} is already stored.")
    fields = meta.local_concrete_fields
    if (meta.db_returning_fields or meta.parents or not _plain(fields)
            or pre_save.has_listeners(model) or post_save.has_listeners(model)):
        instance.save(force_insert=True)
        return instance
    connection = _connection_for_write(instance)
    key = ("insert", connection.vendor, model)
    sql = _statements.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        sql = _statements[key] = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))})"
        )
    params = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def versioned_update(instance: models.Model, values: Mapping[str, Any]) -> bool:
    """Write `values` to the row of `instance` and count lock_version up, only if the row still has
    the lock_version `instance` was read with; False when another change came first (nothing is
    written then). The same as `Model.objects.filter(pk=…, lock_version=…).update(**values,
    lock_version=F("lock_version") + 1)`; a model instance as a value stands for its key.
    """
    model = type(instance)
    meta = model._meta
    connection = _connection_for_write(instance)
    fields = [meta.get_field(name) for name in values]
    key = ("update", connection.vendor, model, tuple(values))
    sql = _statements.get(key)
    if sql is None:
        if not _plain(fields):
            raise TypeError(f"versioned_update() cannot write {', '.join(f.name for f in fields)} as plain values.")
        quote = connection.ops.quote_name
        version = quote(meta.get_field("lock_version").column)
        assignments = "".join(f"{quote(field.column)} = %s, " for field in fields)
        sql = _statements[key] = (
            f"UPDATE {quote(meta.db_table)} SET {assignments}{version} = {version} + 1 "
            f"WHERE {quote(meta.pk.column)} = %s AND {version} = %s"
        )
    params = []
    for field, value in zip(fields, values.values()):
        if hasattr(value, "prepare_database_save"):
            if not field.remote_field:
                raise TypeError(f"{field.name} cannot take a model instance ({value!r}).")
            value = value.prepare_database_save(field)
        params.append(field.get_db_prep_save(value, connection))
    params += [meta.pk.get_db_prep_value(instance.pk, connection), instance.lock_version]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


def load_row(model: type[models.Model], row: Iterable[Any], connection) -> models.Model:
    """An instance from a row of all the model's columns (in `concrete_fields` order), as a queryset
    would make it: the backend's and the fields' converters, then `from_db`."""
    meta = model._meta
    key = ("load", connection.alias, model)
    loading = _statements.get(key)
    if loading is None:
        converting = []
        for index, field in enumerate(meta.concrete_fields):
            column = field.get_col(meta.db_table)
            converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if converters:
                converting.append((index, column, converters))
        loading = _statements[key] = ([field.attname for field in meta.concrete_fields], converting)
    names, converting = loading
    values = list(row)
    for index, column, converters in converting:
        value = values[index]
        for convert in converters:
            value = convert(value, column, connection)
        values[index] = value
    return model.from_db(connection.alias, names, values)


def uuid_pk() -> models.UUIDField:
    return models.UUIDField(primary_key=True, default=uuid.uuid4, db_default=GenRandomUUID(), editable=False)


def created_at() -> models.DateTimeField:
    return models.DateTimeField(default=timezone.now, db_default=DbNow(), editable=False, db_index=True)


def updated_at() -> models.DateTimeField:
    return models.DateTimeField(default=timezone.now, db_default=DbNow(), db_index=True)


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
