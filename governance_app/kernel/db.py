"""Database building blocks every app's models share: fields with the canon's types and database
defaults, CHECK constraints, AppendOnlyModel and its triggers. It imports no model (the bottom
layer of the import-linter contract).

The schema standard (docs/RULES.md: conventions) asks for uuid keys, timestamptz, jsonb with '{}' / '[]'
defaults and append-only event logs. Other clients (a WordPress plugin through Supabase, say)
write straight into PostgreSQL, so defaults live in the database, not only in Python.
"""

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pgtrigger
from django.db import models
from django.db.migrations.operations.base import Operation
from django.db.models.fields.related_descriptors import ForwardManyToOneDescriptor
from django.db.models.functions import Cast, Length, Now
from django.db.models.lookups import LessThanOrEqual

from governance_app.kernel import clock, digests, limits

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


def length_checks(table: str) -> list[models.CheckConstraint]:
    """`length(column) <= N` for each text column of the table, and `length(column::text) <= N`
    for each JSON column, with the limits of kernel.limits (`<table>_<column>_length`, `_size`)."""
    checks = [
        models.CheckConstraint(condition=LessThanOrEqual(Length(column), limit), name=f"{table}_{column}_length",
                               violation_error_message=f"{column}: at most {limit:,} characters.")
        for column, limit in limits.TEXT_COLUMNS.get(table, {}).items()
    ]
    checks += [
        models.CheckConstraint(condition=LessThanOrEqual(Length(Cast(column, models.TextField())), limit),
                               name=f"{table}_{column}_size",
                               violation_error_message=f"{column}: at most {limit:,} characters as JSON.")
        for column, limit in limits.JSON_COLUMNS.get(table, {}).items()
    ]
    return checks


def limit_violated(error: Exception) -> str | None:
    """The column whose length or size CHECK (length_checks) refused a write, or None for any
    other error. PostgreSQL names the constraint in the error's diagnostics, SQLite in its message."""
    cause = getattr(error, "__cause__", None)
    name = getattr(getattr(cause, "diag", None), "constraint_name", None)
    if name is None:
        name = str(error).removeprefix("CHECK constraint failed: ").strip()
    for table in {*limits.TEXT_COLUMNS, *limits.JSON_COLUMNS}:
        for column in [*limits.TEXT_COLUMNS.get(table, {}), *limits.JSON_COLUMNS.get(table, {})]:
            if name in (f"{table}_{column}_length", f"{table}_{column}_size"):
                return column
    return None


SNAKE_CASE_WORD = r"^[a-z][a-z0-9_]*$"


class IsSnakeCaseWord(models.Func):
    """True when the text is a lowercase snake_case word (SNAKE_CASE_WORD). PostgreSQL matches the
    pattern; SQLite says the same with GLOB, which every SQLite client has (REGEXP is a function
    Django adds to its own connections only)."""

    output_field = models.BooleanField()
    arity = 1

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql} ~ %s)", [*params, SNAKE_CASE_WORD]

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql} GLOB %s AND {sql} NOT GLOB %s)", [*params, "[a-z]*", *params, "*[^a-z0-9_]*"]


def snake_case_word_check(field: str, *, table: str, limit: int = limits.WORD) -> models.CheckConstraint:
    """The column holds a lowercase snake_case word of at most `limit` characters."""
    return models.CheckConstraint(
        condition=models.Q(IsSnakeCaseWord(field)) & models.Q(LessThanOrEqual(Length(field), limit)),
        name=f"{table}_{field}_valid",
        violation_error_message=f"{field}: a lowercase snake_case word (a-z, 0-9 and _, a letter first) of at "
                                f"most {limit} characters.",
    )


def append_only_trigger(table: str) -> pgtrigger.Protect:
    """PostgreSQL trigger that refuses UPDATE and DELETE, from the ORM and from raw SQL alike."""
    return pgtrigger.Protect(name=f"{table}_append_only", operation=pgtrigger.Update | pgtrigger.Delete)


# --- the hash chain (issue 13; kernel.digests says what is digested and how) ---------------------

class ChainSeqField(models.IntegerField):
    """`chain_seq` of a history row. Inserting the row seals it first (kernel.digests.seal: its
    position, the digest of the row before it, its own digest), on every insert path: save(),
    bulk_create and fastpath.insert_row all ask each field for its value through pre_save, this
    field first of the three chain columns."""

    def pre_save(self, model_instance, add):
        if add:
            digests.seal(model_instance)
        return super().pre_save(model_instance, add)


class RowDigestField(models.TextField):
    """`row_hash` of a row that is not chained (a lesson): its digest, recomputed on every save()
    (a new row keeps one its writer gave, which the verifier then checks like any other)."""

    def pre_save(self, model_instance, add):
        if add and getattr(model_instance, self.attname):
            return getattr(model_instance, self.attname)
        value = digests.row_digest(model_instance)
        setattr(model_instance, self.attname, value)
        return value


def chain_columns() -> tuple[ChainSeqField, models.TextField, models.TextField]:
    """chain_seq, prev_hash and row_hash of a history row, declared last and in this order."""
    return (ChainSeqField(default=0, editable=False, help_text="The row's position in its chain (1 is the first)."),
            models.TextField(default="", blank=True, editable=False, max_length=limits.HASH,
                             help_text="The digest of the row before it in its chain (empty for the first)."),
            models.TextField(default="", blank=True, editable=False, max_length=limits.HASH,
                             help_text="The digest of this row (kernel.digests)."))


def chain_head_columns() -> tuple[models.IntegerField, models.TextField]:
    """chain_seq and chain_head of the row that owns a chain: its newest row's position and digest."""
    return (models.IntegerField(default=0, editable=False, help_text="The position of its chain's newest row."),
            models.TextField(default="", blank=True, editable=False, max_length=limits.HASH,
                             help_text="The digest of its chain's newest row."))


def chain_refusal(table: str) -> str:
    """The start of the message a row that does not extend its chain is refused with."""
    return f"mwms: {table} row does not extend its chain"


def _born_with_head_sql(table: str, column: str) -> str:
    """The first row of a chain whose owner was inserted already naming it as its head: position 1,
    no row before it, the owner's head its digest, and no row of the chain in the table yet."""
    return (f"NEW.chain_seq = 1 AND NEW.prev_hash = '' AND head_seq = 1 AND head_hash = NEW.row_hash "
            f"AND NOT EXISTS (SELECT 1 FROM {table} WHERE {column} = NEW.{column})")


def chain_link_trigger(table: str, *, owner: str, column: str, born_with_head: bool = False) -> pgtrigger.Trigger:
    """PostgreSQL: refuse a new row of `table` whose chain_seq and prev_hash are not the next of
    its chain's head (kept on `owner`, the row `column` names), then move the head on to it. A
    row whose hash columns are over their length is left to their CHECK, which refuses it.

    `born_with_head`: the owner may be inserted already naming this table's row as its chain's
    first (kernel.digests.born_with_first_row: a request with its `created` event), and then
    there is no head to move. That saves the creation a second write of the
    row it has just inserted (an UPDATE, which re-checks every foreign key of a row inserted in the
    same transaction). Only the creating table may do it, so a row of the chain's other table
    cannot pass as a first row."""
    born = (f"""
        IF {_born_with_head_sql(table, column)} THEN
            RETURN NEW;  -- its owner was inserted with it as its head: nothing to move
        END IF;""" if born_with_head else "")
    func = f"""
    DECLARE head_seq integer; head_hash text;
    BEGIN
        IF length(NEW.prev_hash) > {limits.HASH} OR length(NEW.row_hash) > {limits.HASH} THEN
            RETURN NEW;
        END IF;
        IF NEW.{column} IS NULL THEN
            IF NEW.chain_seq <> 0 OR NEW.prev_hash <> '' OR length(NEW.row_hash) <> 64 THEN
                RAISE EXCEPTION '{chain_refusal(table)}: a row of no chain has chain_seq 0, an empty prev_hash and a row_hash'
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END IF;
        SELECT chain_seq, chain_head INTO head_seq, head_hash FROM {owner} WHERE id = NEW.{column} FOR UPDATE;
        IF NOT FOUND THEN
            RETURN NEW;  -- the foreign key refuses it
        END IF;{born}
        IF NEW.chain_seq IS DISTINCT FROM head_seq + 1 OR NEW.prev_hash IS DISTINCT FROM head_hash
                OR length(NEW.row_hash) <> 64 THEN
            RAISE EXCEPTION '{chain_refusal(table)}: expected chain_seq % and prev_hash %, got % and %',
                head_seq + 1, quote_literal(head_hash), NEW.chain_seq, quote_literal(NEW.prev_hash)
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        UPDATE {owner} SET chain_seq = NEW.chain_seq, chain_head = NEW.row_hash WHERE id = NEW.{column};
        RETURN NEW;
    END;"""
    return pgtrigger.Trigger(name=f"{table}_chain_link", when=pgtrigger.Before, operation=pgtrigger.Insert,
                             func=func)


class SQLiteChainTriggers(Operation):
    """The SQLite twin of chain_link_trigger: a BEFORE INSERT trigger that aborts a row that does
    not extend its chain, and an AFTER INSERT trigger that moves the owner's head on. SQLite drops
    them when Django rebuilds the table: run it again after one."""

    reduces_to_sql = True
    reversible = True

    def __init__(self, table: str, owner: str, column: str, born_with_head: bool = False):
        self.table, self.owner, self.column, self.born_with_head = table, owner, column, born_with_head

    def state_forwards(self, app_label, state):
        pass

    def statements(self) -> list[str]:
        t, o, c, n = self.table, self.owner, self.column, limits.HASH
        seq, head = (f"(SELECT {name} FROM {o} WHERE id = NEW.{c})" for name in ("chain_seq", "chain_head"))
        born = (" AND NOT (" + _born_with_head_sql(t, c).replace("head_seq", seq).replace("head_hash", head) + ")"
                if self.born_with_head else "")
        return [
            f"CREATE TRIGGER IF NOT EXISTS {t}_chain_link BEFORE INSERT ON {t} "
            f"WHEN length(NEW.prev_hash) <= {n} AND length(NEW.row_hash) <= {n} BEGIN "
            f"SELECT RAISE(ABORT, '{chain_refusal(t)}: a row of no chain has chain_seq 0, an empty prev_hash "
            f"and a row_hash') "
            f"WHERE NEW.{c} IS NULL AND (NEW.chain_seq IS NOT 0 OR NEW.prev_hash IS NOT '' "
            f"OR length(NEW.row_hash) IS NOT 64); "
            f"SELECT RAISE(ABORT, '{chain_refusal(t)}: chain_seq and prev_hash must follow its chain head') "
            f"WHERE NEW.{c} IS NOT NULL AND EXISTS (SELECT 1 FROM {o} WHERE id = NEW.{c}) "
            f"AND (NEW.chain_seq IS NOT {seq} + 1 OR NEW.prev_hash IS NOT {head} OR length(NEW.row_hash) IS NOT 64)"
            f"{born}; "
            f"END",
            f"CREATE TRIGGER IF NOT EXISTS {t}_chain_head AFTER INSERT ON {t} WHEN NEW.{c} IS NOT NULL BEGIN "
            f"UPDATE {o} SET chain_seq = NEW.chain_seq, chain_head = NEW.row_hash WHERE id = NEW.{c}; END",
        ]

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "sqlite":
            self._drop(schema_editor)  # (re)create: a later migration may redefine them
            for statement in self.statements():
                schema_editor.execute(statement, params=None)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "sqlite":
            self._drop(schema_editor)

    def _drop(self, schema_editor) -> None:
        for name in ("chain_link", "chain_head"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {self.table}_{name}")

    def describe(self) -> str:
        return f"Chain {self.table} to its {self.owner} head on SQLite"

    def deconstruct(self):
        kwargs = {"born_with_head": True} if self.born_with_head else {}
        return (self.__class__.__qualname__, [self.table, self.owner, self.column], kwargs)


def write_once_trigger(table: str) -> pgtrigger.Protect:
    """PostgreSQL: a write-once row (an artifact) refuses UPDATE and DELETE, from raw SQL too."""
    return pgtrigger.Protect(name=f"{table}_write_once", operation=pgtrigger.Update | pgtrigger.Delete)


class ColumnsAdded(Operation):
    """Add NOT NULL columns with constant defaults (and their length CHECKs) to a table without
    rebuilding it: SQLite's ALTER TABLE ADD COLUMN takes a NOT NULL column with a DEFAULT and a
    named CHECK, so the table keeps its triggers; PostgreSQL adds them in place as well. The
    database keeps the default, so a direct writer that leaves them out gets 0 and ''. The state
    changes are the AddField / AddConstraint operations given alongside (SeparateDatabaseAndState).

    `columns`: [column, SQL type and default, CHECK name or None, length limit or None].
    """

    reduces_to_sql = True
    reversible = True

    def __init__(self, table: str, columns: list):
        self.table, self.columns = table, [list(c) for c in columns]

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        vendor = schema_editor.connection.vendor
        for column, sql_type, check, limit in self.columns:
            definition = f"{column} {sql_type}"
            if check and vendor == "sqlite":
                definition += f" CONSTRAINT {check} CHECK (length({column}) <= {limit})"
            schema_editor.execute(f"ALTER TABLE {self.table} ADD COLUMN {definition}", params=None)
            if check and vendor == "postgresql":
                schema_editor.execute(f"ALTER TABLE {self.table} ADD CONSTRAINT {check} "
                                      f"CHECK (length({column}) <= {limit})", params=None)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        for column, *_ in reversed(self.columns):
            schema_editor.execute(f"ALTER TABLE {self.table} DROP COLUMN {column}", params=None)

    def describe(self) -> str:
        return f"Add {', '.join(c[0] for c in self.columns)} to {self.table}"

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.table, self.columns], {})


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

    trigger = "no"                       # the triggers are <table>_<trigger>_update and _delete
    refusal = "is append-only: {op} is not allowed"

    def _statements(self) -> list[str]:
        return [
            f"CREATE TRIGGER IF NOT EXISTS {self.table}_{self.trigger}_{op.lower()} BEFORE {op} ON {self.table} "
            f"BEGIN SELECT RAISE(ABORT, '{self.table} {self.refusal.format(op=op)}'); END"
            for op in ("UPDATE", "DELETE")
        ]

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "sqlite":
            for statement in self._statements():
                schema_editor.execute(statement)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "sqlite":
            for op in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {self.table}_{self.trigger}_{op}")

    def describe(self) -> str:
        return f"Make {self.table} {self.refusal.split(':')[0].removeprefix('is ')} on SQLite"

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.table], {})


class SQLiteWriteOnceTriggers(SQLiteAppendOnlyTriggers):
    """The SQLite twin of write_once_trigger: an artifact refuses UPDATE and DELETE."""

    trigger = "write_once"
    refusal = "is write-once: {op} is not allowed; save a new row that replaces it"


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


@contextmanager
def sqlite_triggers_set_aside(schema_editor, tables: Iterable[str]) -> Iterator[None]:
    """On SQLite, drop every trigger of `tables` or naming one of them, and create them again as
    they were once the block is done; on PostgreSQL, nothing.

    SQLite cannot add a CHECK constraint to a table, so Django rebuilds the table for one (and for
    most AlterField operations): it creates the new table, copies the rows, drops the old one and
    renames the new. The rebuilt table has lost its triggers (the append-only rules, the
    tenant-matched references), and the rename fails while another table's trigger names the
    dropped one. Wrap such a rebuild in this.
    """
    if schema_editor.connection.vendor != "sqlite":
        yield
        return
    tables = list(tables)
    naming = " OR ".join(["tbl_name = %s OR sql LIKE %s"] * len(tables))
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND ({naming}) ORDER BY name",
                       [value for table in tables for value in (table, f"%{table}%")])
        triggers = cursor.fetchall()
    for name, _sql in triggers:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {schema_editor.quote_name(name)}")
    yield
    for _name, sql in triggers:
        schema_editor.execute(sql, params=None)


class TriggersSetAside(Operation):
    """Django's own operations, run with the SQLite triggers of `tables` (and those naming them) set
    aside, as sqlite_triggers_set_aside explains: for an AddField or AlterField that makes SQLite
    rebuild a table another table's trigger names. On PostgreSQL, the operations as they are.

        TriggersSetAside(["mwms_canon_documents"], [migrations.AddField(...), migrations.AddConstraint(...)])
    """

    reversible = True

    def __init__(self, tables: Iterable[str], operations: Iterable[Operation]):
        self.tables, self.operations = list(tables), list(operations)

    def state_forwards(self, app_label, state):
        for operation in self.operations:
            operation.state_forwards(app_label, state)

    def _states(self, app_label, from_state):
        state = from_state
        for operation in self.operations:
            after = state.clone()
            operation.state_forwards(app_label, after)
            yield operation, state, after
            state = after

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        with sqlite_triggers_set_aside(schema_editor, self.tables):
            for operation, before, after in self._states(app_label, from_state):
                operation.database_forwards(app_label, schema_editor, before, after)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        with sqlite_triggers_set_aside(schema_editor, self.tables):
            for operation, before, after in reversed(list(self._states(app_label, to_state))):
                operation.database_backwards(app_label, schema_editor, after, before)

    def describe(self) -> str:
        return f"{len(self.operations)} operation(s) on {', '.join(self.tables)}, SQLite triggers set aside"

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.tables, self.operations], {})


class ChecksChanged(Operation):
    """One model's CHECK constraints removed and added, and its text fields' max_length set, in one
    step: on PostgreSQL an ALTER TABLE per constraint, on SQLite a single rebuild of the table (its
    triggers and those naming it set aside meanwhile, see sqlite_triggers_set_aside).

    Django's own operations would rebuild a SQLite table once per constraint and re-render the
    project's state each time, which made `migrate` of the text limits (issue 17) take a quarter
    of a minute. A text field's max_length changes no SQL, so it is state only.
    """

    reversible = True

    def __init__(self, model_name: str, *, max_lengths: dict[str, int] | None = None,
                 removed: Iterable[str] = (), added: Iterable[models.CheckConstraint] = ()):
        self.model_name = model_name
        self.max_lengths = dict(max_lengths or {})
        self.removed, self.added = list(removed), list(added)

    @property
    def model_name_lower(self) -> str:
        return self.model_name.lower()

    def deconstruct(self):
        kwargs = {"max_lengths": self.max_lengths, "removed": self.removed, "added": self.added}
        return (self.__class__.__qualname__, [self.model_name], {k: v for k, v in kwargs.items() if v})

    def state_forwards(self, app_label, state):
        model_state = state.models[app_label, self.model_name_lower]
        for name, limit in self.max_lengths.items():
            field = model_state.fields[name].clone()
            field.max_length = limit
            model_state.fields[name] = field
        kept = [c for c in model_state.options.get("constraints", []) if c.name not in self.removed]
        model_state.options["constraints"] = [*kept, *self.added]
        state.reload_model(app_label, self.model_name_lower, delay=True)

    def _change(self, app_label, schema_editor, before, after, removed, added):
        model = after.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "sqlite":
            with sqlite_triggers_set_aside(schema_editor, [model._meta.db_table]):
                schema_editor._remake_table(model)
            return
        old = before.apps.get_model(app_label, self.model_name)
        for constraint in old._meta.constraints:
            if constraint.name in removed:
                schema_editor.remove_constraint(old, constraint)
        for constraint in model._meta.constraints:
            if constraint.name in added:
                schema_editor.add_constraint(model, constraint)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._change(app_label, schema_editor, from_state, to_state, removed=set(self.removed),
                     added={c.name for c in self.added})

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._change(app_label, schema_editor, from_state, to_state, removed={c.name for c in self.added},
                     added=set(self.removed))

    def describe(self) -> str:
        return (f"Change the CHECK constraints of {self.model_name} (-{len(self.removed)} +{len(self.added)}) "
                f"and the max_length of {len(self.max_lengths)} fields")

    @property
    def migration_name_fragment(self) -> str:
        return f"{self.model_name_lower}_checks"


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


def added_in_place(operations: list[Operation], tables: dict[str, str]) -> list[Operation]:
    """The migration `operations`, with the plain AddField operations on these existing models
    (model name → table) and their length CHECKs done by one ColumnsAdded per table (no SQLite
    rebuild, see ColumnsAdded); the state changes stay those Django generated."""
    from django.db import migrations

    kept, moved = [], {}
    for op in operations:
        model = getattr(op, "model_name", None)
        if model in tables and isinstance(op, migrations.AddField) and not op.field.is_relation:
            moved.setdefault(model, []).append(op)
        elif (model in tables and isinstance(op, migrations.AddConstraint)
              and op.constraint.name.endswith("_length")):
            moved.setdefault(model, []).append(op)
        else:
            kept.append(op)
    added = []
    for model, ops in moved.items():
        table = tables[model]
        checks = {op.constraint.name for op in ops if isinstance(op, migrations.AddConstraint)}
        columns = []
        for op in ops:
            if not isinstance(op, migrations.AddField):
                continue
            field = op.field
            if isinstance(field, models.IntegerField):
                sql_type = f"integer NOT NULL DEFAULT {int(field.default)}"
            else:
                sql_type = f"text NOT NULL DEFAULT '{field.default}'"
            check = f"{table}_{op.name}_length"
            columns.append([op.name, sql_type, check if check in checks else None,
                            field.max_length if check in checks else None])
        added.append(migrations.SeparateDatabaseAndState(state_operations=ops,
                                                         database_operations=[ColumnsAdded(table, columns)]))
    return [*added, *kept]
