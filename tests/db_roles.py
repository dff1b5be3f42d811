"""pytest-django integration: the test database is created and migrated AS THE OWNER, the tests run as
the RUNTIME role (so they exercise the real grants and RLS), and TransactionTestCase / live_server
flushes go through the owner.

tests/conftest.py imports `django_db_setup` from here, which overrides pytest-django's own. Without
DATABASE_OWNER_URL (SQLite, or one PostgreSQL role) everything behaves like pytest-django's fixture.
"""

from __future__ import annotations

import contextlib

import pytest
from django.core.management import call_command
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from governance_app.kernel import dbsecurity
from governance_app.kernel.claims import set_session_claim
from governance_app.kernel.db_roles import connected_as_owner, owner_settings

try:  # private helpers of pytest-django 4.x; keep the same --nomigrations / serialization behaviour
    from pytest_django.fixtures import _disable_migrations, _get_databases_for_setup
except ImportError:  # pragma: no cover
    _disable_migrations = _get_databases_for_setup = None


@contextlib.contextmanager
def _as_owner(aliases):
    with contextlib.ExitStack() as stack:
        for alias in sorted(aliases):
            stack.enter_context(connected_as_owner(alias))
        yield


# ---------------------------------------------------------------------------------------------
# the owner flush (replaces TransactionTestCase._fixture_teardown's call_command("flush"))


def owner_flush(db_name: str, *, allow_cascade: bool, inhibit_post_migrate: bool) -> None:
    """Django's own flush command, connected as the owner, in ONE transaction with the TRUNCATE guards
    lifted: ALTER TABLE ... DISABLE TRIGGER, TRUNCATE, ENABLE TRIGGER, post_migrate, COMMIT. A failure
    rolls everything back, guards included."""
    with connected_as_owner(db_name):
        connection = connections[db_name]
        with transaction.atomic(using=db_name):
            with connection.cursor() as cursor:
                guarded = dbsecurity.guarded_tables(cursor)
                for table in guarded:
                    cursor.execute(f"ALTER TABLE {dbsecurity.qi(table)} DISABLE TRIGGER {dbsecurity.TRUNCATE_GUARD}")
            call_command("flush", verbosity=0, interactive=False, database=db_name, reset_sequences=False,
                         allow_cascade=allow_cascade, inhibit_post_migrate=inhibit_post_migrate)
            with connection.cursor() as cursor:
                for table in guarded:
                    cursor.execute(f"ALTER TABLE {dbsecurity.qi(table)} ENABLE TRIGGER {dbsecurity.TRUNCATE_GUARD}")


def _owner_fixture_teardown(self):
    """TransactionTestCase._fixture_teardown, flushing through the owner (same arguments as Django 5.2's)."""
    for db_name in self._databases_names(include_mirrors=False):
        inhibit_post_migrate = self.available_apps is not None or (
            self.serialized_rollback and hasattr(connections[db_name], "_test_serialized_contents"))
        if owner_settings(db_name) is None:
            call_command("flush", verbosity=0, interactive=False, database=db_name, reset_sequences=False,
                         allow_cascade=self.available_apps is not None,
                         inhibit_post_migrate=inhibit_post_migrate)
        else:
            owner_flush(db_name, allow_cascade=self.available_apps is not None,
                        inhibit_post_migrate=inhibit_post_migrate)


def _owner_reset_sequences(db_name):
    """reset_sequences=True runs setval(), which needs UPDATE on the sequences: the owner does it."""
    with connected_as_owner(db_name):
        _django_reset_sequences(db_name)


_django_reset_sequences = None


def install_owner_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    global _django_reset_sequences
    from django.db.backends.base.creation import BaseDatabaseCreation
    from django.test import TransactionTestCase
    _django_reset_sequences = TransactionTestCase._reset_sequences
    monkeypatch.setattr(TransactionTestCase, "_fixture_teardown", _owner_fixture_teardown)
    monkeypatch.setattr(TransactionTestCase, "_reset_sequences", staticmethod(_owner_reset_sequences))
    deserialize = BaseDatabaseCreation.deserialize_db_from_string

    def deserialize_for_every_tenant(creation, data):
        """serialized_rollback puts back every tenant's migrated rows (the registry), so it writes
        with the claim of every tenant, then puts the connection's own claim back."""
        from governance_app.kernel.claims import EVERY_TENANT, claim_json
        from governance_app.kernel.db import DEFAULT_TENANT_ID
        with session_claim_swapped(claim_json(DEFAULT_TENANT_ID, **EVERY_TENANT), creation.connection.alias):
            deserialize(creation, data)

    monkeypatch.setattr(BaseDatabaseCreation, "deserialize_db_from_string", deserialize_for_every_tenant)


# ---------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def django_db_setup(  # noqa: PLR0917  (same signature as pytest-django's)
    request: pytest.FixtureRequest,
    django_test_environment,
    django_db_blocker,
    django_db_use_migrations: bool,
    django_db_keepdb: bool,
    django_db_createdb: bool,
    django_db_modify_db_settings,  # --xdist: the test NAME already carries the gw suffix
):
    """pytest-django's django_db_setup, but create + migrate (+ grants/RLS, by the migrate override)
    as the owner, run the tests as the runtime role, and tear down as the owner."""
    from django.test.utils import setup_databases, teardown_databases

    setup_databases_args = {}
    if not django_db_use_migrations:
        _disable_migrations()
    if django_db_keepdb and not django_db_createdb:
        setup_databases_args["keepdb"] = True
    aliases, serialized_aliases = _get_databases_for_setup(request.session.items)

    with django_db_blocker.unblock(), _as_owner(aliases):
        db_cfg = setup_databases(verbosity=request.config.option.verbose, interactive=False,
                                 aliases=aliases, serialized_aliases=serialized_aliases, **setup_databases_args)
    # From here on connections[alias] reconnects as the runtime role, to the test database.

    patch = pytest.MonkeyPatch()
    install_owner_flush(patch)
    try:
        yield
    finally:
        patch.undo()
        if not django_db_keepdb:
            with django_db_blocker.unblock(), _as_owner(aliases):
                try:
                    teardown_databases(db_cfg, verbosity=request.config.option.verbose)
                except Exception as exc:  # noqa: BLE001
                    request.node.warn(pytest.PytestWarning(f"Error when trying to teardown test databases: {exc!r}"))


@pytest.fixture
def tenant_session_claim():
    """Act for a tenant on the test's connection for the whole test, also across autocommitted ORM
    calls (transactional_db / live_server tests). Returns a setter; cleared afterwards."""
    used = []

    def _set(tenant_id, using: str = "default"):
        used.append(using)
        set_session_claim(tenant_id, using)

    yield _set
    for using in set(used):
        if connections[using].connection is not None:
            with contextlib.suppress(Exception):
                set_session_claim(None, using)


def as_runtime_role() -> bool:
    """Whether the tests run as the runtime role (PostgreSQL with DATABASE_OWNER_URL set): the grants
    refuse it what the owner's triggers and keys refuse one role, and row-level security hides the key
    values in a foreign-key error's detail."""
    from django.conf import settings
    from django.db import connection
    return connection.vendor == "postgresql" and bool(getattr(settings, "DATABASE_OWNER", None))


def acting_for(row):
    """Act for the tenant of `row` (a Tenant, or a row with a tenant_id) for the block: a test reading
    or changing a row of a tenant other than the demo one."""
    from governance_app.kernel.claims import tenant_claim
    from governance_app.models import Tenant
    return tenant_claim(row.pk if isinstance(row, Tenant) else row.tenant_id)


# ---------------------------------------------------------------------------------------------
# counting a page's own queries


def app_queries(queries: list[dict]) -> list[dict]:
    """The queries of `queries` that are the app's, without the tenant claim's bookkeeping: its
    statements (tagged claims.TAG) and the savepoint opened just for one (a request nested in a
    test's transaction). In production the claim costs one statement per request, on PostgreSQL."""
    from governance_app.kernel.claims import TAG
    ours, savepoints = [], set()
    for index, query in enumerate(queries):
        sql = query["sql"]
        if TAG in sql:
            continue
        following = queries[index + 1]["sql"] if index + 1 < len(queries) else ""
        if sql.startswith("SAVEPOINT ") and TAG in following:
            savepoints.add(sql.removeprefix("SAVEPOINT "))
            continue
        name = sql.removeprefix("RELEASE SAVEPOINT ").removeprefix("ROLLBACK TO SAVEPOINT ")
        if name != sql and name in savepoints:
            continue
        ours.append(query)
    return ours


class AppQueries(CaptureQueriesContext):
    """CaptureQueriesContext counting only the app's queries (app_queries)."""

    @property
    def captured_queries(self):
        return app_queries(super().captured_queries)

    def __len__(self):
        return len(self.captured_queries)

    def __getitem__(self, index):
        return self.captured_queries[index]

    def __iter__(self):
        return iter(self.captured_queries)


@contextlib.contextmanager
def assert_app_queries(config: pytest.Config, num: int, exact: bool = True, connection=None,
                       info: str | None = None, *, using: str | None = None):
    """pytest-django's _assert_num_queries, counting the app's queries only."""
    from django.db import connection as default_connection

    conn = connection or (connections[using] if using else default_connection)
    with AppQueries(conn) as context:
        yield context
        performed = len(context)
        if (num != performed) if exact else (performed > num):
            message = (f"Expected to perform {num} queries {'' if exact else 'or less '}"
                       f"but {performed} {'was' if performed == 1 else 'were'} done")
            if info:
                message += f"\n{info}"
            if config.getoption("verbose") > 0:
                message += "\n\nQueries:\n========\n\n" + "\n\n".join(q["sql"] for q in context.captured_queries)
            else:
                message += " (add -v option to show queries)"
            pytest.fail(message)


@pytest.fixture
def every_tenant(django_db_blocker):
    """The test's own reads and writes see every tenant, as an installation superuser's do in the
    admin: for tests of what the app and the keys refuse across tenants. What row-level security
    refuses is tests/test_row_level_security.py's. Pages and API calls still act for their caller."""
    from django.db import connection

    from governance_app.kernel.claims import EVERY_TENANT
    from governance_app.kernel.db import DEFAULT_TENANT_ID
    if connection.vendor == "postgresql":
        with django_db_blocker.unblock():
            set_session_claim(DEFAULT_TENANT_ID, **EVERY_TENANT)
    yield


@contextlib.contextmanager
def session_claim_swapped(claim: str, using: str = "default"):
    """The connection's session claim is `claim` ('' for none) in the block, and its own afterwards."""
    from governance_app.kernel.claims import CLAIM
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true), set_config(%s, %s, false)", [CLAIM, CLAIM, claim])
        previous = cursor.fetchone()[0] or ""
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, %s, false)", [CLAIM, previous])


def with_no_claim(using: str = "default"):
    """The block starts with no tenant claim, as a management command run from a shell does; the
    test's own claim is back afterwards."""
    return session_claim_swapped("", using)
