"""The demo at scale (`seed_demo --scale N`): N synthetic requests with their tasks, events,
artifacts and decisions, written in bulk (COPY on PostgreSQL).

The services would take hours for a million requests, so the rows are built here; each is what the
services write for the same moves (requests_app.transitions.MOVES, the task table), and
tests/governance_app/test_seed_demo_engine.py replays them against both tables.
"""

import random
import resource
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from django.core.management.base import CommandError
from django.db import connection, models, reset_queries, transaction
from django.db.models import signals
from django.db.models.base import ModelState

from governance_app import demo_story as story
from governance_app.demo_story import (
    ARCHETYPES,
    CLOSED_OUTCOMES,
    ERRORS,
    FEEDBACK_TYPES,
    FINDINGS,
    MARKETS,
    NICHES,
    OLD_WEIGHTS,
    PRIORITIES,
    PRIORITY_WEIGHTS,
    SCALE_TEXT,
    SOURCE_ORIGINS,
    WORK_TYPES,
    YOUNG_WEIGHTS,
    Archetype,
)
from governance_app.kernel import claims, clock
from governance_app.kernel.db import DEFAULT_TENANT_ID, json_safe
from governance_app.kernel.digests import artifact_content_hash, mark_fresh, seal
from governance_app.kernel.tokens import api_token_issue
from governance_app.models import (
    ApiToken,
    Brain,
    Classification,
    DecisionKind,
    DecisionRecord,
    TokenRole,
)
from governance_app.registry import BRAINS
from requests_app.models import (
    FINAL_STATUSES,
    BrainRequest,
    RequestEvent,
    RequestEventType,
    RequestStatus,
)
from requests_app.services import held_from
from requests_app.sla import sla_policy_for, sla_values
from requests_app.transitions import MOVE_NAMES, MOVES
from tasks_app.models import Task, TaskArtifact, TaskEvent, TaskEventType, TaskStatus

S = RequestStatus
BRAIN_SLUGS = frozenset(spec["slug"] for spec in BRAINS)
# Each request move's label, by move name (requests_app.transitions.MOVES).
MOVE_LABELS = {name: next(move.label for move in MOVES if move.name == name) for name in MOVE_NAMES}


# --- the cast, shared with seed_demo's story ------------------------------------------------

def owner_username(slug: str) -> str:
    return f"{slug}_owner"


def actor_label(by: str) -> str:
    """`by` in the story: a Brain slug means its owner acts; "reviewer" and "token:…" act as themselves."""
    return owner_username(by) if by in BRAIN_SLUGS else by


def executor_token(*, brain: str, label: str, tenant_id: uuid.UUID = DEFAULT_TENANT_ID) -> ApiToken:
    """The live executor token of this Brain and label, issued when there is none. Its secret is
    discarded at once: the token stands for the executor that did the work, and nobody signs in
    with it. HeadOffice's own tasks are worked by a headoffice token, the one role a token of the
    HeadOffice Brain may have."""
    role = TokenRole.HEADOFFICE if brain == Brain.HEADOFFICE else TokenRole.EXECUTOR
    token = ApiToken.objects.filter(tenant_id=tenant_id, brain_id=brain, role=role, label=label,
                                    revoked_at__isnull=True).first()
    if token is None:
        token, _secret = api_token_issue(tenant_id=tenant_id, brain=brain, role=role, label=label)
    return token


# --- rows in bulk ----------------------------------------------------------------------------------------

def rows_insert(model: type, rows: list, *, batch_size: int, copy: bool | None = None) -> None:
    """Insert new rows in bulk: PostgreSQL's COPY where it is available (about four times faster
    than multi-row INSERTs for a million events), bulk_create elsewhere. PostgreSQL refuses COPY FROM
    into a table under row-level security for anyone it applies to: the runtime role always, the
    owner while the table forces it. So `copy` (when not given: whether row-level security is off)
    says whether to COPY; the owner seeding has the table's forcing set aside for the batch first
    (ScaleWriter.chains_sealed_first). Model save() is not run either way, so values must be
    complete (ids, timestamps) as bulk_create would need them."""
    if not rows:
        return
    if copy is None:
        copy = connection.vendor == "postgresql" and not _row_level_security(model._meta.db_table)
    if not copy:
        model.objects.bulk_create(rows, batch_size=batch_size)
        return
    fields = list(model._meta.concrete_fields)
    values = _copy_values(model)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN") as copier:
        write_row = copier.write_row
        for row in rows:
            write_row(values(row))


# Fields whose value psycopg writes, in COPY's text, as Django's get_db_prep_save would have
# prepared it on PostgreSQL (the value itself, or text the column reads the same: an enum member is
# its str value, a uuid its text); a JSON value is wrapped as jsonb, as Django wraps it.
_DIRECT_FIELDS = (models.UUIDField, models.CharField, models.TextField, models.IntegerField, models.BooleanField,
                  models.ForeignKey)
_COPIERS: dict[type, Callable[[Any], list]] = {}


def _copy_values(model: type) -> Callable[[Any], list]:
    """What gives a row of `model` as COPY's values, in its concrete fields' order: the attributes
    read at once where Django's preparation would not change them, a JSON value as jsonb, and each
    other field's own pre_save and get_db_prep_save (the chain columns seal the row there)."""
    found = _COPIERS.get(model)
    if found is not None:
        return found
    from psycopg.types.json import Jsonb  # PostgreSQL only: SQLite has no COPY

    fields = list(model._meta.concrete_fields)
    read = attrgetter(*(f.attname for f in fields))
    json_at, prepared_at = [], []
    for index, f in enumerate(fields):
        own_pre_save = type(f).pre_save is not models.Field.pre_save
        if isinstance(f, models.JSONField) and f.encoder is None and not own_pre_save:
            json_at.append(index)
        elif not ((isinstance(f, _DIRECT_FIELDS) and not own_pre_save) or (
                type(f) is models.DateTimeField and not (f.auto_now or f.auto_now_add))):
            prepared_at.append((index, f))

    def values(row: Any) -> list:
        out = list(read(row))
        for index in json_at:
            if out[index] is not None:
                out[index] = Jsonb(out[index])
        for index, f in prepared_at:
            out[index] = f.get_db_prep_save(f.pre_save(row, True), connection)
        return out

    _COPIERS[model] = values
    return values


def _row_level_security(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relrowsecurity FROM pg_class WHERE oid = %s::regclass", [table])
        return cursor.fetchone()[0]


def _owned(table: str) -> bool:
    """Whether the connected role owns `table` (so may set its triggers aside): the owner seeding,
    whether or not row-level security is on; never the runtime role."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class WHERE oid = %s::regclass",
                       [table])
        return cursor.fetchone()[0]


def _chain_triggers(triggers: list[tuple[str, str]], *, enable: bool) -> None:
    if not triggers:
        return
    with connection.cursor() as cursor:
        # Deferred key checks run now: ALTER TABLE refuses while any are pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, name in triggers:
            cursor.execute(f"ALTER TABLE {connection.ops.quote_name(table)} "
                           f"{'ENABLE' if enable else 'DISABLE'} TRIGGER {connection.ops.quote_name(name)}")


def _checks_deferred() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        # The foreign-key checks' plans are cached by the session when first used: by the
        # story, when the tables held a few rows and every index led by tenant_id looked
        # as good as the (tenant_id, id) key. Reused at COMMIT for every bulk row, such a
        # plan reads the whole tenant per check (minutes at 20,000 requests). Dropping the
        # cached plans has them made again for the tables as they are by then.
        cursor.execute("DISCARD PLANS")


def _forced(tables: list[str], *, force: bool) -> None:
    """Have row-level security applied to the tables' owner again (force) or not, for the rest of
    this transaction: only the owner is concerned (it never applies less to any other role), and
    the tables' lock taken by ALTER TABLE is held until the commit, so no other session sees them
    in between."""
    if not tables:
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in tables:
            cursor.execute(f"ALTER TABLE {connection.ops.quote_name(table)} "
                           f"{'' if force else 'NO '}FORCE ROW LEVEL SECURITY")


@dataclass
class LoadSetAside:
    """What the owner sets aside for the whole load, in the seed's transaction, and puts back at its
    end: the bulk tables' secondary indexes (dropped, then built again from their own definitions,
    which is a sort per index instead of an insert into each of some seventy indexes for every row)
    and the foreign keys between the bulk tables (dropped, then added again, which checks every row
    by one join per key instead of one lookup per row and key). Both are DDL inside the transaction:
    a failed or interrupted seed rolls them back with its rows, so the tables are never left without
    an index or a key. Unique indexes and primary keys stay (the keys that remain check against
    them), as do the keys to the small tables outside the load (tenants, Brains, users), whose
    referenced tables are not locked by the seed."""
    indexes: list[tuple[str, str, str]] = field(default_factory=list)  # (table, index, definition)
    foreign_keys: list[tuple[str, str, str]] = field(default_factory=list)  # (table, constraint, definition)

    @classmethod
    def take(cls, tables: list[str]) -> "LoadSetAside":
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            # An index built over rows this transaction updated (the story's requests and tasks,
            # told just before) meets their HOT chains, and PostgreSQL marks it usable only by
            # transactions whose snapshots are newer than this one (pg_index.indcheckxmin): while
            # any older transaction runs anywhere on the server, the pages would read those tables
            # without their indexes. So a table updated in this transaction keeps its indexes.
            cursor.execute("SELECT relname FROM pg_stat_xact_user_tables WHERE relname = ANY(%s) "
                           "AND n_tup_upd + n_tup_del + n_tup_hot_upd = 0", [tables])
            untouched = [table for (table,) in cursor.fetchall()]
            cursor.execute(
                "SELECT c.relname, i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid "
                "WHERE c.relname = ANY(%s) AND c.relnamespace = 'public'::regnamespace "
                "AND NOT x.indisunique AND NOT x.indisprimary AND x.indisvalid "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.oid) "
                "AND pg_has_role(current_user, c.relowner, 'USAGE') ORDER BY c.relname, i.relname", [untouched])
            indexes = cursor.fetchall()
            cursor.execute(
                "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
                "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid "
                "WHERE k.contype = 'f' AND c.relname = ANY(%s) AND r.relname = ANY(%s) "
                "AND c.relnamespace = 'public'::regnamespace AND k.convalidated "
                "AND pg_has_role(current_user, c.relowner, 'USAGE') ORDER BY c.relname, k.conname",
                [tables, tables])
            foreign_keys = cursor.fetchall()
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses while checks are pending
            for table, name, _definition in foreign_keys:
                cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
            for _table, name, _definition in indexes:
                cursor.execute(f"DROP INDEX {quote(name)}")
        return cls(indexes=indexes, foreign_keys=foreign_keys)

    def restore(self, log: Callable[[str], None]) -> None:
        """The indexes built again and the keys added again (each validated over the whole table).
        PostgreSQL validates a new key with one join only where row-level security does not apply
        to the owner, so the tables' forcing is set aside while the keys go in and put back after."""
        quote = connection.ops.quote_name
        started = time.monotonic()
        with connection.cursor() as cursor:
            # For this transaction only: sorts for the index builds and hash joins for the key
            # checks in memory instead of temporary files (server memory, not this process's).
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            cursor.execute("SET LOCAL work_mem = '64MB'")
            for _table, _name, definition in self.indexes:
                cursor.execute(definition)
            built = time.monotonic()
            tables = sorted({table for table, _name, _definition in self.foreign_keys})
            cursor.execute("SELECT relname FROM pg_class WHERE relforcerowsecurity AND relname = ANY(%s) "
                           "AND relnamespace = 'public'::regnamespace", [tables])
            forced = [table for (table,) in cursor.fetchall()]
            _forced(forced, force=False)
            for table, name, definition in self.foreign_keys:
                cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
            _forced(forced, force=True)
        log(f"  scale: {len(self.indexes)} indexes built again in {built - started:.1f} s, "
            f"{len(self.foreign_keys)} keys checked again in {time.monotonic() - built:.1f} s")


# --- model instances in bulk -----------------------------------------------------------------------

# Per model: (attname, name, the key's attname on the related model for a many-to-one, default)
# of each concrete field.
_INIT_PLANS: dict[type, list[tuple[str, str, str | None, Callable[[], Any]]]] = {}


def new_row(model: type, **values: Any) -> Any:
    """`model(**values)` for a new row, as Model.__init__ builds it (every concrete field its value or
    its default, a related instance given by name as its key and cached), without the per-field
    work __init__ does for every way of calling it: a third of the build time at a million requests.
    A model with post_init receivers, a value that is no concrete field's, or a one-to-one given as
    an instance goes through __init__ itself."""
    plan = _INIT_PLANS.get(model)
    if plan is None:
        plan = _INIT_PLANS[model] = [
            (f.attname, f.name, f.target_field.attname if f.is_relation and f.many_to_one else None, f.get_default)
            for f in model._meta.concrete_fields]
    if signals.post_init.has_listeners(model):
        return model(**values)
    row = model.__new__(model)
    state = row._state = ModelState()
    data = row.__dict__
    used = 0
    for attname, name, target, default in plan:
        if target is not None and name in values:
            related = values[name]
            data[attname] = None if related is None else getattr(related, target)
            state.fields_cache[name] = related
            used += 1
        elif attname in values:
            data[attname] = values[attname]
            used += 1
        else:
            data[attname] = default()
    if used != len(values):
        return model(**values)
    return row


@dataclass
class SetAside:
    """What the owner set aside for one batch: chain triggers, and row-level security forced on
    the owner (so COPY is allowed), both restored before the batch's rows are checked."""
    triggers: list[tuple[str, str]] = field(default_factory=list)
    unforced: list[str] = field(default_factory=list)

    def restore(self) -> None:
        _forced(self.unforced, force=True)
        _chain_triggers(self.triggers, enable=True)


@dataclass
class Batch:
    requests: list[BrainRequest] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    artifacts: list[TaskArtifact] = field(default_factory=list)
    request_events: list[RequestEvent] = field(default_factory=list)
    task_events: list[TaskEvent] = field(default_factory=list)
    decisions: list[DecisionRecord] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in vars(self).items()}

    def tables(self) -> list[tuple[type, list]]:
        """Each model with its rows, parents first (the order they are inserted in)."""
        return [(BrainRequest, self.requests), (Task, self.tasks), (TaskArtifact, self.artifacts),
                (RequestEvent, self.request_events), (TaskEvent, self.task_events), (DecisionRecord, self.decisions)]


@dataclass
class Copied:
    """A batch as COPY's text, table by table (parents first), made where it was built: all the
    parent has to do is send it (ScaleWriter.builders)."""
    sizes: dict[str, int]
    data: list[tuple[type, bytes]]

    def counts(self) -> dict[str, int]:
        return self.sizes

    @property
    def requests(self) -> range:  # its length is what the progress reads
        return range(self.sizes["requests"])


class ScaleWriter:
    """N synthetic requests with their tasks, events, artifacts and decisions, by bulk insert.

    The rows are built here rather than by the services (a million requests through them would
    take hours), so `_ScaleRequestStory` writes exactly what the services write for the same moves:
    the move's name and the changed fields on each event, held_from_status on every hold, a
    complete outcome on every final request, the escalation that the last failed attempt raises.
    """

    def __init__(self, *, tenant_id: uuid.UUID, brains: dict[str, Brain], now: datetime, rng: random.Random,
                 batch_size: int, log: Callable[[str], None]):
        self.tenant_id, self.now, self.rng, self.batch_size, self.log = tenant_id, now, rng, batch_size, log
        self.names = {slug: brain.name for slug, brain in brains.items()}
        self.slugs = list(brains)
        self.destinations = {t: [s for s, b in brains.items() if t in b.accepted_request_types] for t in SCALE_TEXT}
        self.work_types = [t for t in WORK_TYPES if self.destinations[t]]
        self.run = uuid.uuid4().hex[:8]
        # Each request is written with the deadlines the tenant's SLA policy gives it, as the
        # services write them on every move: a rewrite of every row afterwards would cost as much
        # as the seeding again, and rows left without them would be read by the SLA indexes wrongly.
        self.sla_policy = sla_policy_for(tenant_id=tenant_id)
        # Version-4 uuids from a generator the OS seeds once: uuid.uuid4 makes a system call per id,
        # about a fifth of the build time at a million rows. Not seeded by --seed, so a rerun with the
        # same --seed repeats the content but never an id.
        self._ids = random.Random()
        # Each Brain's tasks are worked by one executor token of that Brain, issued (when missing)
        # before the oldest synthetic request, so no row names a token younger than itself.
        with clock.clock_set(lambda: now - timedelta(days=181)):
            self.executors = {slug: f"token:{executor_token(brain=slug, label=f'{slug}-executor').label}"
                              for slug in sorted({d for ds in self.destinations.values() for d in ds})}

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self._ids.getrandbits(128), version=4)

    def insert(self, batch: Batch) -> None:
        """Parents first. A task and its result artifact point at each other: on PostgreSQL the
        tenant-matched keys wait for the end of the batch's transaction; SQLite checks each row at
        once, so there a task goes in without its result and gets it once the artifact is in."""
        if isinstance(batch, Copied):
            self.insert_copied(batch)
            return
        later = []
        set_aside = self.chains_sealed_first(batch)
        if connection.vendor == "postgresql":
            _checks_deferred()
        else:
            later = [(task, task.result_id) for task in batch.tasks if task.result_id is not None]
            for task, _result in later:
                task.result_id = None
        for model, rows in batch.tables():
            copy = None if set_aside is None else model._meta.db_table in set_aside.unforced or None
            rows_insert(model, rows, batch_size=self.batch_size, copy=copy)
            if model in (BrainRequest, Task):
                for row in rows:  # inserted just now: their chains' heads (0) are the stored ones
                    mark_fresh(row)
        if set_aside is not None:
            set_aside.restore()
        for task, result in later:
            task.result_id = result
        if later:
            Task.objects.bulk_update([task for task, _result in later], ["result"], batch_size=500)

    def insert_copied(self, copied: Copied) -> None:
        """A batch built, sealed and written out as COPY's text by a build process: sent as it is,
        with the chain triggers and the forcing set aside as for any batch of the owner's."""
        set_aside = self.set_aside()
        _checks_deferred()
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            for model, data in copied.data:
                if not data:
                    continue
                columns = ", ".join(quote(f.column) for f in model._meta.concrete_fields)
                with cursor.cursor.copy(f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN") as copier:
                    copier.write(data)
        set_aside.restore()

    BULK_TABLES = [model._meta.db_table for model in (BrainRequest, Task, TaskArtifact, RequestEvent, TaskEvent,
                                                      DecisionRecord)]

    def chains_sealed_first(self, batch: Batch) -> SetAside | None:
        """As the tables' owner on PostgreSQL (with COPY, or bulk INSERTs under row-level security),
        seal the batch's history rows in memory first, so its requests and tasks go in with their
        chains' final heads, and set the chain triggers aside for the batch's transaction: the trigger's lookup and head update on
        every row made `--scale 10000` take six minutes instead of twenty seconds. The rows are
        exactly what the services write (lineage_verify checks them), and ALTER TABLE takes the
        history tables' lock until the batch commits. Elsewhere the triggers check every row."""
        if connection.vendor != "postgresql" or not _owned(RequestEvent._meta.db_table):
            return None
        for row in (*batch.requests, *batch.tasks):
            mark_fresh(row)  # new: head 0 until their rows are sealed below
        for row in (*batch.request_events, *batch.task_events, *batch.decisions):
            seal(row)
        return self.set_aside()

    def set_aside(self) -> SetAside:
        """The chain triggers and the forcing of row-level security set aside for one batch."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                           "WHERE t.tgname LIKE %s AND c.relname IN (%s, %s, %s)",
                           ["pgtrigger_%_chain_link_%", RequestEvent._meta.db_table, TaskEvent._meta.db_table,
                            DecisionRecord._meta.db_table])
            triggers = cursor.fetchall()
            cursor.execute("SELECT relname FROM pg_class WHERE relforcerowsecurity AND relname = ANY(%s) "
                           "AND pg_has_role(current_user, relowner, 'USAGE')", [self.BULK_TABLES])
            unforced = [table for (table,) in cursor.fetchall()]
        _chain_triggers(triggers, enable=False)
        _forced(unforced, force=False)
        return SetAside(triggers=triggers, unforced=unforced)

    def build(self, count: int) -> Batch:
        """The rows of `count` synthetic requests, in memory: pure Python, no query (the story's
        state is all in the rows), so it may run beside the insert of the batch before it."""
        batch = Batch()
        for _ in range(count):
            self.one(batch)
        return batch

    def write(self, n: int) -> dict[str, int]:
        """Batch after batch, each built while the ones before it are inserted (ScaleWriter.builders),
        in one transaction (a savepoint inside the seed's): as the owner on PostgreSQL, with the
        bulk tables' secondary indexes and inner keys set aside for the load (LoadSetAside)."""
        with transaction.atomic():
            load = None
            if connection.vendor == "postgresql" and _owned(RequestEvent._meta.db_table):
                load = LoadSetAside.take(self.BULK_TABLES)
            totals = self.batches(n)
            if load is not None:
                load.restore(self.log)
        return totals

    def batches(self, n: int) -> dict[str, int]:
        totals: dict[str, int] = {}
        started = time.monotonic()
        sizes = [min(self.batch_size, n - offset) for offset in range(0, n, self.batch_size)]
        done = 0
        with self.builders() as builder:
            ahead = builder.lookahead
            upcoming = [builder.submit(size) for size in sizes[:ahead]]
            for index in range(len(sizes)):
                waited = time.monotonic()
                batch = upcoming.pop(0).result()
                if index + ahead < len(sizes):
                    upcoming.append(builder.submit(sizes[index + ahead]))
                inserting = time.monotonic()
                with claims.tenant_claim(self.tenant_id):
                    self.insert(batch)
                inserted = time.monotonic()
                reset_queries()  # with DEBUG on, Django keeps every statement's SQL: megabytes per batch
                for name, count in batch.counts().items():
                    totals[name] = totals.get(name, 0) + count
                done += len(batch.requests)
                del batch
                elapsed = time.monotonic() - started
                left = elapsed / done * (n - done)
                self.log(f"  scale: {done:,}/{n:,} requests · {totals['tasks']:,} tasks · "
                         f"{totals['request_events'] + totals['task_events']:,} events · "
                         f"{elapsed:.1f} s (batch: {inserting - waited:.1f} s waiting for its build, "
                         f"{inserted - inserting:.1f} s inserting) · about {left / 60:.0f} min left · "
                         f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB"
                         f"{builder.memory()}")
        return totals

    def builders(self) -> "_ThreadBuilder | _ProcessBuilders":
        """Where the batches are built. As the owner on PostgreSQL (the bulk path), in BUILD_PROCESSES
        forked processes, each building and sealing whole batches: the build and the sealing are pure
        Python (hashing, JSON), which one process runs on one core at a time however many threads
        it has, so with the insert beside them they were the bound; each process has its own.
        Elsewhere (SQLite, the runtime role: the triggers seal) in one thread, as before."""
        if connection.vendor == "postgresql" and _owned(RequestEvent._meta.db_table) and self.BUILD_PROCESSES > 1:
            return _ProcessBuilders(self, self.BUILD_PROCESSES)
        return _ThreadBuilder(self)

    BUILD_PROCESSES = 2

    def build_sealed(self, count: int, seed: int) -> Batch:
        """A batch built in a forked process (see builders): its own content generator seeded by the
        parent (so --seed still decides the content), its own id generator seeded anew (the forked
        copies would otherwise give the same ids), the history rows sealed in memory."""
        self.rng, self._ids = random.Random(seed), random.Random()
        batch = self.build(count)
        for row in (*batch.requests, *batch.tasks):
            mark_fresh(row)  # new: head 0 until their rows are sealed below
        for row in (*batch.request_events, *batch.task_events, *batch.decisions):
            seal(row)
        return batch

    def build_copied(self, count: int, seed: int) -> Copied:
        """build_sealed, then each table's rows as COPY's text, formatted by psycopg with the
        connection's adapters (the forked copy of the parent's; formatting does no I/O)."""
        from psycopg.adapt import Transformer
        from psycopg._copy_base import TextFormatter  # psycopg 3.3: the formatter Copy itself uses

        batch = self.build_sealed(count, seed)
        transformer = Transformer(connection.connection)
        data = []
        for model, rows in batch.tables():
            formatter, values, out = TextFormatter(transformer), _copy_values(model), bytearray()
            for row in rows:
                out += formatter.write_row(values(row))
            out += formatter.end()
            data.append((model, bytes(out)))
        return Copied(sizes=batch.counts(), data=data)


    # -- one synthetic request
    def one(self, batch: Batch) -> None:
        rng, now = self.rng, self.now
        created = now - timedelta(seconds=rng.uniform(600, 180 * 86400))
        age_days = (now - created).total_seconds() / 86400
        archetype = rng.choices(ARCHETYPES, OLD_WEIGHTS if age_days > 21 else YOUNG_WEIGHTS)[0]
        if archetype.name in ("awaiting_head_office_review", "awaiting_mcr_decision"):
            request_type = "mcr_update_suggestion" if archetype.name == "awaiting_mcr_decision" else \
                rng.choice(FEEDBACK_TYPES)
        else:
            request_type = rng.choice(self.work_types)
        destination = rng.choice(self.destinations[request_type])
        origin = rng.choice([s for s in self.slugs if s != destination])
        title, asked, required_output, task_type = SCALE_TEXT[request_type]
        words = {"niche": rng.choice(NICHES), "market": rng.choice(MARKETS), "offer": f"OFF-{rng.randint(1000, 9999)}",
                 "low": rng.choice((1000, 1500, 2500, 4000)), "high": rng.choice((6000, 8000, 12000, 20000)),
                 "pct": rng.randint(8, 40)}
        feedback = request_type in FEEDBACK_TYPES
        request = new_row(BrainRequest,
            id=self.new_id(), tenant_id=self.tenant_id, requesting_authority=origin,
            requesting_brain_id=origin, target_brain_id=destination, request_type=request_type,
            operating_layer="governance" if feedback else "operational",
            request_title=title.format(**words),
            request_summary=f"{self.names[origin]} asks {self.names[destination]} to {asked.format(**words)}.",
            required_output=required_output, priority=rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0],
            status=RequestStatus.NEW, created_by=owner_username(origin), created_at=created, updated_at=created,
            status_entered_at=created,
            source_origin="brain_site_feedback" if feedback else rng.choice(SOURCE_ORIGINS),
            offer_id=words["offer"] if request_type in ("offer_review_request", "experimentation_request") else "",
            feedback_required=feedback, mcr_update_suggested=request_type == "mcr_update_suggestion",
            mcr_update_status="suggested" if request_type == "mcr_update_suggestion" else "none",
            meta_json={"scale": True, "scale_run": self.run},
        )
        batch.requests.append(request)
        plan = self.plan(archetype)
        span = min(rng.uniform(0.2, 12) * 86400, (now - created).total_seconds() * 0.9)
        offsets = sorted(rng.uniform(0, span) for _ in range(len(plan) - 1))
        moments = [created, *(created + timedelta(seconds=s) for s in offsets)]
        history = _ScaleRequestStory(self, batch, request, task_type, words)
        for (kind, arg), moment in zip(plan, moments):
            history.step(kind, arg, moment)
        for name, value in sla_values(request, self.sla_policy).items():
            setattr(request, name, value)

    def plan(self, archetype: Archetype) -> list[tuple[str, Any]]:
        """The request's history in order: ("request", status) and ("task", (shape, attempts, step))."""
        rng = self.rng
        steps: list[tuple[str, Any]] = [("request", "new")]
        tasks: list[tuple[str, int]] = []
        if archetype.name in ("closed", "responded"):
            tasks = [("completed", 1)] * (1 if rng.random() < 0.6 else 2)
        elif archetype.name == "in_progress":
            tasks = [("running", 1)] + ([("queued", 0)] if rng.random() < 0.3 else [])
        elif archetype.name == "routed" and rng.random() < 0.5:
            tasks = [("queued", 0)]
        elif archetype.name == "escalated":
            tasks = [rng.choice((("completed", 1), ("escalated", 1)))]
        elif archetype.name == "blocked":
            tasks = [("failed", rng.randint(1, 3))]
        for status in archetype.path:
            steps.append(("request", status))
            anchor = "in_progress" if "in_progress" in archetype.path else "routed"
            if status == anchor:
                for shape, attempts in tasks:
                    steps.extend(("task", (shape, attempts, i)) for i in range(len(_task_script(shape, attempts))))
        return steps


class _ThreadBuilder:
    """The next batch built in one thread beside the insert: two batches at most in memory."""
    lookahead = 1

    def __init__(self, writer: ScaleWriter):
        self.writer = writer
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-build")

    def submit(self, count: int):
        return self.pool.submit(self.writer.build, count)

    def memory(self) -> str:
        return ""

    def __enter__(self) -> "_ThreadBuilder":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


# The writer the forked build processes use (inherited by fork, never pickled).
_FORKED_WRITER: ScaleWriter | None = None


def _build_forked(count: int, seed: int) -> Copied:
    return _FORKED_WRITER.build_copied(count, seed)


class _ProcessBuilders:
    """The next batches built in `processes` forked processes, one per process ahead of the insert,
    so 1 + processes batches at most are in memory (each process's copy of the parent aside).
    Forked inside the seed's transaction, so each child sees the same open transaction blocks that
    mark_fresh and seal look at; a child makes no query and leaves by os._exit (multiprocessing's
    fork start), never closing the parent's connection."""

    def __init__(self, writer: ScaleWriter, processes: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        global _FORKED_WRITER
        _FORKED_WRITER = writer
        self.writer, self.lookahead = writer, processes
        self.pool = ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("fork"))

    def submit(self, count: int):
        return self.pool.submit(_build_forked, count, self.writer.rng.getrandbits(64))

    def memory(self) -> str:
        """The build processes' peak (the largest one's, as the OS reports it for processes that ended,
        so read it per process while they run)."""
        peaks = []
        for process in list(getattr(self.pool, "_processes", {}).values()):
            try:
                with open(f"/proc/{process.pid}/status") as status:
                    peaks += [int(line.split()[1]) // 1024 for line in status if line.startswith("VmHWM:")]
            except OSError:
                continue
        return f" (build processes {', '.join(f'{peak} MB' for peak in peaks)})" if peaks else ""

    def __enter__(self) -> "_ProcessBuilders":
        return self

    def __exit__(self, *exc: Any) -> None:
        global _FORKED_WRITER
        self.pool.shutdown(wait=True, cancel_futures=True)
        _FORKED_WRITER = None


def _task_script(shape: str, attempts: int) -> list[str]:
    """The task moves a task of this shape makes, in order (a failure with attempts left is queued
    again in the same move, as task_fail does)."""
    if shape == "queued":
        return ["create"]
    if shape == "running":
        return ["create", "claim", "start", "progress"]
    if shape == "completed":
        return ["create", "claim", "start", "save_artifact", "complete"]
    if shape == "escalated":
        return ["create", "claim", "start", "escalate"]
    return ["create", *(["claim", "start", "fail"] * attempts)]


# Request model attributes of the fields a move changes, where the two differ.
_ATTRIBUTES = {"target_brain": "target_brain_id", "review_owner": "review_owner_id",
               "primary_brain": "primary_brain_id", "escalation_owner": "escalation_owner_id"}
# The note a move that needs one carries (requests_app.transitions.MOVES: required "note").
_NOTES = {
    "block": "The task keeps failing on its source; blocked until the source is fixed",
    "park": "Not a priority this quarter; parked until the niche is reviewed again",
    "request_evidence": "The request cites no data; attach the figures it relies on",
    "return_for_revision": "The request names no measurable output; revise the required output",
    "ask_head_office": "Submitted from the Brain site feedback form for HeadOffice review",
}


class _ScaleRequestStory:
    """Turns one request's plan into the rows the services would write, keeping the request's and
    its tasks' state as the services would."""

    def __init__(self, writer: ScaleWriter, batch: Batch, request: BrainRequest, task_type: str,
                 words: dict[str, Any]):
        self.writer, self.batch, self.request, self.task_type, self.words = writer, batch, request, task_type, words
        self.task: Task | None = None
        self.task_script: list[str] = []
        self.artifacts: list[str] = []
        self.origin_actor = owner_username(request.requesting_brain_id)
        self.destination_actor = owner_username(request.target_brain_id)
        self.executor = writer.executors[request.target_brain_id]

    def step(self, kind: str, arg: Any, at: datetime) -> None:
        if kind == "request":
            self.request_step(arg, at)
        else:
            self.task_step(*arg, at)

    # -- the request
    def commit(self, *, move: str, to: str, actor: str, at: datetime, changes: dict[str, Any] | None = None,
               note: str = "", summary: str = "", payload: dict[str, Any] | None = None) -> None:
        """What request_commit writes: the row's new values and the event naming the move."""
        request = self.request
        before = request.status
        values = {**(changes or {}), "status": to}
        if to in FINAL_STATUSES:
            values["closed_at"] = at
        changed = {}
        for name, value in values.items():
            attribute = _ATTRIBUTES.get(name, name)
            if getattr(request, attribute) != value:
                changed[name] = [json_safe(getattr(request, attribute)), json_safe(value)]
            setattr(request, attribute, value)
        request.lock_version += 1
        request.updated_at = at
        if to != before:
            request.status_entered_at = at  # the SLA clock starts at the move (requests_app.sla)
        self.request_event(
            at=at, actor=actor, event_type=RequestEventType.STATUS_CHANGED, from_status=before, to_status=to,
            summary=summary or f"{MOVE_LABELS[move]}: {S(before).label} → {S(to).label}", note=note,
            changed_fields=changed, payload={"move": move, **(payload or {})},
        )

    def request_event(self, *, at: datetime, actor: str, event_type: str, summary: str, **fields: Any) -> None:
        payload = fields.pop("payload", {})
        self.batch.request_events.append(new_row(RequestEvent,
            id=self.writer.new_id(), tenant_id=self.request.tenant_id, request=self.request,
            event_type=event_type, event_summary=summary, actor=actor, event_payload=payload, created_at=at,
            **fields,
        ))

    def decision(self, *, at: datetime, kind: str, summary: str, reasoning: str, **fields: Any) -> DecisionRecord:
        """What a governance service records: the decision and its decision_recorded event."""
        request = self.request
        decision = new_row(DecisionRecord,
            id=self.writer.new_id(), tenant_id=request.tenant_id, authority_id=Brain.HEADOFFICE,
            related_request=request, decision_kind=kind, decision_summary=summary, reasoning=reasoning,
            affected_brains=sorted({request.requesting_brain_id, request.target_brain_id}),
            recorded_by=story.REVIEWER, created_at=at, **fields,
        )
        self.batch.decisions.append(decision)
        self.request_event(at=at, actor=story.REVIEWER, event_type=RequestEventType.DECISION_RECORDED,
                           summary=f"{self.writer.names[Brain.HEADOFFICE]} decided: {summary}",
                           payload={"decision_id": str(decision.id), "decision_kind": kind})
        return decision

    def hold(self) -> dict[str, Any]:
        """A hold remembers the status it interrupted (held_from, as request_move does)."""
        return {"held_from_status": held_from(self.request)}

    def request_step(self, status: str, at: datetime) -> None:
        request, rng, names = self.request, self.writer.rng, self.writer.names
        reviewer, origin, destination = story.REVIEWER, self.origin_actor, self.destination_actor
        if status == "new":
            self.request_event(
                at=at, actor=origin, event_type=RequestEventType.CREATED, to_status=status,
                summary=f"{names[request.requesting_brain_id]} asked {names[request.target_brain_id]}: "
                        f"{request.request_title}",
                payload={"request_type": request.request_type, "parent_request_id": None},
            )
        elif status == "under_review":
            self.commit(move="submit_for_review", to=status, actor=reviewer, at=at)
        elif status == "routed":
            self.commit(move="route", to=status, actor=reviewer, at=at, changes={
                "target_brain": request.target_brain_id, "review_owner": Brain.HEADOFFICE, "primary_brain": None,
                "supporting_brains": [], "routing_notes": f"{names[request.target_brain_id]} owns the next action."})
        elif status == "in_progress":
            self.commit(move="accept", to=status, actor=destination, at=at)
        elif status == "responded":
            self.commit(move="respond", to=status, actor=destination, at=at, changes={
                "response_summary": self.finding(), "outcome_type": rng.choice(CLOSED_OUTCOMES)})
        elif status == "escalated":
            if request.status != status:  # an escalated task has already escalated its request
                self.commit(move="escalate", to=status, actor=destination, at=at, changes={
                    **self.hold(), "escalation_flag": True,
                    "escalation_owner": rng.choice(("finance", "sit", "headoffice")),
                    "escalation_reason": rng.choice((
                        "Capital exposure above the delegated limit", "Conflicting conclusions between Brains",
                        "Data integrity in doubt; SIT must rule before anyone acts"))})
        elif status == "blocked":
            self.block(at)
        elif status == "awaiting_mcr_decision":
            # Only propose_mcr_update leads to the MCR gate (protocol rule 13).
            reasoning = "The suggestion changes canon wording; only an MCR decision may do that."
            decision = self.decision(at=at, kind=DecisionKind.FEEDBACK_CLASSIFICATION,
                                     classification=Classification.PROPOSE_MCR_UPDATE,
                                     summary="Feedback classified: Propose MCR update", reasoning=reasoning)
            self.commit(move="classify", to=status, actor=reviewer, at=at, note=reasoning,
                        summary="Classified as Propose MCR update",
                        payload={"decision_id": str(decision.id), "classification": decision.classification},
                        changes={"feedback_classification": decision.classification, "mcr_update_suggested": True,
                                 "mcr_update_status": "proposed"})
        elif status in ("parked", "awaiting_evidence", "returned_for_revision"):
            move = {"parked": "park", "awaiting_evidence": "request_evidence"}.get(status, "return_for_revision")
            self.commit(move=move, to=status, actor=reviewer, at=at, note=_NOTES[move],
                        changes=self.hold() if status != "returned_for_revision" else {})
        elif status == "awaiting_head_office_review":
            self.commit(move="ask_head_office", to=status, actor=origin, at=at, note=_NOTES["ask_head_office"])
        elif status == "closed":
            # Results return to their origin, which closes with the complete outcome (protocol rule 7).
            self.commit(move="close", to=status, actor=origin, at=at, changes=self.outcome(
                outcome_type=request.outcome_type, result=request.response_summary,
                decision=f"{names[request.requesting_brain_id]} accepts the result and acts on it",
                evidence=[{"kind": "artifact", "id": artifact} for artifact in self.artifacts],
                next_step=f"{names[request.requesting_brain_id]} applies the result to {self.words['niche']}",
                reason="Result returned to the origin Brain"))
        elif status == "rejected":
            self.commit(move="reject", to=status, actor=reviewer, at=at, changes=self.outcome(
                outcome_type="rejected", result="Reviewed by HeadOffice: outside the destination Brain's authority",
                decision="Rejected; the origin re-raises it with the right destination",
                evidence=[{"kind": "external", "text": "HO-2026-CHARTERS in Confluence"}],
                next_step="Re-raise with the right request type and destination", reason="Wrong destination"))
        else:
            raise CommandError(f"--scale has no move to {status}")

    def block(self, at: datetime) -> None:
        if self.request.status == RequestStatus.ESCALATED:
            # The last attempt failed and escalated the request to HeadOffice; HeadOffice's
            # resolution holds it (escalation_resolve with "block").
            summary = f"Block until the {self.task_type.replace('_', ' ')} source for {self.words['niche']} is fixed"
            decision = self.decision(at=at, kind=DecisionKind.ESCALATION_RESOLUTION, summary=summary,
                                     reasoning="Every attempt failed on the same source; retrying changes nothing.")
            self.commit(move="resolve_escalation", to="blocked", actor=story.REVIEWER, at=at, changes=self.hold(),
                        summary=f"Escalation resolved (block) by {self.writer.names[Brain.HEADOFFICE]}",
                        payload={"decision_id": str(decision.id), "resolution": "block"})
        else:
            self.commit(move="block", to="blocked", actor=self.destination_actor, at=at, note=_NOTES["block"],
                        changes=self.hold())

    def outcome(self, *, outcome_type: str, result: str, decision: str, evidence: list[dict[str, str]],
                next_step: str, reason: str) -> dict[str, Any]:
        return {"outcome_type": outcome_type, "result_summary": result, "outcome_decision": decision,
                "outcome_evidence": evidence, "next_step": next_step,
                "next_step_owner": self.request.requesting_brain_id or Brain.HEADOFFICE,
                "head_office_review_required": self.writer.rng.random() < 0.1, "closure_reason": reason}

    def finding(self) -> str:
        return f"{self.writer.names[self.request.target_brain_id]} finished the {self.task_type.replace('_', ' ')} " \
               f"for {self.words['niche']}: {self.writer.rng.choice(FINDINGS)}."

    # -- its tasks
    def task_commit(self, *, at: datetime, actor: str, event_type: str, summary: str,
                    changes: dict[str, Any] | None = None, payload: dict[str, Any] | None = None) -> None:
        """What a task move writes (_task_commit): the row's new values and the task event."""
        task = self.task
        before = task.status
        for name, value in (changes or {}).items():
            setattr(task, name, value)
        task.updated_at = at
        task.lock_version += 1
        self.batch.task_events.append(new_row(TaskEvent,
            id=self.writer.new_id(), tenant_id=task.tenant_id, task=task, event_type=event_type,
            event_summary=summary, actor=actor, from_status=before, to_status=task.status,
            event_payload=payload or {}, created_at=at,
        ))

    def task_step(self, shape: str, attempts: int, index: int, at: datetime) -> None:
        if index == 0:
            self.task_script = _task_script(shape, attempts)
        move, executor, rng = self.task_script[index], self.executor, self.writer.rng
        if move == "create":
            self.task_create(at)
            return
        task = self.task
        if move == "claim":
            self.task_commit(at=at, actor=executor, event_type=TaskEventType.PICKED_UP,
                             summary=f"Picked up by {executor} (attempt {task.attempts + 1} of {task.max_attempts})",
                             changes={"status": TaskStatus.PICKED_UP, "attempts": task.attempts + 1,
                                      "assigned_employee": executor})
        elif move == "start":
            self.task_commit(at=at, actor=executor, event_type=TaskEventType.STARTED, summary="Started",
                             changes={"status": TaskStatus.RUNNING, "started_at": task.started_at or at})
        elif move == "progress":
            self.task_commit(at=at, actor=executor, event_type=TaskEventType.PROGRESS,
                             summary=f"Sources for {self.words['niche']} collected; analysis under way")
        elif move == "save_artifact":
            self.artifact_save(at)
        elif move == "complete":
            result = self.batch.artifacts[-1]
            self.task_commit(at=at, actor=executor, event_type=TaskEventType.COMPLETED,
                             summary=f"Completed with {result}",
                             changes={"status": TaskStatus.COMPLETED, "completed_at": at, "result_id": result.id})
        elif move == "escalate":
            owner = rng.choice(("finance", "sit", "headoffice"))
            reason = f"The {self.task_type.replace('_', ' ')} needs a decision beyond this Brain's authority"
            self.task_commit(at=at, actor=executor, event_type=TaskEventType.ESCALATED, summary=reason,
                             changes={"status": TaskStatus.ESCALATED, "escalation_flag": True},
                             payload={"escalation_owner": owner})
            # Escalating a task escalates its request on the same lineage (connector rule 6).
            self.commit(move="escalate", to="escalated", actor=f"{executor} (via task {task.id})", at=at, changes={
                **self.hold(), "escalation_flag": True, "escalation_owner": owner,
                "escalation_reason": f"Task “{task}” escalated: {reason}"})
        elif move == "fail":
            self.task_fail(at)

    def task_create(self, at: datetime) -> None:
        request = self.request
        self.task = task = new_row(Task,
            id=self.writer.new_id(), tenant_id=request.tenant_id, request_id=request.id,
            task_type=self.task_type, assigned_brain_id=request.target_brain_id,
            title=f"{self.task_type.replace('_', ' ').capitalize()}: {self.words['niche']}",
            input_payload={"niche": self.words["niche"], "market": self.words["market"]},
            risk_level=self.writer.rng.choice(("low", "low", "medium", "high")), priority=request.priority,
            status=TaskStatus.QUEUED, created_at=at, updated_at=at,
        )
        self.batch.tasks.append(task)
        summary = f"Task created for {self.writer.names[task.assigned_brain_id]}: {task}"
        self.batch.task_events.append(new_row(TaskEvent,
            id=self.writer.new_id(), tenant_id=task.tenant_id, task=task, event_type=TaskEventType.CREATED,
            event_summary=summary, actor=self.destination_actor, to_status=TaskStatus.QUEUED, created_at=at,
        ))
        self.request_event(at=at, actor=self.destination_actor, event_type=RequestEventType.TASK_CREATED,
                           summary=summary, payload={"task_id": str(task.id)})

    def artifact_save(self, at: datetime) -> None:
        task = self.task
        location, content = f"supabase://mwms-artifacts/{task.id}.json", {"niche": self.words["niche"]}
        artifact = new_row(TaskArtifact,
            id=self.writer.new_id(), tenant_id=task.tenant_id, task_id=task.id,
            artifact_type=f"{task.task_type}_report", artifact_summary=self.finding(), content_location=location,
            content_json=content, created_by=self.executor, created_at=at,
            content_hash=artifact_content_hash(location=location, content=content),
        )
        self.batch.artifacts.append(artifact)
        self.artifacts.append(str(artifact.id))
        self.task_commit(at=at, actor=self.executor, event_type=TaskEventType.OUTPUT_SAVED,
                         summary=f"Saved {artifact.artifact_type}: {artifact.artifact_summary}",
                         payload={"artifact_id": str(artifact.id)})

    def task_fail(self, at: datetime) -> None:
        """What task_fail writes: the error, then the task queued again while attempts remain, or
        the request escalated to HeadOffice when none do (protocol rule 8: repeated failures)."""
        task, executor = self.task, self.executor
        message = self.writer.rng.choice(ERRORS)
        self.task_commit(at=at, actor=executor, event_type=TaskEventType.ERROR, summary=message,
                         changes={"status": TaskStatus.FAILED, "last_error": message},
                         payload={"attempts": task.attempts, "max_attempts": task.max_attempts})
        if task.attempts < task.max_attempts:
            self.task_commit(at=at, actor=executor, event_type=TaskEventType.REQUEUED,
                             summary=f"Queued again: {task.max_attempts - task.attempts} attempt(s) left",
                             changes={"status": TaskStatus.QUEUED})
        else:
            self.commit(move="escalate", to="escalated", actor=f"system (task {task.id})", at=at, changes={
                **self.hold(), "escalation_flag": True, "escalation_owner": Brain.HEADOFFICE,
                "escalation_reason": f"Task “{task}” failed {task.attempts} times; last error: {message}"})


# --- the command ----------------------------------------------------------------------------------

