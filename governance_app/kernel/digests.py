"""The digest of a history row, and the link that chains it to the row before it (issue 13).

A row's digest is the SHA-256 (lowercase hex) of its canonical serialisation: a JSON object of
every column of the row but `row_hash` itself, keyed by the column's name as the database knows it
(`request_id`, `authority`, `tenant_id`), written

  - with its keys sorted, no whitespace (separators "," and ":"), UTF-8, non-ASCII as itself;
  - a uuid as its 36-character lowercase text (`3f0c…-…`), whatever the column's storage;
  - a timestamp in UTC as ISO-8601 with microseconds: `2026-12-02T12:25:09.000000+00:00`;
  - a JSON column canonicalised the same way (keys sorted at every depth, no whitespace);
  - a decimal as its text, NULL as null, booleans and integers as JSON has them.

The chain columns are part of what is digested: `chain_seq` (the row's position in its chain, 1 for
the first) and `prev_hash` (the digest of the row before it, '' for the first), so that a row's
digest commits to the whole chain before it. The chain's head (the newest row's `chain_seq` and
`row_hash`) is kept on the row that owns the chain, as `chain_seq` and `chain_head`:

    chain               owner row (head)        rows, in chain_seq order
    a request's         mwms_brain_requests     mwms_request_events.request_id and mwms_decision_records.related_request_id
    a task's            mwms_tasks              mwms_task_events.task_id
    a canon document's  mwms_canon_documents    mwms_canon_amendments.document_id
    a tenant's          mwms_tenants            mwms_chain_checkpoints.tenant_id

A writer already holds the owner's row lock (a request move locks its request, a task move its
task, an amendment its document), so the chain needs no lock of its own. The digest is computed
here, by the app, when the row is inserted (`seal`, which every insert path calls through the
`chain_seq` field: save(), bulk_create, fastpath.insert_row); the database's INSERT trigger
refuses a row whose chain_seq and prev_hash are not its chain's head and then moves the head on.
Lessons are not chained but carry their own digest (`row_hash`, recomputed on every save()), so a
lesson re-pointed behind the app's back no longer matches it.

Columns added to a chained table after rows of it were sealed are named by the model's
`DIGEST_ADDED_LATER` ({attname: the value the migration gave the rows before it}): such a column
is left out of the serialisation while it holds that value, and is in it otherwise. The rows
sealed before it existed keep their digest, and the rule stays one-to-one: a row whose column is
changed to or from that value has another serialisation, so tampering with it still shows.
(The database's triggers check a row's chain_seq and prev_hash and move the head on; they never
compute a digest, so there is no column list to keep in step there.)

This module is in the kernel's bottom layer: the model fields of kernel.db call it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Mapping
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import connections, models

GENESIS = ""  # the prev_hash of a chain's first row
CHAIN_COLUMNS = ("chain_seq", "prev_hash", "row_hash")


def canonical_json(value: Any) -> bytes:
    """`value` (JSON-able after `_plain`) as canonical JSON bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def timestamp_text(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _plain(value: Any) -> Any:
    """A JSON column's value as canonical JSON holds it."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return timestamp_text(value)
    if isinstance(value, Decimal):
        return str(value)
    return value


# How each column's value is written, by the kind of field: (column, attname, kind).
_LAYOUTS: dict[type, list[tuple[str, str, str]]] = {}


def _kind(field: models.Field) -> str:
    target = field.target_field if field.is_relation else field
    if isinstance(target, models.UUIDField):
        return "uuid"
    if isinstance(field, models.DateTimeField):
        return "timestamp"
    if isinstance(field, models.JSONField):
        return "json"
    if isinstance(field, models.DecimalField):
        return "decimal"
    return "plain"


def layout(model: type[models.Model]) -> list[tuple[str, str, str]]:
    """The columns a row of `model` is digested over, in its concrete fields' order."""
    found = _LAYOUTS.get(model)
    if found is None:
        found = _LAYOUTS[model] = [(f.column, f.attname, _kind(f)) for f in model._meta.concrete_fields
                                   if f.column != "row_hash"]
    return found


def _value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "uuid":
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
    if kind == "timestamp":
        return timestamp_text(value)
    if kind in ("json", "decimal"):
        return _plain(value)
    return value


def _uuid_text(value: Any) -> str:
    return str(value if type(value) is uuid.UUID else uuid.UUID(str(value)))


# How a non-NULL value of each kind is written (`_value`), None where it is written as it is.
_CONVERT = {"uuid": _uuid_text, "timestamp": timestamp_text, "json": _plain, "decimal": _plain, "plain": None}
# Per model: (column, attname, convert, added later, the value the rows before it hold).
_PLANS: dict[type, list[tuple[str, str, Any, bool, Any]]] = {}


def _plan(model: type[models.Model]) -> list[tuple[str, str, Any, bool, Any]]:
    found = _PLANS.get(model)
    if found is None:
        later = getattr(model, "DIGEST_ADDED_LATER", {})
        found = _PLANS[model] = [(column, attname, _CONVERT[kind], attname in later, _value(kind, later.get(attname)))
                                 for column, attname, kind in layout(model)]
    return found


def _serialised(model: type[models.Model], read) -> dict[str, Any]:
    """The row as its digest serialises it: `_value` of every column (written out here, once per
    column of every history row sealed)."""
    out = {}
    for column, attname, convert, added_later, before in _plan(model):
        value = read(attname)
        if value is not None and convert is not None:
            value = convert(value)
        if added_later and value == before:
            continue  # a column added later, at the value the rows before it hold
        out[column] = value
    return out


def values_digest(model: type[models.Model], values: Mapping[str, Any]) -> str:
    """The digest of a row of `model` given as {attname: value} (what a queryset reads back)."""
    return sha256_hex(canonical_json(_serialised(model, values.get)))


def row_digest(instance: models.Model) -> str:
    """The digest of the row `instance` holds (or is about to insert)."""
    return sha256_hex(canonical_json(_serialised(type(instance), partial(getattr, instance))))


def artifact_content_hash(*, location: str, content: Any) -> str:
    """The one way an artifact's `content_hash` is computed, by every writer: the SHA-256 of the
    canonical JSON of {"content": content_json, "location": content_location}."""
    return sha256_hex(canonical_json({"content": _plain(content), "location": location or ""}))


# --- sealing a new row ---------------------------------------------------------------------------

def mark_fresh(owner: models.Model, using: str = "default") -> models.Model:
    """Say that `owner`'s chain head in memory is its row's current head: it was just read under
    its row lock (or just inserted) in this transaction, so `seal` need not read it again while
    the transaction block it was read in is open. Outside one it says nothing."""
    blocks = connections[using].atomic_blocks
    owner._chain_fresh = blocks[-1] if blocks else None
    return owner


def born_with_first_row(owner: models.Model, first: models.Model) -> None:
    """Seal `first`, the first row of the chain of `owner`, before either is inserted, and give the
    owner its head: inserted after, the owner already names its first row, and the first row's
    INSERT trigger has no head to move (kernel.db.chain_link_trigger's `born_with_head`)."""
    owner.chain_seq, owner.chain_head = 0, GENESIS
    mark_fresh(owner)
    seal(first)


def _is_fresh(owner: models.Model, using: str = "default") -> bool:
    mark = getattr(owner, "_chain_fresh", None)
    return mark is not None and any(block is mark for block in connections[using].atomic_blocks)


def _owner_head(instance: models.Model, relation: models.ForeignKey) -> tuple[models.Model | None, int, str]:
    """The head of the chain `instance` joins: from the owner in memory when it is fresh, else read
    (and locked) from the owner's row."""
    owner_id = getattr(instance, relation.attname)
    owner = relation.get_cached_value(instance, None) if relation.is_cached(instance) else None
    if owner is not None and owner.pk == owner_id and _is_fresh(owner):
        return owner, owner.chain_seq, owner.chain_head
    model = relation.related_model
    owners = model._base_manager.filter(pk=owner_id)
    if connections[model._base_manager.db].in_atomic_block:  # in autocommit the INSERT is its own transaction
        owners = owners.select_for_update()
    head = owners.values_list("chain_seq", "chain_head").first()
    seq, hash_ = head if head is not None else (0, GENESIS)
    if owner is not None and owner.pk == owner_id:
        owner.chain_seq, owner.chain_head = seq, hash_
        mark_fresh(owner)
    return owner, seq, hash_


def seal(instance: models.Model) -> None:
    """Give a new history row its chain_seq, prev_hash and row_hash, and move its owner's head on
    (in memory: the database trigger moves the stored head). Values the writer set already are kept
    (a direct writer's, or a test's that breaks a rule on purpose): 0 and '' mean "not set"."""
    if getattr(instance, "_chain_sealed", False):
        return
    owner_name = getattr(instance, "CHAIN_OWNER", None)
    if owner_name is None:  # a migration's historical model: its writer seals the row itself
        return
    relation = instance._meta.get_field(owner_name)
    owner = None
    if getattr(instance, relation.attname) is not None and (instance.chain_seq == 0 or instance.prev_hash == ""):
        owner, seq, head = _owner_head(instance, relation)
        if instance.chain_seq == 0:
            instance.chain_seq = seq + 1
        if instance.prev_hash == "":
            instance.prev_hash = head
    if instance.row_hash == "":
        instance.row_hash = row_digest(instance)
    if owner is not None:
        owner.chain_seq, owner.chain_head = instance.chain_seq, instance.row_hash
    instance._chain_sealed = True
