"""What PostgreSQL itself refuses the runtime role, tried as a direct client would: raw SQL, on the
connection the app uses (DATABASE_URL, the runtime role; migrate ran as DATABASE_OWNER_URL).

Needs the two roles: CI runs the PostgreSQL phase with both (.ci/run). With one role (development)
these tests skip, or fail when MWMS_REQUIRE_POSTGRES is set.
"""

import os
import uuid

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from governance_app import services as gs
from governance_app.kernel import claims
from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.models import DecisionRecord, Tenant
from requests_app.models import BrainRequest, SavedView
from tasks_app.models import TaskEvent
from tests.api_client import api_as, new_request_body
from tests.conftest import PASSWORD
from tests.direct_writer import chain_link_columns
from tests.factories import (
    make_list_preference,
    make_request,
    make_request_event,
    make_saved_view,
    make_task_event,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

HISTORY = ["mwms_task_events", "mwms_request_events", "mwms_decision_records", "mwms_canon_amendments",
           "mwms_canon_proposals", "mwms_suggestion_evidence", "mwms_chain_checkpoints", "mwms_chain_checkpoint_heads"]


@pytest.fixture(autouse=True)
def _two_roles():
    if connection.vendor != "postgresql" or not getattr(settings, "DATABASE_OWNER", None):
        message = "needs the two roles: set DATABASE_OWNER_URL to the owner and DATABASE_URL to the runtime role"
        if os.environ.get("MWMS_REQUIRE_POSTGRES", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"MWMS_REQUIRE_POSTGRES is set but this test would skip: {message}")
        pytest.skip(message)


@pytest.fixture
def acme() -> Tenant:
    return gs.tenant_create(slug="acme", name="Acme Consulting", reviewer_username="acme_reviewer",
                            reviewer_password=PASSWORD)


def sql(statement: str, params=None):
    """Run one statement in a savepoint; the rows, or the DatabaseError PostgreSQL answered."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else cursor.rowcount
    except DatabaseError as error:
        return error


def claim(tenant_id) -> None:
    sql("SELECT set_config('request.jwt.claims', %s, true)", [claims.claim_json(tenant_id) if tenant_id else ""])


def tenant_tables() -> list[str]:
    rows = sql("SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
               "AND column_name = 'tenant_id' ORDER BY 1")
    return [row[0] for row in rows]


def test_the_runtime_role_owns_nothing_and_bypasses_nothing():
    (row,) = sql("SELECT rolsuper, rolbypassrls, current_user <> (SELECT pg_get_userbyid(relowner) "
                 "FROM pg_class WHERE relname = 'mwms_brain_requests') FROM pg_roles WHERE rolname = current_user")
    assert row == (False, False, True)
    assert sql("SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles "
               "WHERE rolname = current_user)")[0][0] == 0


def test_every_tenant_table_has_row_level_security_enabled_and_forced():
    tables = tenant_tables()
    assert {"mwms_brain_requests", "mwms_tasks", "mwms_brains", "mwms_api_tokens", "mwms_tenant_users"} <= set(tables)
    rows = dict(((name, (rls, forced)) for name, rls, forced in sql(
        "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY(%s)",
        [[*tables, "mwms_tenants"]])))
    assert all(rows[table] == (True, True) for table in [*tables, "mwms_tenants"]), rows
    policies = {row[0] for row in sql("SELECT tablename FROM pg_policies WHERE policyname = 'mwms_tenant_isolation'")}
    assert set(tables) | {"mwms_tenants"} <= policies


def test_with_no_claim_no_row_is_visible_and_none_can_be_written():
    make_request()
    claim(None)

    counts = {table: sql(f"SELECT count(*) FROM {table}")[0][0] for table in [*tenant_tables(), "mwms_tenants"]}
    refused = sql("INSERT INTO mwms_brains (tenant_id, slug, name, authority) "
                  "VALUES (%s, 'pricing', 'Pricing Brain', 'operational')", [DEFAULT_TENANT_ID])

    assert set(counts.values()) == {0}, counts
    assert "row-level security" in str(refused)


def test_a_tenants_claim_shows_only_its_rows(acme):
    mwms_request = make_request()
    with claims.tenant_claim(acme.id):
        acme_request = make_request(tenant_id=acme.id)

    claim(acme.id)
    seen = {row[0] for row in sql("SELECT id FROM mwms_brain_requests")}
    brains = {row[0] for row in sql("SELECT DISTINCT tenant_id FROM mwms_brains")}
    moved = sql("UPDATE mwms_brain_requests SET priority = 'urgent' WHERE id = %s", [mwms_request.pk])
    claim(DEFAULT_TENANT_ID)

    assert seen == {acme_request.pk}
    assert brains == {acme.id}
    assert moved == 0
    assert BrainRequest.objects.get(pk=mwms_request.pk).priority == mwms_request.priority


def test_a_row_that_points_into_another_tenant_is_refused(acme):
    mwms_request = make_request()
    claim(acme.id)

    refused = sql("INSERT INTO mwms_signals (tenant_id, source_brain, signal_type, summary, request_id) "
                  "VALUES (%s, 'research', 'evidence_update', 'A signal', %s)", [acme.id, mwms_request.pk])

    assert "mwms_signals_request_id_tenant_fk" in str(refused)


def test_saved_views_and_columns_stay_in_their_tenant(acme, reviewer):
    # Issue 14: a shared view is shared with its tenant only, and no row names another tenant's person.
    mwms_view = make_saved_view(owner=reviewer, name="Demo shared", visibility="shared")
    make_list_preference(user=reviewer)
    claim(acme.id)

    seen = sql("SELECT count(*) FROM mwms_saved_views")[0][0], sql("SELECT count(*) FROM mwms_list_preferences")[0][0]
    renamed = sql("UPDATE mwms_saved_views SET name = 'taken' WHERE id = %s", [mwms_view.pk])
    view_refused = sql("INSERT INTO mwms_saved_views (tenant_id, owner_id, name, visibility, query) "
                       "VALUES (%s, %s, 'Borrowed', 'shared', '')", [acme.id, reviewer.pk])
    columns_refused = sql("INSERT INTO mwms_list_preferences (tenant_id, user_id, list_name, columns) "
                          "VALUES (%s, %s, 'requests', '[]')", [acme.id, reviewer.pk])
    claim(DEFAULT_TENANT_ID)
    blank = sql("INSERT INTO mwms_saved_views (tenant_id, owner_id, name, visibility, query) "
                "VALUES (%s, %s, '  ', 'shared', '')", [DEFAULT_TENANT_ID, reviewer.pk])
    public = sql("INSERT INTO mwms_saved_views (tenant_id, owner_id, name, visibility, query) "
                 "VALUES (%s, %s, 'Open', 'public', '')", [DEFAULT_TENANT_ID, reviewer.pk])

    assert seen == (0, 0) and renamed == 0
    assert "mwms_saved_views_owner_id_tenant_fk" in str(view_refused)
    assert "mwms_list_preferences_user_id_tenant_fk" in str(columns_refused)
    assert "mwms_saved_views_name_not_blank" in str(blank) and "mwms_saved_views_visibility_valid" in str(public)
    assert list(SavedView.objects.values_list("name", flat=True)) == ["Demo shared"]


@pytest.mark.parametrize("statement", [
    "UPDATE {table} SET created_at = now()",
    "DELETE FROM {table}",
    "TRUNCATE {table}",
    "ALTER TABLE {table} DISABLE TRIGGER ALL",
    "ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    "ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
    "DROP TRIGGER IF EXISTS mwms_truncate_guard ON {table}",
    "CREATE POLICY open_all ON {table} USING (true)",
])
@pytest.mark.parametrize("table", HISTORY)
def test_history_cannot_be_rewritten_or_its_guards_lifted(table, statement):
    make_request_event()

    refused = sql(statement.format(table=table))

    assert isinstance(refused, DatabaseError), refused
    assert "permission denied" in str(refused) or "must be owner" in str(refused)


def test_pgtrigger_ignore_opens_nothing():
    event = make_request_event()

    refused = sql("SELECT set_config('pgtrigger.ignore', '{mwms_request_events_append_only}', true); "
                  "UPDATE mwms_request_events SET note = 'rewritten' WHERE id = %s", [event.pk])
    if not isinstance(refused, DatabaseError):  # two statements in one: try them one by one
        sql("SELECT set_config('pgtrigger.ignore', '{mwms_request_events_append_only}', true)")
        refused = sql("UPDATE mwms_request_events SET note = 'rewritten' WHERE id = %s", [event.pk])

    assert isinstance(refused, DatabaseError)
    assert sql("SELECT note FROM mwms_request_events WHERE id = %s", [event.pk])[0][0] == event.note


def test_lineage_is_never_deleted_by_the_runtime_role():
    request = make_request()

    refused = sql("DELETE FROM mwms_brain_requests WHERE id = %s", [request.pk])

    assert "permission denied" in str(refused)
    assert BrainRequest.objects.filter(pk=request.pk).exists()


def test_an_mcr_update_is_approved_only_with_a_headoffice_decision():
    request = make_request(request_type="mcr_update_suggestion", target_brain="headoffice",
                           mcr_update_suggested=True, mcr_update_status="proposed")

    refused = sql("UPDATE mwms_brain_requests SET mcr_update_status = 'approved' WHERE id = %s", [request.pk])
    chain = chain_link_columns(DecisionRecord, {"tenant_id": DEFAULT_TENANT_ID, "authority_id": "headoffice",
                                                "related_request_id": request.pk})
    sql("INSERT INTO mwms_decision_records (id, tenant_id, authority, related_request_id, decision_summary, "
        "reasoning, decision_kind, mcr_decision, chain_seq, prev_hash, row_hash) VALUES (%s, %s, 'headoffice', %s, "
        "'Approve', 'Evidence holds', 'mcr_decision', 'approved', %s, %s, %s)",
        [uuid.uuid4(), DEFAULT_TENANT_ID, request.pk, *chain.values()])
    approved = sql("UPDATE mwms_brain_requests SET mcr_update_status = 'approved' WHERE id = %s", [request.pk])

    assert "may become approved only after a HeadOffice MCR decision" in str(refused)
    assert approved == 1


def test_the_owners_truncate_guard_refuses_history_truncation_to_everyone():
    guards = {row[0] for row in sql("SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                                    "WHERE t.tgname = 'mwms_truncate_guard' AND t.tgenabled = 'O'")}
    assert guards == set(HISTORY)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_api_calls_of_two_tenants_on_one_pooled_connection_each_see_their_own(settings):
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 60
    with claims.tenant_claim(DEFAULT_TENANT_ID):
        pass
    acme = gs.tenant_create(slug="acme", name="Acme Consulting", reviewer_username="acme_reviewer",
                            reviewer_password=PASSWORD)
    claims.set_session_claim(DEFAULT_TENANT_ID)
    mwms_api = api_as("research")
    with claims.tenant_claim(acme.id):
        acme_api = api_as("research", tenant_id=acme.id)
    claims.set_session_claim(None)
    backend = connection.connection.info.backend_pid if connection.connection else None

    made_by_mwms = mwms_api.post("/requests", new_request_body()).json()["request_id"]
    made_by_acme = acme_api.post("/requests", new_request_body()).json()["request_id"]
    seen_by_mwms = [row["request_id"] for row in mwms_api.get("/requests").json()["items"]]
    seen_by_acme = [row["request_id"] for row in acme_api.get("/requests").json()["items"]]

    assert connection.connection.info.backend_pid == backend or backend is None  # the same connection
    assert seen_by_mwms == [made_by_mwms]
    assert seen_by_acme == [made_by_acme]
    assert sql("SELECT count(*) FROM mwms_brain_requests")[0][0] == 0  # no claim left behind


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_behind_the_grants_the_owner_too_cannot_rewrite_history_truncate_it_or_orphan_a_task():
    # The runtime role is refused by its grants first; a client holding the owner's password meets
    # the triggers and the keys, which do not depend on who connects.
    event = make_task_event()
    owner, test_database = settings.DATABASE_OWNER, connection.settings_dict["NAME"]

    with psycopg.connect(host=owner["HOST"], port=owner["PORT"] or 5432, user=owner["USER"],
                         password=owner["PASSWORD"], dbname=test_database, autocommit=True) as as_owner:
        with pytest.raises(psycopg.errors.RaiseException, match="pgtrigger: Cannot update or delete rows"):
            as_owner.execute("UPDATE mwms_task_events SET event_summary = 'rewritten' WHERE id = %s", [event.pk])
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="TRUNCATE is refused"):
            as_owner.execute("TRUNCATE mwms_task_events CASCADE")
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="mwms_tasks"):
            as_owner.execute("DELETE FROM mwms_brain_requests WHERE id = %s", [event.task.request_id])

    assert TaskEvent.objects.get(pk=event.pk).event_summary == event.event_summary
