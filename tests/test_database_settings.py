"""PostgreSQL runs with server-side binding and prepared statements unless DB_SERVER_SIDE_BINDING
turns them off (for a transaction-mode pooler)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
PRINT_OPTIONS = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {}), default=str))"
)


def _database_options(**env: str) -> dict:
    """The default database's OPTIONS as the settings build them for this environment."""
    base = {k: v for k, v in os.environ.items() if k not in {"DB_SERVER_SIDE_BINDING", "DATABASE_URL"}}
    done = subprocess.run(
        [sys.executable, "-c", PRINT_OPTIONS], cwd=ROOT, capture_output=True, text=True, check=True,
        env={**base, "DJANGO_SETTINGS_MODULE": "mwms_site.settings", "DEBUG": "true", **env},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_postgres_binds_on_the_server_and_prepares_by_default():
    options = _database_options(DATABASE_URL="postgres://app:secret@127.0.0.1:5432/mwms")
    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] == 5


def test_db_server_side_binding_false_turns_both_off():
    options = _database_options(DATABASE_URL="postgres://app:secret@127.0.0.1:5432/mwms",
                                DB_SERVER_SIDE_BINDING="false")
    assert "server_side_binding" not in options
    assert "prepare_threshold" not in options


def test_sqlite_is_left_alone():
    assert "server_side_binding" not in _database_options()


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_statement_run_often_is_prepared_once_on_the_connection():
    with connection.cursor() as cursor:
        for _ in range(6):
            cursor.execute("SELECT count(*) FROM mwms_brains WHERE slug = %s", ["research"])
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert connection.features.uses_server_side_binding
    assert [s for s in prepared if "FROM mwms_brains WHERE slug = $1" in s]
