"""The tenant claim (request.jwt.claims), transaction-local, as PostgREST and Supabase set it.

Row-level security on PostgreSQL reads the tenant from this claim (kernel.dbsecurity). The app sets
it for each web request (the signed-in person's tenant), each API call (the token's tenant) and each
command (`--tenant`), always inside a transaction, so a pooled connection never carries one
tenant's claim into another's work. On SQLite nothing is set: the selectors' tenant filter is the
guard there.
"""

from __future__ import annotations

import contextlib
import json

from django.db import connections, transaction

CLAIM = "request.jwt.claims"
# Marks the claim's own statements (setting, reading and restoring it), so a test that counts a
# page's queries can tell them from the page's (tests/db_roles.py).
TAG = "/* mwms:tenant-claim */ "


def claim_json(tenant_id, **extra) -> str:
    return json.dumps({"tenant_id": str(tenant_id), **{k: str(v) for k, v in extra.items()}})


def set_tenant_claim(tenant_id, using: str = "default", **extra) -> str | None:
    """Set the claim for the rest of the CURRENT transaction; return the previous value ('' or None
    when there was none). Refuses outside a transaction: in autocommit a transaction-local setting
    lasts one statement, so the next query would silently see nothing."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    if not connection.in_atomic_block:
        raise RuntimeError("set_tenant_claim() outside transaction.atomic() would last one statement")
    with connection.cursor() as cursor:
        # Read the old value and set the new one in ONE statement (one round trip, no window).
        cursor.execute(TAG + "SELECT current_setting(%s, true), set_config(%s, %s, true)",
                       [CLAIM, CLAIM, claim_json(tenant_id, **extra)])
        return cursor.fetchone()[0]


def restore_claim(previous: str | None, using: str = "default") -> None:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(TAG + "SELECT set_config(%s, %s, true)", [CLAIM, previous or ""])


def current_claim_tenant(using: str = "default") -> str | None:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT public.mwms_claim_tenant()::text")
        return cursor.fetchone()[0]


@contextlib.contextmanager
def tenant_claim(tenant_id, using: str = "default", **extra):
    """Run the block in a transaction (or savepoint) acting for tenant_id: for management commands,
    Celery-style jobs, the API after its token lookup. Nested inside an outer transaction, the outer
    claim is back afterwards: explicitly on success, by the savepoint rollback on an exception."""
    nested = connections[using].in_atomic_block
    with transaction.atomic(using=using):
        previous = set_tenant_claim(tenant_id, using, **extra)
        yield
        if nested:
            restore_claim(previous, using)


def set_session_claim(tenant_id, using: str = "default", **extra) -> None:
    """Session-level claim (is_local=false): for TESTS only, where each ORM call may autocommit.
    Never in app code: with a pooled connection it would outlive the request."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(TAG + "SELECT set_config(%s, %s, false)",
                       [CLAIM, claim_json(tenant_id, **extra) if tenant_id else ""])


EVERY_TENANT = {"mwms_scope": "installation"}  # the claim of an installation superuser in the admin
