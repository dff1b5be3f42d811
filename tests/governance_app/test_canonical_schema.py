"""The migrated PostgreSQL schema matches the canon, read from information_schema, not from the models.

CANON below is transcribed by hand from the MWMS Supabase Task Schema Standard v1.1
(the schema standard, docs/RULES.md: "Required Tables", each table's "Required Columns" and
"Required Relationships"). It must never be generated from the models: it is what they are checked
against. Extra tables and columns are allowed (ARCHITECTURE.md); alternative names for canonical
ones are not.
"""

import json
import re
import uuid
from typing import Any

import pytest
from django.db import connection

from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.models import DecisionRecord
from requests_app.models import BrainRequest
from tasks_app.models import TaskEvent
from tests.direct_writer import chain_link_columns

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# The canon's types, as information_schema.columns.data_type spells them.
PG_TYPE = {
    "uuid": "uuid",
    "text": "text",
    "jsonb": "jsonb",
    "timestamptz": "timestamp with time zone",
    "int": "integer",
}
NULLABLE = True
NOT_NULL = False

# table → column → (canon type, nullable, canon default or None). Only the canon says "nullable" or
# "default"; every other required column is NOT NULL with no default required.
CANON: dict[str, dict[str, tuple[str, bool, str | None]]] = {
    "mwms_brain_requests": {
        "id": ("uuid", NOT_NULL, None),
        "requesting_authority": ("text", NOT_NULL, None),
        "requesting_brain": ("text", NULLABLE, None),
        "target_brain": ("text", NOT_NULL, None),
        "operating_layer": ("text", NOT_NULL, None),
        "request_summary": ("text", NOT_NULL, None),
        "required_output": ("text", NOT_NULL, None),
        "priority": ("text", NOT_NULL, None),
        "status": ("text", NOT_NULL, None),
        "meta_json": ("jsonb", NOT_NULL, "{}"),
        "created_at": ("timestamptz", NOT_NULL, "now()"),
        "updated_at": ("timestamptz", NOT_NULL, "now()"),
    },
    "mwms_tasks": {
        "id": ("uuid", NOT_NULL, None),
        "request_id": ("uuid", NOT_NULL, None),
        "task_type": ("text", NOT_NULL, None),
        "assigned_brain": ("text", NOT_NULL, None),
        "assigned_employee": ("text", NULLABLE, None),
        "input_payload": ("jsonb", NOT_NULL, "{}"),
        "output_mode": ("text", NOT_NULL, None),
        "risk_level": ("text", NOT_NULL, None),
        "status": ("text", NOT_NULL, None),
        "attempts": ("int", NOT_NULL, "0"),
        "last_error": ("text", NULLABLE, None),
        "created_at": ("timestamptz", NOT_NULL, "now()"),
        "updated_at": ("timestamptz", NOT_NULL, "now()"),
    },
    "mwms_task_events": {
        "id": ("uuid", NOT_NULL, None),
        "task_id": ("uuid", NOT_NULL, None),
        "event_type": ("text", NOT_NULL, None),
        "event_summary": ("text", NOT_NULL, None),
        "event_payload": ("jsonb", NOT_NULL, "{}"),
        "created_at": ("timestamptz", NOT_NULL, "now()"),
    },
    "mwms_task_artifacts": {
        "id": ("uuid", NOT_NULL, None),
        "task_id": ("uuid", NOT_NULL, None),
        "artifact_type": ("text", NOT_NULL, None),
        "artifact_summary": ("text", NOT_NULL, None),
        "content_location": ("text", NOT_NULL, None),
        "content_json": ("jsonb", NOT_NULL, "{}"),
        "created_at": ("timestamptz", NOT_NULL, "now()"),
    },
    "mwms_decision_records": {
        "id": ("uuid", NOT_NULL, None),
        "authority": ("text", NOT_NULL, None),
        "related_request_id": ("uuid", NULLABLE, None),
        "related_task_id": ("uuid", NULLABLE, None),
        "affected_brains": ("jsonb", NOT_NULL, "[]"),
        "decision_summary": ("text", NOT_NULL, None),
        "reasoning": ("text", NOT_NULL, None),
        "evidence_used": ("text", NULLABLE, None),
        "expected_outcome": ("text", NULLABLE, None),
        "created_at": ("timestamptz", NOT_NULL, "now()"),
    },
    "mwms_lessons_learned": {
        "id": ("uuid", NOT_NULL, None),
        "originating_brain": ("text", NOT_NULL, None),
        "related_decision_id": ("uuid", NULLABLE, None),
        "related_task_id": ("uuid", NULLABLE, None),
        "event_or_experiment": ("text", NOT_NULL, None),
        "result": ("text", NOT_NULL, None),
        "insight": ("text", NOT_NULL, None),
        "recommended_improvement": ("text", NOT_NULL, None),
        "created_at": ("timestamptz", NOT_NULL, "now()"),
    },
}

# The canon's defaults, as PostgreSQL reports them in information_schema.columns.column_default.
PG_DEFAULT = {"now()": "now()", "{}": "'{}'::jsonb", "[]": "'[]'::jsonb", "0": "0"}

# "Required Relationships": (table, column) → (referenced table, referenced column).
CANON_RELATIONSHIPS = {
    ("mwms_tasks", "request_id"): ("mwms_brain_requests", "id"),
    ("mwms_task_events", "task_id"): ("mwms_tasks", "id"),
    ("mwms_task_artifacts", "task_id"): ("mwms_tasks", "id"),
    ("mwms_decision_records", "related_request_id"): ("mwms_brain_requests", "id"),
    ("mwms_decision_records", "related_task_id"): ("mwms_tasks", "id"),
    ("mwms_lessons_learned", "related_decision_id"): ("mwms_decision_records", "id"),
    ("mwms_lessons_learned", "related_task_id"): ("mwms_tasks", "id"),
}

# ARCHITECTURE.md: every table carries tenant_id (the canon's "no cross-tenant leakage").
TENANT_TABLES = [
    "mwms_brain_requests",
    "mwms_tasks",
    "mwms_task_events",
    "mwms_task_artifacts",
    "mwms_decision_records",
    "mwms_lessons_learned",
    "mwms_request_events",
    "mwms_signals",
    "mwms_brains",
    "mwms_memberships",
    "mwms_api_tokens",
    "mwms_canon_documents",
    "mwms_canon_amendments",
]


def _query(sql: str, params: list[Any] | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def _columns(table: str) -> dict[str, tuple[str, bool, str | None]]:
    """column → (data_type, nullable, column_default) as information_schema reports them."""
    rows = _query(
        """
        SELECT column_name, data_type, is_nullable = 'YES', column_default
          FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = %s
        """,
        [table],
    )
    return {name: (data_type, nullable, default) for name, data_type, nullable, default in rows}


def _foreign_keys() -> set[tuple[str, str, str, str]]:
    """Each column of each foreign key of the schema: (table, column, referenced table, referenced
    column); a composite key (tenant_id, target_brain) → (tenant_id, slug) gives one per column.

    Read from pg_catalog: information_schema shows a constraint only to its table's owner or to a
    role with a privilege beyond SELECT, and the runtime role (DATABASE_URL) owns nothing."""
    rows = _query(
        """
        SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, fa.attname
          FROM pg_constraint c
         CROSS JOIN LATERAL unnest(c.conkey, c.confkey) AS k(attnum, fattnum)
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
          JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = k.fattnum
         WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace
        """
    )
    return set(rows)


def _mwms_tables() -> list[str]:
    return [
        name
        for (name,) in _query(
            """
            SELECT table_name FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
               AND starts_with(table_name, 'mwms_')
            """
        )
    ]


# --- Tables and columns ---------------------------------------------------------------------------


def test_the_six_canonical_tables_exist() -> None:
    assert set(CANON) <= set(_mwms_tables())


@pytest.mark.parametrize("table", CANON)
def test_each_required_column_has_the_canonical_name_and_type(table: str) -> None:
    actual = _columns(table)

    expected = {column: PG_TYPE[canon_type] for column, (canon_type, _, _) in CANON[table].items()}
    assert {column: actual.get(column, (None,))[0] for column in expected} == expected


@pytest.mark.parametrize("table", CANON)
def test_each_required_column_is_nullable_only_where_the_canon_says_so(table: str) -> None:
    actual = _columns(table)

    expected = {column: nullable for column, (_, nullable, _) in CANON[table].items()}
    assert {column: actual[column][1] for column in expected} == expected


@pytest.mark.parametrize("table", CANON)
def test_each_canonical_default_is_a_database_default(table: str) -> None:
    # Other clients write straight into PostgreSQL, so the canon's defaults live in the database.
    actual = _columns(table)

    expected = {
        column: PG_DEFAULT[default] for column, (_, _, default) in CANON[table].items() if default is not None
    }
    assert expected, f"the canon gives {table} at least created_at default now()"
    assert {column: actual[column][2] for column in expected} == expected


@pytest.mark.parametrize("table", CANON)
def test_each_canonical_primary_key_is_id_uuid_generated_by_the_database(table: str) -> None:
    primary_key = _query(
        """
        SELECT kcu.column_name
          FROM information_schema.table_constraints tc
          JOIN information_schema.key_column_usage kcu
            ON kcu.constraint_schema = tc.constraint_schema AND kcu.constraint_name = tc.constraint_name
         WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema() AND tc.table_name = %s
        """,
        [table],
    )

    assert primary_key == [("id",)]
    assert _columns(table)["id"] == ("uuid", False, "gen_random_uuid()")


def test_every_mwms_table_follows_the_naming_and_type_conventions() -> None:
    # Canon "Naming and Conventions": snake_case, uuid keys, timestamptz, jsonb; ARCHITECTURE.md: text, not varchar.
    tables = _mwms_tables()
    offending = _query(
        """
        SELECT c.table_name, c.column_name, c.data_type
          FROM information_schema.columns c
         WHERE c.table_schema = current_schema() AND c.table_name = ANY(%s)
           AND (c.data_type IN ('timestamp without time zone', 'json', 'character varying', 'character')
                OR (c.column_name = 'id' AND c.data_type <> 'uuid'))
        """,
        [tables],
    )

    assert {*TENANT_TABLES, "mwms_tenants"} <= set(tables)
    assert [name for name in tables if not re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", name)] == []
    assert offending == []


# --- Relationships ------------------------------------------------------------------------------


def test_each_required_relationship_is_a_foreign_key() -> None:
    actual = _foreign_keys()

    expected = {(table, column, *target) for (table, column), target in CANON_RELATIONSHIPS.items()}
    assert expected <= actual, f"missing: {sorted(expected - actual)}"


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("mwms_brain_requests", "requesting_brain"),
        ("mwms_brain_requests", "target_brain"),
        ("mwms_tasks", "assigned_brain"),
        ("mwms_decision_records", "authority"),
        ("mwms_lessons_learned", "originating_brain"),
    ],
)
def test_each_canonical_brain_column_references_the_brain_registry(table: str, column: str) -> None:
    assert (table, column, "mwms_brains", "slug") in _foreign_keys()


# --- Tenants ------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", TENANT_TABLES)
def test_every_table_has_a_not_null_tenant_id_defaulting_to_the_default_tenant(table: str) -> None:
    assert _columns(table).get("tenant_id") == ("uuid", False, f"'{DEFAULT_TENANT_ID}'::uuid")
    assert (table, "tenant_id", "mwms_tenants", "id") in _foreign_keys()


# --- A direct writer (a WordPress plugin through Supabase) gets the defaults ----------------------


def _insert(table: str, values: dict[str, Any], returning: str) -> tuple:
    columns = ", ".join(values)
    placeholders = ", ".join(["%s"] * len(values))
    rows = _query(f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING {returning}", list(values.values()))
    return rows[0]


def test_a_request_inserted_by_raw_sql_gets_its_defaults_from_the_database() -> None:
    (transaction_now,) = _query("SELECT now()")[0]

    request_id, tenant_id, status, meta_json, supporting, created_at, updated_at = _insert(
        "mwms_brain_requests",
        {
            "requesting_authority": "Affiliate Brain owner",
            "target_brain": "research",
            "operating_layer": "operational",
            "request_summary": "Check whether search demand supports testing offer 12.",
            "required_output": "A short demand report with sources.",
            "priority": "medium",
            # Protocol fields this schema also requires (not in the canon; see the report on canon-only writers).
            "request_type": "research_request",
            "request_title": "Validate demand for offer 12",
        },
        "id, tenant_id, status, meta_json::text, supporting_brains::text, created_at, updated_at",
    )

    assert isinstance(request_id, uuid.UUID) and request_id.version == 4
    assert tenant_id == DEFAULT_TENANT_ID
    assert status == "new"
    assert json.loads(meta_json) == {}
    assert json.loads(supporting) == []
    assert created_at == updated_at == transaction_now  # now(): the start of the writer's transaction
    request = BrainRequest.objects.get(pk=request_id)
    assert request.tenant.slug == "mwms"
    assert request.target_brain.slug == "research"


def test_the_whole_chain_inserted_by_raw_sql_gets_its_defaults_from_the_database() -> None:
    (request_id,) = _insert(
        "mwms_brain_requests",
        {
            "requesting_authority": "Ads Brain owner", "target_brain": "research", "operating_layer": "operational",
            "request_summary": "Why did CPA rise?", "required_output": "A cause and a fix.", "priority": "high",
            "request_type": "research_request", "request_title": "CPA rise on campaign 12",
        },
        "id",
    )
    task_id, task_tenant, task_status, attempts, input_payload, last_error = _insert(
        "mwms_tasks",
        {"request_id": request_id, "task_type": "cpa_analysis", "assigned_brain": "research",
         "output_mode": "artifact", "risk_level": "low"},
        "id, tenant_id, status, attempts, input_payload::text, last_error",
    )
    event_tenant, event_payload = _insert(
        "mwms_task_events",
        {"task_id": task_id, "event_type": "created", "event_summary": "Task created by the plugin.",
         # Beyond the canon: the link in its task's hash chain that the INSERT trigger asks for (issue 13).
         **chain_link_columns(TaskEvent, {"task_id": task_id, "event_type": "created"})},
        "tenant_id, event_payload::text",
    )
    artifact_tenant, content_json = _insert(
        "mwms_task_artifacts",
        {"task_id": task_id, "artifact_type": "report", "artifact_summary": "CPA report",
         "content_location": "https://example.com/reports/12"},
        "tenant_id, content_json::text",
    )
    decision_id, decision_tenant, affected_brains = _insert(
        "mwms_decision_records",
        {"authority": "finance", "related_request_id": request_id, "related_task_id": task_id,
         "decision_summary": "Pause campaign 12.", "reasoning": "CPA above the approved ceiling.",
         **chain_link_columns(DecisionRecord, {"authority_id": "finance", "related_request_id": request_id})},
        "id, tenant_id, affected_brains::text",
    )
    (lesson_tenant,) = _insert(
        "mwms_lessons_learned",
        {"originating_brain": "ads", "related_decision_id": decision_id, "related_task_id": task_id,
         "event_or_experiment": "Campaign 12", "result": "Paused.", "insight": "CPA drifted for a week unseen.",
         "recommended_improvement": "Alert on a three-day CPA trend."},
        "tenant_id",
    )

    assert (task_status, attempts, json.loads(input_payload), last_error) == ("queued", 0, {}, None)
    assert json.loads(event_payload) == {}
    assert json.loads(content_json) == {}
    assert json.loads(affected_brains) == []
    assert {task_tenant, event_tenant, artifact_tenant, decision_tenant, lesson_tenant} == {DEFAULT_TENANT_ID}
    assert BrainRequest.objects.get(pk=request_id).tasks.get().events.count() == 1
