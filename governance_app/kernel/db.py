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
from django.db.models.fields.related_descriptors import ForwardManyToOneDescriptor
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


def brain_column(db_column: str, *, null: bool = False) -> models.TextField:
    """A canonical Brain column (text, e.g. target_brain): the slug of a Brain of the row's own tenant.

    Name the field `<relation>_id` and pair it with `brain_of`, so `row.target_brain_id` is the slug
    and `row.target_brain` the Brain. Brain slugs are unique per tenant, so the database checks the
    pair with a composite foreign key (tenant_id, column) → mwms_brains (tenant_id, slug), added by
    a `TenantMatched` migration operation (Django cannot declare one).
    """
    return models.TextField(db_column=db_column, null=null, blank=null)


class _BrainDescriptor(ForwardManyToOneDescriptor):
    """`row.target_brain = …` takes a Brain of the row's tenant, its slug, or None, and writes only
    the row's own column: a relation matched on (tenant, slug) must never rewrite the row's tenant
    (Django's would set tenant_id to None with the Brain)."""

    def __set__(self, instance, value):
        (column,) = [local for local in self.field.local_related_fields if local.name != "tenant"]
        if value is None or isinstance(value, str):
            setattr(instance, column.attname, value)
            if self.field.is_cached(instance):
                self.field.delete_cached_value(instance)
            return
        if not isinstance(value, self.field.remote_field.model):
            raise ValueError(f"{self.field.name} takes a Brain or a Brain's slug, not {value!r}.")
        if value.tenant_id != instance.tenant_id:
            raise ValueError(f"{self.field.name}: {value.slug} is a Brain of another tenant than this "
                             f"{instance._meta.verbose_name}'s.")
        setattr(instance, column.attname, value.slug)
        self.field.set_cached_value(instance, value)


class BrainRelation(models.ForeignObject):
    """The Brain a `brain_column` names, matched on (tenant, slug)."""

    forward_related_accessor_class = _BrainDescriptor


def brain_of(column: str, *, null: bool = False, related_name: str = "+") -> BrainRelation:
    """The Brain a `brain_column` names, matched on (tenant, slug): joins and select_related never
    cross into another tenant's registry."""
    return BrainRelation(
        "governance_app.Brain",
        on_delete=models.PROTECT,
        from_fields=("tenant", column),
        to_fields=("tenant", "slug"),
        null=null,
        blank=null,
        related_name=related_name,
    )


def tenant_key(table: str) -> models.UniqueConstraint:
    """UNIQUE (tenant_id, id): what a tenant-matched reference to this table points at."""
    return models.UniqueConstraint(fields=["tenant", "id"], name=f"{table}_tenant_key")


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
    the same job; on PostgreSQL it does nothing. SQLite drops a table's triggers when Django
    rebuilds the table (most AlterField and AddConstraint operations do): run it again after one.
    """

    reduces_to_sql = True
    reversible = True

    def __init__(self, table: str):
        self.table = table

    def state_forwards(self, app_label, state):
        pass

    def _statements(self) -> list[str]:
        return [
            f"CREATE TRIGGER IF NOT EXISTS {self.table}_no_{op.lower()} BEFORE {op} ON {self.table} "
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


class TenantMatched(Operation):
    """Every reference `table.column → ref_table.ref_column` stays inside the row's tenant.

    On PostgreSQL: a composite foreign key (tenant_id, column) → ref_table (tenant_id, ref_column),
    named `<table>_<column>_tenant_fk`, checked at each statement and restricting deletes and
    renames of the row it points at. On SQLite (the single-tenant embedded default, which cannot add
    a constraint to an existing table): BEFORE INSERT / UPDATE triggers that refuse a value with no
    such row in the same tenant. A new table or reference adds its own operation.
    """

    reduces_to_sql = True
    reversible = True

    def __init__(self, table: str, column: str, ref_table: str, ref_column: str = "id"):
        self.table, self.column, self.ref_table, self.ref_column = table, column, ref_table, ref_column

    @property
    def name(self) -> str:
        return f"{self.table}_{self.column}_tenant_fk"

    def state_forwards(self, app_label, state):
        pass

    def _message(self) -> str:
        return (f"{self.table}.{self.column} must name a row of {self.ref_table} in the same tenant "
                f"({self.name})")

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        t, c, rt, rc = self.table, self.column, self.ref_table, self.ref_column
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(
                f"ALTER TABLE {t} ADD CONSTRAINT {self.name} FOREIGN KEY (tenant_id, {c}) "
                f"REFERENCES {rt} (tenant_id, {rc}) ON UPDATE NO ACTION ON DELETE NO ACTION "
                f"DEFERRABLE INITIALLY IMMEDIATE"
            )
        elif schema_editor.connection.vendor == "sqlite":
            check = (f"SELECT RAISE(ABORT, '{self._message()}') WHERE NEW.{c} IS NOT NULL AND NOT EXISTS "
                     f"(SELECT 1 FROM {rt} WHERE {rt}.tenant_id = NEW.tenant_id AND {rt}.{rc} = NEW.{c})")
            schema_editor.execute(f"CREATE TRIGGER {self.name}_insert BEFORE INSERT ON {t} BEGIN {check}; END")
            schema_editor.execute(
                f"CREATE TRIGGER {self.name}_update BEFORE UPDATE OF tenant_id, {c} ON {t} BEGIN {check}; END"
            )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE {self.table} DROP CONSTRAINT IF EXISTS {self.name}")
        elif schema_editor.connection.vendor == "sqlite":
            for op in ("insert", "update"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {self.name}_{op}")

    def describe(self) -> str:
        return f"Keep {self.table}.{self.column} inside its tenant's {self.ref_table}"

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.table, self.column, self.ref_table, self.ref_column], {})


def brain_fk_to_brain_column(model_name: str, name: str, *, null: bool = False,
                             related_name: str = "+") -> tuple[Operation, list[Operation]]:
    """Migration operations that turn a foreign key to the installation-unique `Brain.slug` (column
    `name`) into a `brain_column` (`<name>_id`) and its `brain_of` relation (`<name>`).

    Returns the database operation (the text column and its values stay; the single-column foreign
    key and its index go) and the state operations that swap the fields. Run every database
    operation of a table before its state operations: on SQLite the table is rebuilt from the state
    of the moment, which must still hold the indexes and constraints (a rebuild drops the table's
    triggers, so re-create those after). A `TenantMatched` operation adds the composite key.
    """
    from django.db import migrations

    fk = models.ForeignKey("governance_app.brain", to_field="slug", db_column=name, db_constraint=False,
                           db_index=False, on_delete=models.PROTECT, null=null, blank=null,
                           related_name=related_name)
    return migrations.AlterField(model_name, name, fk), [
        migrations.RemoveField(model_name, name),
        migrations.AddField(model_name, f"{name}_id", brain_column(name, null=null)),
        migrations.AddField(model_name, name, brain_of(f"{name}_id", null=null, related_name=related_name)),
    ]
