"""Browser tests: pytest-playwright drives the system Chromium against pytest-django's live server.

Nothing here downloads a browser: the launch always uses the Chromium that tests.conftest.chromium_path()
finds (CHROMIUM_PATH, or `chromium` on PATH), and a test skips (or, with MWMS_REQUIRE_E2E=1, fails)
when there is none. Every test under tests/e2e is marked `e2e` automatically and runs last.
"""

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

# Playwright's sync API runs an asyncio event loop in the test's thread, and Django refuses database
# access from a thread with a running loop unless told otherwise. Set before any test runs.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

import pytest  # noqa: E402
from django.core.management.color import no_style  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.db.backends.base.base import BaseDatabaseWrapper  # noqa: E402
from playwright.sync_api import Page, Playwright  # noqa: E402

from tests.conftest import chromium_path  # noqa: E402

E2E_DIR = Path(__file__).resolve().parent
SCREENSHOT_DIR = E2E_DIR.parent.parent / "test-artifacts" / "screenshots"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_configure(config: pytest.Config) -> None:
    # pytest-playwright's stand-in for pytest-base-url defines a session fixture as a method, which
    # pytest 9 warns about on every run; it is theirs to fix and changes nothing here.
    config.addinivalue_line(
        "filterwarnings", "ignore:Session-scoped fixtures defined as instance methods:pytest.PytestRemovedIn10Warning"
    )
    # pytest-playwright would launch its own bundled build for any other browser; there is none here.
    others = [name for name in (config.getoption("--browser", default=None) or []) if name != "chromium"]
    if others:
        raise pytest.UsageError(f"only the system Chromium is available for browser tests, not {', '.join(others)}")


def _is_e2e(item: pytest.Item) -> bool:
    return E2E_DIR in Path(item.path).resolve().parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # This hook sees the whole session's items, not only this folder's, hence the path test.
    # Browser tests go last: they are the slowest, and each ends by emptying the database (a
    # transactional test's flush), which no test after them should have to notice.
    e2e = [item for item in items if _is_e2e(item)]
    for item in e2e:
        item.add_marker(pytest.mark.e2e)
    items[:] = [item for item in items if not _is_e2e(item)] + e2e


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """pytest-playwright's launch options, pointed at the system Chromium, always headless."""
    options = {key: value for key, value in browser_type_launch_args.items() if key != "channel"}
    return {**options, "executable_path": chromium_path(), "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture(scope="session", autouse=True)
def _connections_before_playwright(django_db_setup: None) -> dict[str, BaseDatabaseWrapper]:
    """The connection objects the test database was set up on, taken before Playwright starts.

    Autouse, so it runs before the `playwright` fixture that the tests request.
    """
    return {alias: connections[alias] for alias in connections}


@pytest.fixture(scope="session")
def _connections_under_playwright(
    _connections_before_playwright: dict[str, BaseDatabaseWrapper], playwright: Playwright
) -> None:
    # Once Playwright's event loop runs in this thread, Django keeps its connection objects per
    # async context and would open new ones here, which lack what the test-database setup left on
    # the old ones (the serialized rows `django_db_serialized_rollback` restores). Same thread, so
    # handing the old objects back is safe.
    for alias, wrapper in _connections_before_playwright.items():
        connections[alias] = wrapper


@pytest.fixture(autouse=True)
def _e2e_database(
    _connections_under_playwright: None, transactional_db: None, django_db_serialized_rollback: None
) -> Iterator[None]:
    """Give each browser test the rows `migrate` leaves (tenant, Brain registry), committed.

    The live server answers from its own thread and sees only committed rows, so browser tests use
    `transactional_db`, which empties every table afterwards; `django_db_serialized_rollback` puts
    the migrated rows back before each test.
    """
    yield
    # Runs before transactional_db's own teardown, which is the flush.
    _wait_for_the_live_servers_requests()
    _empty_sqlite_tables_past_append_only_triggers()


def _wait_for_the_live_servers_requests(timeout: float = 15.0) -> None:
    # A page closed with a request in flight (a fragment it loads after itself) leaves the live
    # server answering it inside its transaction (the tenant claim is set per transaction), and
    # the flush's TRUNCATE of every table then deadlocks with it on PostgreSQL. Wait until every
    # other session on the test database is idle.
    if connection.vendor != "postgresql":
        return
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                           " AND pid <> pg_backend_pid() AND state <> 'idle'")
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.05)


def _empty_sqlite_tables_past_append_only_triggers() -> None:
    # On SQLite Django empties tables with DELETE, which the append-only triggers (request events,
    # task events, decisions) abort. Empty everything here with the triggers lifted for the moment,
    # so the flush that follows finds nothing to delete. PostgreSQL's TRUNCATE fires no row trigger.
    if connection.vendor != "sqlite":
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND sql IS NOT NULL")
        triggers = cursor.fetchall()
        for name, _ in triggers:
            cursor.execute(f'DROP TRIGGER "{name}"')
        tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
        for statement in connection.ops.sql_flush(no_style(), tables):
            cursor.execute(statement)
        for _, sql in triggers:
            cursor.execute(sql)


@pytest.fixture
def screenshot(page: Page) -> Callable[[str], Path]:
    """Save a full-page PNG of what the browser shows to test-artifacts/screenshots/<name>.png."""

    def take(name: str) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
