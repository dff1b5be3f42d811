"""The fixed cast every test can use, and the rules that turn a hidden skip into a failure.

Tests marked `postgres` need PostgreSQL and skip on SQLite; tests marked `e2e` need Chromium.
CI sets MWMS_REQUIRE_POSTGRES=1 / MWMS_REQUIRE_E2E=1 so that such a test fails instead of
skipping, and nothing PostgreSQL- or browser-only silently stops running.
"""

import contextlib
import functools
import os
import shutil

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.db import connection

from governance_app.kernel import brains as brain_registry
from governance_app.kernel.brains import forget_brains
from governance_app.kernel.claims import set_session_claim
from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.kernel.tenancy import member_add
from governance_app.models import Brain, MembershipRole

# The test database is created and migrated as the owner when DATABASE_OWNER_URL is set, and the
# tests run as the runtime role, through its grants and row-level security.
from tests.db_roles import assert_app_queries, django_db_setup, every_tenant, tenant_session_claim  # noqa: E402, F401

# Shared checks keep pytest's detailed assertion messages.
pytest.register_assert_rewrite("tests.admin_pages")

PASSWORD = "test-password-123"


def said(page) -> list[str]:
    """The messages a person reads after this response: on the page it renders, or on the page a
    redirect leads to."""
    return [str(message) for message in get_messages(page.wsgi_request)]


def _required(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        message = "needs PostgreSQL: set DATABASE_URL to a postgres:// URL"
        if _required("MWMS_REQUIRE_POSTGRES"):
            pytest.fail(f"MWMS_REQUIRE_POSTGRES is set but this test would skip: {message}")
        pytest.skip(message)
    if item.get_closest_marker("e2e") and not chromium_path():
        message = "needs Chromium (apt-get install chromium, or set CHROMIUM_PATH)"
        if _required("MWMS_REQUIRE_E2E"):
            pytest.fail(f"MWMS_REQUIRE_E2E is set but this test would skip: {message}")
        pytest.skip(message)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # PBKDF2's deliberate slowness protects real passwords; in tests it only costs minutes.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _tasks_run_immediately(settings) -> None:
    # Background tasks (webhook deliveries) run in the test's own process, right after the commit
    # that enqueues them, so a test sees their result; tests/test_webhooks.py also runs the real
    # database queue and its worker.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _dashboard_counts_every_view(settings) -> None:
    # Tests change requests and read the dashboard at once: its figures are counted on every view
    # (test_views_dashboard.py checks the reuse on its own).
    settings.MWMS_DASHBOARD_FIGURES_SECONDS = 0


@pytest.fixture
def django_assert_num_queries(pytestconfig):
    """pytest-django's fixture, counting the app's queries and not the tenant claim's bookkeeping."""
    return functools.partial(assert_app_queries, pytestconfig)


@pytest.fixture
def django_assert_max_num_queries(pytestconfig):
    return functools.partial(assert_app_queries, pytestconfig, exact=False)


@pytest.fixture(autouse=True)
def _acting_for_the_demo_tenant(request, django_db_blocker):
    """The tests' own reads and writes act for the demo tenant, as a command would (on PostgreSQL
    row-level security shows nothing without a claim). A test acting for another tenant wraps that
    part in `claims.tenant_claim(...)`; the app's requests set their own claim and put this one back."""
    if "django_db_setup" not in request.fixturenames or connection.vendor != "postgresql":
        yield
        return
    with django_db_blocker.unblock():
        set_session_claim(DEFAULT_TENANT_ID)
    yield
    if connection.connection is not None:
        with django_db_blocker.unblock(), contextlib.suppress(Exception):
            set_session_claim(None)


@pytest.fixture(autouse=True)
def _fresh_brain_registry(monkeypatch):
    # Each test's database is rolled back or flushed afterwards: a process-wide copy of the Brain
    # registry must not carry one test's Brains into the next. Within a test its clock stands
    # still, so how many queries a page makes does not depend on how long the test took to get
    # there (a test of the expiry moves the clock itself: tests/governance_app/test_brain_registry.py).
    forget_brains()
    monkeypatch.setattr(brain_registry, "_clock", lambda: 0.0)
    yield
    forget_brains()


@pytest.fixture
def brains(db) -> dict[str, Brain]:
    """The nine Brains of the registry, created by migration."""
    return {brain.slug: brain for brain in Brain.objects.filter(tenant_id=DEFAULT_TENANT_ID)}


def _member(username: str, brain: Brain, role: str):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    member_add(user=user, brain=brain, role=role)
    return user


@pytest.fixture
def reviewer(brains):
    """A HeadOffice reviewer: sees and may act on every request of the tenant."""
    return _member("reviewer", brains["headoffice"], MembershipRole.HEAD_OFFICE_REVIEWER)


@pytest.fixture
def owner(brains):
    """The owner of the Research Brain."""
    return _member("research_owner", brains["research"], MembershipRole.OWNER)


@pytest.fixture
def other_owner(brains):
    """The owner of the Affiliate Brain: an outsider to Research-only requests."""
    return _member("affiliate_owner", brains["affiliate"], MembershipRole.OWNER)


@pytest.fixture
def outsider(brains):
    """The owner of the Content Brain, which takes part in none of the fixtures' requests."""
    return _member("content_owner", brains["content"], MembershipRole.OWNER)
