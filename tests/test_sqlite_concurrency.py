"""On SQLite, transactions that read and then write, run at once from several threads, all commit.

The project's SQLite OPTIONS begin every transaction IMMEDIATE, so a second writer waits for the
lock at BEGIN, within the busy timeout. Begun DEFERRED (SQLite's default), a transaction holds only
a read snapshot until it writes; if another has written meanwhile it cannot be upgraded, and SQLite
answers "database is locked" at once, without waiting. The test runs both through Django's own
backend on a database file (the test database lives in memory, not in a file the connections lock).
"""

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import OperationalError, connections, transaction

ALIAS = "sqlite_file_for_concurrency"
WRITERS = 4
# How long a transaction holding its read waits for the others to read too. DEFERRED, they all
# arrive at once; IMMEDIATE, the others wait at BEGIN, so the first waits this long, once.
READ_TOGETHER_FOR = 0.5


def project_options() -> dict:
    """The OPTIONS the project gives an SQLite database (settings.SQLITE_OPTIONS), whatever the
    default database is: the race runs on its own SQLite file on either."""
    return dict(settings.SQLITE_OPTIONS)


@pytest.fixture
def open_file_database(tmp_path: Path, django_db_blocker) -> Iterator:
    """Opens a SQLite file under ALIAS, through Django's backend, with the OPTIONS given."""

    def open_(options: dict) -> None:
        connections.settings[ALIAS] = {**connections.settings["default"], "ENGINE": "django.db.backends.sqlite3",
                                       "NAME": tmp_path / "race.sqlite3", "OPTIONS": options,
                                       "USER": "", "PASSWORD": "", "HOST": "", "PORT": ""}
        with connections[ALIAS].cursor() as cursor:
            cursor.execute("CREATE TABLE counter (id integer PRIMARY KEY, value integer NOT NULL)")
            cursor.execute("CREATE TABLE writes (writer integer NOT NULL, saw integer NOT NULL)")
            cursor.execute("INSERT INTO counter (id, value) VALUES (1, 0)")
        connections[ALIAS].close()

    with django_db_blocker.unblock():
        yield open_
        connections[ALIAS].close()
        del connections[ALIAS]
        del connections.settings[ALIAS]


def read_then_write(writer: int, read_together: threading.Barrier) -> None:
    """What a service does: in one transaction, read a row, then write from what it read."""
    with transaction.atomic(using=ALIAS), connections[ALIAS].cursor() as cursor:
        cursor.execute("SELECT value FROM counter WHERE id = 1")
        (value,) = cursor.fetchone()
        try:
            read_together.wait(timeout=READ_TOGETHER_FOR)
        except threading.BrokenBarrierError:
            pass  # the others are waiting at BEGIN for this transaction's lock
        cursor.execute("UPDATE counter SET value = %s WHERE id = 1", [value + 1])
        cursor.execute("INSERT INTO writes (writer, saw) VALUES (%s, %s)", [writer, value])


def race() -> list[str]:
    """Run WRITERS read-then-write transactions at once, each on its own connection; their errors."""
    read_together = threading.Barrier(WRITERS)
    errors: list[str] = []

    def run(writer: int) -> None:
        try:
            read_then_write(writer, read_together)
        except OperationalError as error:
            errors.append(str(error))
        finally:
            connections[ALIAS].close()

    threads = [threading.Thread(target=run, args=(writer,)) for writer in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return errors


def counted() -> tuple[int, list[int]]:
    with connections[ALIAS].cursor() as cursor:
        cursor.execute("SELECT value FROM counter WHERE id = 1")
        (value,) = cursor.fetchone()
        cursor.execute("SELECT saw FROM writes ORDER BY saw")
        return value, [saw for (saw,) in cursor.fetchall()]


def test_the_project_begins_sqlite_transactions_immediate():
    assert project_options()["transaction_mode"] == "IMMEDIATE"
    assert project_options()["timeout"] == 20
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        assert settings.DATABASES["default"]["OPTIONS"].items() >= settings.SQLITE_OPTIONS.items()


def test_concurrent_read_then_write_transactions_all_commit(open_file_database):
    open_file_database(project_options())

    errors = race()

    assert errors == []
    assert counted() == (WRITERS, list(range(WRITERS)))  # each read what the one before it wrote


def test_begun_deferred_they_fail_with_database_is_locked(open_file_database):
    # What the fix is for: the same race with SQLite's default transaction mode.
    open_file_database({k: v for k, v in project_options().items() if k != "transaction_mode"})

    errors = race()

    assert errors == ["database is locked"] * (WRITERS - 1)
    assert counted() == (1, [0])
