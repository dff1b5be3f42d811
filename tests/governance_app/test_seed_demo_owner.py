"""`seed_demo --scale` as the tables' owner on PostgreSQL: the bulk path (issue 16, item 4).

As the owner the load sets the bulk tables' secondary indexes and the keys between them aside,
builds, seals and formats the batches in forked processes, and puts the indexes and keys back at
the end, all in the seed's transaction. These tests run that path the way it is used, in a
subprocess connected as the owner to a scratch database, and check what it must leave behind: the
same indexes and constraints as a freshly migrated database (none of its indexes usable only by
newer snapshots: pg_index.indcheckxmin, which an index built over rows the same transaction
updated gets), rows that lineage_verify finds
nothing wrong with, and, when the seed is interrupted mid-load, nothing changed at all.
"""

import signal
import subprocess
import sys

import psycopg
import pytest

from tests.scratch_databases import ROOT, migrated_scratch_database

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
CATALOG = """
    SELECT 'index ' || c.relname || ' ' || pg_get_indexdef(x.indexrelid) || ' valid=' || x.indisvalid
           || ' checkxmin=' || x.indcheckxmin
      FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid
     WHERE c.relnamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'constraint ' || k.conrelid::regclass || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid)
           || ' validated=' || k.convalidated
      FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
     WHERE c.relnamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'table ' || relname || ' rls=' || relrowsecurity || ' forced=' || relforcerowsecurity
      FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'
    UNION ALL
    SELECT 'trigger ' || tgrelid::regclass || ' ' || tgname || ' ' || tgenabled::text
      FROM pg_trigger WHERE NOT tgisinternal
    ORDER BY 1
"""


@pytest.fixture(scope="module")
def scratch(django_db_setup, django_db_blocker):
    """A freshly migrated scratch database; yields (environment as the owner, owner conninfo,
    runtime-role database URL)."""
    with migrated_scratch_database("seedowner") as database:
        # Seeded as the owner (DATABASE_URL the owner's too): the bulk path.
        yield database.as_owner(), database.conninfo(owner=True), database.env["DATABASE_URL"]


def catalog(conninfo: str) -> list[str]:
    with psycopg.connect(conninfo) as conn:
        return [line for (line,) in conn.execute(CATALOG).fetchall()]


def scale_rows(conninfo: str) -> int:
    with psycopg.connect(conninfo) as conn:
        return conn.execute("SELECT count(*) FROM mwms_brain_requests WHERE meta_json ? 'scale'").fetchone()[0]


def seed_command(*args: str) -> list[str]:
    return [sys.executable, "manage.py", "seed_demo", "--seed", "3", *args]


def test_an_interrupted_load_leaves_the_indexes_keys_and_rows_as_they_were(scratch):
    env, conninfo, _runtime = scratch
    before = catalog(conninfo)
    # Ctrl-C's default restored in the child: a suite started in the background by a shell without
    # job control inherits SIGINT ignored, and Python then never turns it into KeyboardInterrupt
    # (the load would finish and the next test find its rows). Unbuffered: its progress lines
    # arrive as they are written, not all at its exit, so the interrupt lands mid-load.
    process = subprocess.Popen(seed_command("--scale", "10000", "--batch-size", "100"), cwd=ROOT,
                               env={**env, "PYTHONUNBUFFERED": "1"},
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "scale: 200/" in line:  # mid-load: the indexes and keys are set aside by now
            process.send_signal(signal.SIGINT)
            break
    rest = process.communicate(timeout=300)[0]
    assert process.returncode != 0, "".join(lines) + rest
    assert "indexes built again" not in rest
    assert catalog(conninfo) == before
    assert scale_rows(conninfo) == 0


def test_the_load_puts_back_every_index_and_key_and_its_rows_verify(scratch):
    env, conninfo, runtime = scratch
    before = catalog(conninfo)
    assert any(" mwms_search_request " in line for line in before)  # a GIN index is among those set aside
    done = subprocess.run(seed_command("--scale", "600", "--batch-size", "150"), cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "indexes built again" in done.stdout and "build processes" in done.stdout
    assert catalog(conninfo) == before
    assert scale_rows(conninfo) == 600
    # The runtime role reads them (row-level security on) and lineage_verify finds nothing broken.
    verify = subprocess.run([sys.executable, "manage.py", "lineage_verify"], cwd=ROOT,
                            env={**env, "DATABASE_URL": runtime}, capture_output=True, text=True, timeout=600)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "0 broken thing(s) found" in verify.stdout + verify.stderr
