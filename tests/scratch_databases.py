"""A scratch PostgreSQL database beside the test database, migrated by `manage.py migrate` in a
subprocess, for tests that run the project's commands the way they are used (the page plans'
seeded database, the owner's bulk seed)."""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ScratchDatabase:
    name: str
    env: dict[str, str]   # the environment of a manage.py run against it, as the runtime role
    admin: str            # the owner's libpq conninfo, without a dbname

    def conninfo(self, *, owner: bool = False) -> str:
        """libpq conninfo of the database, as the owner or as the runtime role."""
        if owner:
            return f"{self.admin} dbname={self.name}"
        db = settings.DATABASES["default"]
        return (f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER']} "
                f"password={db['PASSWORD']} dbname={self.name}")

    def as_owner(self) -> dict[str, str]:
        """The environment of a manage.py run connected as the owner (DATABASE_URL the owner's)."""
        return {**self.env, "DATABASE_URL": self.env["DATABASE_OWNER_URL"]}


def database_url(user: str, password: str, name: str) -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{user}:{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


@contextmanager
def migrated_scratch_database(suffix: str) -> Iterator[ScratchDatabase]:
    """`<test database>_<suffix>`, created afresh and migrated as the owner; dropped afterwards."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    db, owner = settings.DATABASES["default"], settings.DATABASE_OWNER
    if not owner:
        pytest.skip("needs DATABASE_OWNER_URL (the owner migrates)")
    name = f"{db['NAME']}_{suffix}"
    admin = (f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={owner['USER']} "
             f"password={owner['PASSWORD']}")
    with psycopg.connect(f"{admin} dbname=postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": database_url(db["USER"], db["PASSWORD"], name),
           "DATABASE_OWNER_URL": database_url(owner["USER"], owner["PASSWORD"], name), "DEBUG": "false",
           "SECRET_KEY": f"{suffix}-" + "x" * 50, "LOG_LEVEL": "WARNING"}
    env.pop("TEST_DATABASE_NAME", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "--verbosity", "0"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    try:
        yield ScratchDatabase(name=name, env=env, admin=admin)
    finally:
        with psycopg.connect(f"{admin} dbname=postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
