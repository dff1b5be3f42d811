"""The two database roles: the runtime role the app connects as (DATABASE_URL: NOSUPERUSER
NOBYPASSRLS, owns nothing) and the owner (DATABASE_OWNER_URL) that `migrate` runs as. Run a block
connected as the owner, and apply the security layer (kernel.dbsecurity) with the project's settings.

settings.py (next to DATABASES):

    _owner_url = env_str("DATABASE_OWNER_URL")
    DATABASE_OWNER = dj_database_url.parse(_owner_url) if _owner_url else None

Only USER, PASSWORD, HOST and PORT are taken from DATABASE_OWNER; NAME (which the test runner
rewrites to test_...) and OPTIONS stay those of the connection.
"""

from __future__ import annotations

import contextlib
import threading

from django.conf import settings
from django.db import connections, transaction

from governance_app.kernel import dbsecurity

CREDENTIAL_KEYS = ("USER", "PASSWORD", "HOST", "PORT")

# alias -> the runtime settings_dict object while the alias is swapped to the owner (this thread)
_swapped = threading.local()


def _active() -> dict:
    if not hasattr(_swapped, "aliases"):
        _swapped.aliases = {}
    return _swapped.aliases


def owner_settings(alias: str = "default") -> dict | None:
    """The owner's connection settings for this alias, or None when no owner is configured
    (SQLite, or a deployment that runs everything as one role)."""
    owner = getattr(settings, "DATABASE_OWNER", None)
    if not owner or alias != "default":
        return None
    if connections[alias].vendor != "postgresql":
        return None
    return owner


def runtime_role(alias: str = "default") -> str:
    """The role the app runs as: MWMS_DB_RUNTIME_ROLE, else the USER of the runtime settings (also
    while the alias is swapped to the owner). Set the setting when the login name is not the role
    name (Supabase's pooler logs in as "role.project_ref")."""
    explicit = getattr(settings, "MWMS_DB_RUNTIME_ROLE", None)
    if explicit:
        return explicit
    runtime = _active().get(alias) or connections[alias].settings_dict
    return runtime["USER"]


def is_swapped(alias: str = "default") -> bool:
    return alias in _active()


@contextlib.contextmanager
def connected_as_owner(alias: str = "default"):
    """Close the alias's connection, reconnect as the owner for the block, then close again and go back
    to the runtime role. Yields True if it swapped (False: no owner configured, or already swapped).

    The connection gets a COPY of its settings_dict: the dict it shares with settings.DATABASES (and with
    every other thread's connection, e.g. the live server's) is never given the owner's password, so a
    thread that connects meanwhile still connects as the runtime role. Non-credential changes made in the
    block (the test runner's NAME = test_...) are copied back."""
    owner = owner_settings(alias)
    if owner is None or is_swapped(alias):
        yield False
        return
    connection = connections[alias]
    if connection.in_atomic_block:
        raise RuntimeError(f"cannot switch {alias!r} to the owner inside a transaction")
    runtime = connection.settings_dict
    connection.close()
    connection.settings_dict = {**runtime, **{k: owner[k] for k in CREDENTIAL_KEYS if owner.get(k) not in (None, "")}}
    _active()[alias] = runtime
    try:
        yield True
    finally:
        swapped = connection.settings_dict
        connection.close()
        del _active()[alias]
        runtime.update({k: v for k, v in swapped.items() if k not in CREDENTIAL_KEYS})
        connection.settings_dict = runtime


def apply_project_security(alias: str = "default") -> dict:
    connection = connections[alias]
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        owner_role = getattr(settings, "MWMS_DB_OWNER_ROLE", None) or cursor.fetchone()[0]
        return dbsecurity.apply_security(
            cursor,
            owner_role=owner_role,
            runtime_role=runtime_role(alias),
            tables_by_kind=settings.MWMS_DB_TABLE_KINDS,
            default_kind=getattr(settings, "MWMS_DB_DEFAULT_KIND", None),
            definer_functions=getattr(settings, "MWMS_DB_DEFINER_FUNCTIONS", ()),
            lock_database=getattr(settings, "MWMS_DB_LOCK_DATABASE", True),
        )
