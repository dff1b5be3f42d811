"""The hash chain over history (issue 13): walking the chains, and naming what is broken in them.

What is digested and how is kernel.digests. A chain's rows are read in (owner, chain_seq) order
straight from the database (`.iterator()`, a server-side cursor on PostgreSQL), one chain at a time
beside its owner's head and its last checkpointed head, so memory does not grow with the number of
chains. For each chain it checks:

  - every row's digest against its columns (`digest_mismatch`; which column changed where a
    neighbour says what it was: a status the row before or after it contradicts);
  - every row's prev_hash against the digest stored on the row before it (`broken_link`: that row
    was rewritten with a digest recomputed, or a row was put in between);
  - positions 1, 2, 3 … without a gap (`missing_rows`) or a second row at one position
    (`forged_row`: the one the next row does not link to);
  - the head kept on the owner row against the chain's last row (`head_ahead`: the newest rows were
    deleted; `head_behind`; `head_mismatch`), and a chain whose rows are all gone (`chain_missing`);
  - the last checkpoint's head of the chain (`behind_checkpoint`, `checkpoint_mismatch`).

Rows that are not chained are checked by their digest: lessons (`lesson_digest_mismatch`),
decisions of no request, and artifacts' content against their content_hash
(`artifact_content_mismatch`).
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db import models

from governance_app.kernel.digests import artifact_content_hash, sha256_hex, values_digest
from governance_app.kernel.findings import Finding

CHUNK = 2000


@dataclass(frozen=True)
class Member:
    app: str
    model: str
    column: str  # the attname naming the owner

    @property
    def cls(self) -> type[models.Model]:
        return apps.get_model(self.app, self.model)


@dataclass(frozen=True)
class Chain:
    name: str
    owner_app: str
    owner_model: str
    members: tuple[Member, ...]

    @property
    def owner(self) -> type[models.Model]:
        return apps.get_model(self.owner_app, self.owner_model)


CHAINS = (
    Chain("request", "requests_app", "BrainRequest", (Member("requests_app", "RequestEvent", "request_id"),
                                                      Member("governance_app", "DecisionRecord", "related_request_id"))),
    Chain("task", "tasks_app", "Task", (Member("tasks_app", "TaskEvent", "task_id"),)),
    Chain("canon_document", "governance_app", "CanonDocument",
          (Member("governance_app", "CanonAmendment", "document_id"),)),
)
CHECKPOINTS = Chain("checkpoint", "governance_app", "Tenant",
                    (Member("governance_app", "ChainCheckpoint", "tenant_id"),))
# Findings that refuse closing the request whose lineage holds them (a broken digest or link).
BLOCKING = {"digest_mismatch", "broken_link", "missing_rows", "forged_row", "head_ahead", "head_behind",
            "head_mismatch", "chain_missing", "behind_checkpoint", "checkpoint_mismatch",
            "artifact_content_mismatch", "lesson_digest_mismatch", "orphan_chain"}


@dataclass
class Row:
    model: type[models.Model]
    values: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.values["id"])

    @property
    def seq(self) -> int:
        return self.values["chain_seq"]

    @property
    def table(self) -> str:
        return self.model._meta.db_table


def _attnames(model: type[models.Model]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def _rows(model: type[models.Model], queryset: models.QuerySet, order: Iterable[str]) -> Iterator[Row]:
    names = _attnames(model)
    for values in queryset.order_by(*order).values_list(*names).iterator(chunk_size=CHUNK):
        yield Row(model, dict(zip(names, values)))


def _scope(chain: Chain, tenant_id: uuid.UUID, request_ids: list[uuid.UUID] | None,
           since: datetime | None) -> models.QuerySet | None:
    owners = chain.owner._base_manager.all()
    if chain is CHECKPOINTS:
        return owners.filter(pk=tenant_id)
    owners = owners.filter(tenant_id=tenant_id)
    if request_ids is not None:
        if chain.name == "request":
            owners = owners.filter(pk__in=request_ids)
        elif chain.name == "task":
            owners = owners.filter(request_id__in=request_ids)
        else:
            return None
    if since is not None:  # changed since: the owner row, or a row of its chain (a note moves no owner column)
        changed = models.Q(updated_at__gte=since)
        for member in chain.members:
            changed |= models.Q(pk__in=member.cls._base_manager.filter(
                tenant_id=tenant_id, created_at__gte=since).values(member.column))
        owners = owners.filter(changed)
    return owners


def _merge_by_owner(owners: Iterator[tuple], groups: Iterator[tuple[Any, list[Row]]],
                    heads: Iterator[tuple[Any, tuple[int, str]]]) -> Iterator[tuple[Any, tuple | None, list[Row], tuple | None]]:
    """Join three streams sorted by owner id: (id, owner row | None, rows, checkpointed head | None)."""
    streams = [((o[0], 0, o) for o in owners), ((k, 1, g) for k, g in groups), ((k, 2, h) for k, h in heads)]
    for key, items in itertools.groupby(heapq.merge(*streams, key=lambda t: (t[0], t[1])), key=lambda t: t[0]):
        found: dict[int, Any] = {kind: item for _, kind, item in items}
        yield key, found.get(0), found.get(1, []), found.get(2)


def chain_findings(*, tenant_id: uuid.UUID, request_ids: Iterable[uuid.UUID] | None = None,
                   since: datetime | None = None, progress: Callable[[str], None] | None = None) -> Iterator[Finding]:
    """Everything broken in the tenant's chains (or those of these requests and their tasks)."""
    request_ids = None if request_ids is None else list(request_ids)
    chains = CHAINS if request_ids is not None else (*CHAINS, CHECKPOINTS)
    for chain in chains:
        owners = _scope(chain, tenant_id, request_ids, since)
        if owners is None:
            continue
        owner_fields = ["pk", "chain_seq", "chain_head", *(["request_id"] if chain.name == "task" else [])]
        owner_rows = owners.order_by("pk").values_list(*owner_fields).iterator(chunk_size=CHUNK)
        whole = request_ids is None and since is None
        streams = [_member_rows(member, index, tenant_id, None if whole else owners)
                   for index, member in enumerate(chain.members)]
        merged = heapq.merge(*streams, key=lambda t: (t[0], t[1], t[2]))
        groups = ((key, [t[3] for t in items]) for key, items in itertools.groupby(merged, key=lambda t: t[0]))
        heads = _checkpointed_heads(chain, tenant_id)
        walked = 0
        for key, owner, rows, checkpointed in _merge_by_owner(owner_rows, groups, heads):
            if owner is None and (request_ids is not None or since is not None):
                continue  # the owner is out of scope
            if owner is None and not rows:
                yield Finding(code="chain_missing", table=chain.owner._meta.db_table, row_id=str(key),
                              request_id=str(key) if chain.name == "request" else None, blocking=True,
                              message=f"the last checkpoint saw its chain at {checkpointed[0]} rows; the "
                                      f"{chain.owner._meta.verbose_name} and all its chain's rows were deleted")
                continue
            yield from _walk(chain, key, owner, rows, checkpointed)
            walked += 1
            if progress and walked % 10_000 == 0:
                progress(f"{chain.name} chains: {walked:,} walked")
        if progress:
            progress(f"{chain.name} chains: {walked:,} walked")
    yield from _unchained_findings(tenant_id=tenant_id, request_ids=request_ids, progress=progress)
    if request_ids is None:
        yield from _checkpoint_heads_findings(tenant_id)


def _member_rows(member: Member, index: int, tenant_id: uuid.UUID,
                 owners: models.QuerySet | None) -> Iterator[tuple[Any, int, int, Row]]:
    """The rows of every chain of this member's kind, or of these owners' chains. A walk of the whole
    tenant reads the table alone: a plan with no join to go wrong without the planner's statistics
    (a nested loop over a million events), and rows whose owner was deleted are read too."""
    queryset = member.cls._base_manager.filter(tenant_id=tenant_id, **{f"{member.column}__isnull": False})
    if owners is not None:
        queryset = queryset.filter(**{f"{member.column}__in": owners.values("pk")})
    for row in _rows(member.cls, queryset, [member.column, "chain_seq"]):
        yield row.values[member.column], row.seq, index, row


def _checkpointed_heads(chain: Chain, tenant_id: uuid.UUID) -> Iterator[tuple[Any, tuple[int, str]]]:
    """The newest checkpointed head of each chain of this kind, sorted by owner id."""
    if chain is CHECKPOINTS:
        return iter(())
    heads = apps.get_model("governance_app", "ChainCheckpointHead")._base_manager.filter(
        tenant_id=tenant_id, chain=chain.name).order_by("owner_id", "-chain_seq").values_list(
        "owner_id", "chain_seq", "chain_head").iterator(chunk_size=CHUNK)
    return ((owner_id, (seq, head)) for owner_id, group in itertools.groupby(heads, key=lambda h: h[0])
            for _, seq, head in [next(group)])


def _request_of(chain: Chain, key: Any, owner: tuple | None) -> str | None:
    if chain.name == "request":
        return str(key)
    if chain.name == "task" and owner is not None:
        return str(owner[3])
    return None


def _walk(chain: Chain, key: Any, owner: tuple | None, rows: list[Row],
          checkpointed: tuple[int, str] | None) -> Iterator[Finding]:
    request_id = _request_of(chain, key, owner)

    def finding(code: str, table: str, row_id: str, message: str) -> Finding:
        return Finding(code=code, table=table, row_id=row_id, message=message, request_id=request_id,
                       blocking=code in BLOCKING)

    genuine: dict[int, Row] = {}
    by_seq = [(seq, list(group)) for seq, group in itertools.groupby(rows, key=lambda r: r.seq)]
    for index, (seq, group) in enumerate(by_seq):
        if seq == 0:
            for row in group:
                yield finding("unchained_row", row.table, row.id, "it has no place in its chain (chain_seq 0): "
                              "written before the chain existed, or behind the trigger's back")
            continue
        following = by_seq[index + 1][1][0] if index + 1 < len(by_seq) else None
        linked = [r for r in group if following is not None and following.values["prev_hash"] == r.values["row_hash"]]
        keep = linked[0] if linked else group[0]
        genuine[seq] = keep
        for row in group:
            if row is not keep:
                yield finding("forged_row", row.table, row.id,
                              f"a second row at position {seq} of its chain, beside {keep.table} {keep.id}, "
                              f"that the chain does not link to: inserted behind the trigger's back")
        expected_prev = genuine[seq - 1].values["row_hash"] if seq - 1 in genuine else None
        previous_seq = max((s for s in genuine if s < seq), default=0)
        for row in [keep]:
            stored = row.values["row_hash"]
            if values_digest(row.model, row.values) != stored:
                yield finding("digest_mismatch", row.table, row.id,
                              f"its digest does not match its row: {_what_changed(row, genuine.get(seq - 1), following)}")
            if seq == 1 and row.values["prev_hash"] != "":
                yield finding("broken_link", row.table, row.id, "it is first in its chain but links to a row before it")
            elif seq > 1 and previous_seq < seq - 1:
                yield finding("missing_rows", row.table, row.id,
                              f"positions {previous_seq + 1}–{seq - 1} of its chain are missing before it: deleted")
            elif expected_prev is not None and row.values["prev_hash"] != expected_prev:
                before = genuine[seq - 1]
                yield finding("broken_link", row.table, row.id,
                              f"its prev_hash is not the digest of the row before it ({before.table} {before.id}): "
                              f"that row was rewritten, or a row was put in between")
    last = max(genuine) if genuine else 0
    owner_table = chain.owner._meta.db_table
    if owner is None:
        first = rows[0]
        yield finding("orphan_chain", first.table, first.id,
                      f"its chain's {chain.owner._meta.verbose_name} {key} is gone: the owner row was deleted")
        return
    head_seq, head_hash = owner[1], owner[2]
    if head_seq > last:
        what = "all its rows were deleted" if last == 0 else f"it ends at {last}: its newest rows were deleted"
        yield finding("chain_missing" if last == 0 else "head_ahead", owner_table, str(key),
                      f"its chain's head says {head_seq} rows, but {what}")
    elif head_seq < last:
        yield finding("head_behind", owner_table, str(key),
                      f"the head on its row ({head_seq}) is behind its chain ({last} rows): rows were added behind "
                      f"the trigger's back, or the head was reset")
    elif last and head_hash != genuine[last].values["row_hash"]:
        yield finding("head_mismatch", owner_table, str(key),
                      "the head on its row is not the digest of its chain's last row")
    if checkpointed is not None:
        seq, digest = checkpointed
        if last < seq:
            yield finding("behind_checkpoint", owner_table, str(key),
                          f"its chain ends at {last}, but the last checkpoint saw it at {seq}: rows were deleted")
        elif seq in genuine and genuine[seq].values["row_hash"] != digest:
            row = genuine[seq]
            yield finding("checkpoint_mismatch", row.table, row.id,
                          f"it is not the row the last checkpoint saw at position {seq} of its chain: rewritten")


def _what_changed(row: Row, before: Row | None, after: Row | None) -> str:
    """Which column changed, where a neighbour says what it held; else that its content changed."""
    values = row.values
    guesses = []
    if "from_status" in values and before is not None and before.values.get("to_status"):
        guesses.append(("from_status", before.values["to_status"]))
    if "to_status" in values and after is not None and after.values.get("from_status"):
        guesses.append(("to_status", after.values["from_status"]))
    for column, was in guesses:
        if values.get(column) != was and values_digest(row.model, {**values, column: was}) == values["row_hash"]:
            return f"{column} changed (it was {was!r}, it is {values.get(column)!r})"
    return "its content changed (a column other than its chain columns)"


def _unchained_findings(*, tenant_id: uuid.UUID, request_ids: list[uuid.UUID] | None,
                        progress: Callable[[str], None] | None) -> Iterator[Finding]:
    lesson = apps.get_model("governance_app", "LessonLearned")
    decision = apps.get_model("governance_app", "DecisionRecord")
    artifact = apps.get_model("tasks_app", "TaskArtifact")
    lessons = lesson._base_manager.filter(tenant_id=tenant_id)
    artifacts = artifact._base_manager.filter(tenant_id=tenant_id)
    loose = decision._base_manager.filter(tenant_id=tenant_id, related_request_id__isnull=True)
    if request_ids is not None:
        lessons = lessons.filter(related_request_id__in=request_ids)
        artifacts = artifacts.filter(task__request_id__in=request_ids)
        loose = loose.none()
    for row in _rows(lesson, lessons, ["pk"]):
        if values_digest(lesson, row.values) != row.values["row_hash"]:
            yield Finding(code="lesson_digest_mismatch", table=row.table, row_id=row.id, blocking=True,
                          request_id=str(row.values["related_request_id"]) if row.values["related_request_id"] else None,
                          message="its digest does not match its row: its text or what it is attached to "
                                  "(related_request, related_task, related_decision) changed")
    for row in _rows(decision, loose, ["pk"]):
        if values_digest(decision, row.values) != row.values["row_hash"]:
            yield Finding(code="digest_mismatch", table=row.table, row_id=row.id, blocking=True,
                          message="its digest does not match its row: its content changed")
    names = ["pk", "content_location", "content_json", "content_hash", "task__request_id"]
    for pk, location, content, stored, request_id in artifacts.order_by("pk").values_list(*names).iterator(CHUNK):
        if artifact_content_hash(location=location, content=content) != stored:
            yield Finding(code="artifact_content_mismatch", table=artifact._meta.db_table, row_id=str(pk),
                          request_id=str(request_id), blocking=True,
                          message="its content or location no longer matches its content_hash")
    if progress:
        progress("lessons, decisions of no request and artifacts: checked")


def heads_digest(lines: Iterable[tuple[str, Any, int, str]]) -> str:
    """The digest over a checkpoint's heads: one line `chain:owner_id:chain_seq:chain_head` per head,
    sorted by chain and owner id, joined by newlines."""
    text = "\n".join(f"{chain}:{owner_id}:{seq}:{head}" for chain, owner_id, seq, head in
                     sorted(lines, key=lambda line: (line[0], str(line[1]))))
    return sha256_hex(text.encode("utf-8"))


def _checkpoint_heads_findings(tenant_id: uuid.UUID) -> Iterator[Finding]:
    """Each checkpoint's heads against its heads_digest: a checkpointed head deleted or changed."""
    checkpoint = apps.get_model("governance_app", "ChainCheckpoint")
    head = apps.get_model("governance_app", "ChainCheckpointHead")
    stream = head._base_manager.filter(tenant_id=tenant_id).order_by("checkpoint_id").values_list(
        "checkpoint_id", "chain", "owner_id", "chain_seq", "chain_head").iterator(chunk_size=CHUNK)
    seen = {key: heads_digest(line[1:] for line in group)
            for key, group in itertools.groupby(stream, key=lambda line: line[0])}
    for pk, digest in checkpoint._base_manager.filter(tenant_id=tenant_id).values_list("pk", "heads_digest"):
        if seen.get(pk, heads_digest([])) != digest:
            yield Finding(code="checkpoint_heads_mismatch", table=checkpoint._meta.db_table, row_id=str(pk),
                          blocking=False, message="its heads no longer match its heads_digest: a head it recorded "
                                                  "was deleted or changed")


def request_chain_findings(*, tenant_id: uuid.UUID, request_id: uuid.UUID) -> list[Finding]:
    """What is broken in the chains of one request's history (its events, its tasks' events, its
    decisions): digests that do not match their rows, missing or reordered rows, a head behind its
    last checkpoint. Blocking findings refuse closing the request."""
    return list(chain_findings(tenant_id=tenant_id, request_ids=[request_id]))
