"""Writing history with raw SQL, as another client (a WordPress plugin through Supabase, a script)
would: the one place tests compute a history row's chain columns themselves.

A direct writer must send chain_seq, prev_hash and row_hash (kernel.digests): the database's
INSERT trigger refuses a row that does not extend its chain's head. `history_values` gives them for
a row of columns; `history_insert` sends the INSERT.

    row_id = history_insert(RequestEvent, {"request_id": request.pk, "event_type": "note", "actor": "plugin"})
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection, models

from governance_app.kernel import digests


def chain_head(model: type[models.Model], owner_id: Any, cursor=None) -> tuple[int, str]:
    """The head (chain_seq, chain_head) of the chain a row of `model` owned by `owner_id` joins."""
    owner = model._meta.get_field(model.CHAIN_OWNER).related_model
    cursor = cursor or connection.cursor()
    cursor.execute(f"SELECT chain_seq, chain_head FROM {owner._meta.db_table} WHERE id = %s",
                   [owner._meta.pk.get_db_prep_value(owner_id, connection)])
    found = cursor.fetchone()
    return (found[0], found[1]) if found else (0, "")


def history_values(model: type[models.Model], values: dict[str, Any], *, head: tuple[int, str] | None = None,
                   cursor=None) -> dict[str, Any]:
    """Every column of a new row of `model` (the model's defaults for the columns not given), with
    its chain columns for the chain's current head (or `head`), as {column: database value}."""
    row = model(**values)
    relation = model._meta.get_field(model.CHAIN_OWNER)
    owner_id = getattr(row, relation.attname)
    if owner_id is not None:
        seq, previous = head if head is not None else chain_head(model, owner_id, cursor)
        row.chain_seq, row.prev_hash = seq + 1, previous
    row.row_hash = digests.row_digest(row)
    return {field.column: field.get_db_prep_save(getattr(row, field.attname), connection)
            for field in model._meta.concrete_fields}


def history_insert(model: type[models.Model], values: dict[str, Any], *, head: tuple[int, str] | None = None,
                   cursor=None) -> uuid.UUID:
    """INSERT a row of `model` by raw SQL, chained to its chain's head; its id."""
    cursor = cursor or connection.cursor()
    columns = history_values(model, values, head=head, cursor=cursor)
    cursor.execute(f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
                   f"VALUES ({', '.join(['%s'] * len(columns))})", list(columns.values()))
    return uuid.UUID(str(model._meta.pk.to_python(columns["id"])))


def chain_link_columns(model: type[models.Model], values: dict[str, Any], cursor=None) -> dict[str, Any]:
    """Only the chain columns for a row of `values`: enough for the INSERT trigger to accept a row
    whose other columns come from the database's defaults. Its digest covers `values` and the
    model's defaults, not the id and created_at the database then picks, so such a row is named by
    lineage_verify: a writer whose rows must verify sends every column (history_insert)."""
    columns = history_values(model, values, cursor=cursor)
    return {name: columns[name] for name in ("chain_seq", "prev_hash", "row_hash")}
