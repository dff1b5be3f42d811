"""The request list's, the queues' and the dashboard's queries keep to their indexes (issue 16, item 3).

A plan, not a stopwatch: on a shared 2-core machine a timing test either flaps or allows so much
that it catches nothing, while a sequential scan of the requests or tasks table is the regression
that makes a page cost the table instead of the page, and EXPLAIN shows it on any machine.

Once per session a scratch PostgreSQL database is migrated, seeded with `seed_demo --scale 20000`
(the bulk path) and vacuumed and analysed as the owner, so the planner sees
a table of realistic size and statistics. Each query the pages run is built by the app against
the test database (where it is captured) and then EXPLAINed on the scratch database as the
runtime role, acting for the demo tenant: row-level security on, as in production.

Free-text search is not here: under row-level security PostgreSQL evaluates a non-leakproof
operator (UPPER(...) LIKE) only after the policy, so no index can serve it (README, Benchmarks).
"""

import json
import re
import subprocess
import sys
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from governance_app import selectors as governance
from governance_app.kernel import claims
from governance_app.kernel.actors import Actor
from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.kernel.pages import RowPaginator, capped_counts
from requests_app import selectors
from requests_app.filters import BrainRequestFilter
from requests_app.queues import QUEUE_SPECS
from tests.scratch_databases import ROOT, migrated_scratch_database

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
WATCHED = {"mwms_brain_requests", "mwms_tasks"}
REVIEWER = Actor(tenant_id=DEFAULT_TENANT_ID, label="reviewer", is_head_office=True)
OWNER = Actor(tenant_id=DEFAULT_TENANT_ID, label="research_owner", brains=frozenset({"research"}))
SORTS = [s for key in BrainRequestFilter.base_filters["sort"].param_map for s in (key, f"-{key}")]
LISTS = ["", "page=40", *(f"sort={s}" for s in SORTS), "queue=open&sort=updated",
         *(f"queue={q.key}&sort=updated" for q in QUEUE_SPECS), "status=escalated", "origin=research",
         "destination=finance&priority=high", "escalation_flag=true", "head_office_visible=false",
         "created_after=2026-01-01&created_before=2026-01-31"]


@pytest.fixture(scope="session")
def plans_database(django_db_setup, django_db_blocker):
    """A scratch database of 20,000 requests, analysed; yields a runtime-role connection string."""
    with migrated_scratch_database("plans") as scratch:
        # Seeded as the owner: the bulk path then seals the history rows itself and sets the chain's
        # INSERT triggers aside per batch (issue 13), which as the runtime role check every row (minutes).
        subprocess.run([sys.executable, "manage.py", "seed_demo", "--scale", "20000", "--seed", "7"], cwd=ROOT,
                       env=scratch.as_owner(), check=True, capture_output=True)
        with psycopg.connect(scratch.conninfo(owner=True), autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE)")
        yield scratch.conninfo()


def scans(plan: dict) -> list[tuple[str, str]]:
    """(node type, relation) of every scan in a JSON plan, however deep."""
    found = [(plan["Node Type"], plan["Relation Name"])] if "Relation Name" in plan else []
    for child in plan.get("Plans", []):
        found += scans(child)
    return found


def sequential_scans(conninfo: str, sql: str) -> list[str]:
    with psycopg.connect(conninfo) as conn:
        conn.execute("SELECT set_config(%s, %s, true)", [claims.CLAIM, claims.claim_json(DEFAULT_TENANT_ID)])
        plan = conn.execute("EXPLAIN (FORMAT JSON) " + sql).fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return [relation for node, relation in scans(plan[0]["Plan"]) if node == "Seq Scan" and relation in WATCHED]


def captured(read) -> list[str]:
    """The SQL of the app's queries that `read` runs and that touch the watched tables."""
    with CaptureQueriesContext(connection) as context:
        read()
    return [q["sql"] for q in context.captured_queries if any(f'"{t}"' in q["sql"] for t in WATCHED)]


def list_reads(actor: Actor, query: str):
    def read():
        rows = selectors.requests_for_list(actor=actor)
        data = QueryDict(query)
        filterset = BrainRequestFilter(data, queryset=rows, brain_choices=[("research", "R"), ("finance", "F")])
        assert filterset.is_valid(), filterset.errors
        rows = filterset.qs
        # The page's rows as the list reads them: its keys first (requests_app.views.request_list).
        paginator = RowPaginator(rows, 25, keys_from=None if data.get("q") else 0)
        paginator._rows((int(data.get("page", 1)) - 1) * 25)   # the test database is empty: no page to number
        rows.order_by().values("pk")[:1001].count()  # the capped count (kernel.pages)
    return read


@pytest.mark.parametrize("query", LISTS)
def test_the_request_list_reads_no_table_through(plans_database, query):
    for sql in captured(list_reads(REVIEWER, query)):
        assert not sequential_scans(plans_database, sql), f"?{query}: {sql[:300]}"


@pytest.mark.parametrize("query", ["", "page=20", "sort=created"])
def test_a_brain_owners_page_of_rows_reads_no_table_through(plans_database, query):
    # Only the rows: one branch of the owner's view (supporting_brains @> ...) is not leakproof,
    # so under row-level security no bitmap of the branches is possible, and the capped count
    # may read the table in order until it has found 1,001 rows (it stops there).
    rows, _count = captured(list_reads(OWNER, query))
    assert not sequential_scans(plans_database, rows), f"?{query}: {rows[:300]}"


@pytest.mark.parametrize("actor", [REVIEWER, OWNER], ids=["reviewer", "owner"])
def test_the_dashboard_reads_no_table_through(plans_database, actor, settings):
    settings.MWMS_DASHBOARD_FIGURES_SECONDS = 0
    statements = captured(lambda: (governance.dashboard_queues(actor=actor), governance.dashboard_health(actor=actor)))
    assert len(statements) >= 5
    for sql in statements:
        assert not sequential_scans(plans_database, sql), sql[:300]


# --- the queue pages and the workspace inbox (issue 16) -------------------------------------------

def plan_of(conninfo: str, sql: str) -> dict:
    with psycopg.connect(conninfo) as conn:
        conn.execute("SELECT set_config(%s, %s, true)", [claims.CLAIM, claims.claim_json(DEFAULT_TENANT_ID)])
        plan = conn.execute("EXPLAIN (FORMAT JSON) " + sql).fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


def nodes(plan: dict) -> list[dict]:
    return [plan, *(node for child in plan.get("Plans", []) for node in nodes(child))]


QUEUES = {"escalations": (governance.escalations_for, "mwms_req_status_entered"),
          "feedback": (governance.feedback_to_classify, "mwms_req_feedback_waiting")}


@pytest.mark.parametrize("queue", QUEUES)
def test_a_queue_pages_rows_come_from_its_index(plans_database, queue):
    # The page's rows come off the index made for the queue's condition and order (with a few
    # hundred matches, as here, the planner may still sort them after its joins; at 100,000
    # requests it reads them in order and stops at the page).
    selector, index = QUEUES[queue]
    sql, = captured(lambda: list(selector(actor=REVIEWER)[:26]))
    plan = plan_of(plans_database, sql)
    used = [(n["Node Type"], n.get("Index Name")) for n in nodes(plan) if n.get("Relation Name") == "mwms_brain_requests"]
    assert used == [("Index Scan", index)], used


def test_the_workspace_inbox_reads_no_table_through_and_counts_its_lists_from_their_indexes(plans_database):
    from governance_app.models import Brain
    from requests_app.selectors import workspace_inbox
    from requests_app.views import INBOX_COUNT_UP_TO

    research = Brain.objects.get(tenant_id=DEFAULT_TENANT_ID, slug="research")

    def read():
        inbox = workspace_inbox(actor=OWNER, brain=research)
        lists = {"to_act": inbox.to_act, "waiting": inbox.waiting, "tasks": inbox.tasks}
        for rows in lists.values():
            list(rows[:26])
        capped_counts(lists, cap=INBOX_COUNT_UP_TO)   # the three capped counts in one statement (kernel.pages)
    statements = captured(read)
    assert len(statements) == 4
    for sql in statements:
        assert not sequential_scans(plans_database, sql), sql[:300]
    counts = plan_of(plans_database, statements[3])
    assert {n["Node Type"] for n in nodes(counts) if n.get("Relation Name") in WATCHED} == {"Index Only Scan"}


# --- the header search as a Brain owner (issue 16) ------------------------------------------------

def hashed_subplans(plan: dict) -> list[str]:
    """The subplans in a plan that PostgreSQL hashes whole (`hashed SubPlan n` in a filter)."""
    return [n[key] for n in nodes(plan) for key in ("Filter", "Join Filter") if "hashed SubPlan" in n.get(key, "")]


def test_a_brain_owners_search_checks_each_hit_not_every_request_it_may_see(plans_database, monkeypatch):
    # A task or artifact hit is checked against the owner's view by an index lookup of its
    # request (a correlated EXISTS), not by hashing every request the owner may see (a sequential
    # scan of the requests, 74 ms for 21,000 of them at 100,000 requests).
    from governance_app import search

    def matching_on_the_scratch_database(text, kinds, dated=False):  # the seeded hits, not the test database's
        with psycopg.connect(plans_database) as conn:
            conn.execute("SELECT set_config(%s, %s, true)", [claims.CLAIM, claims.claim_json(DEFAULT_TENANT_ID)])
            found = {kind: conn.execute("SELECT id, rank FROM public.mwms_search_ids(%s, %s, %s)",
                                        [kind, text, search.NEWEST + 1]).fetchall() for kind in kinds}
            return {kind: search.Matching(ids=[pk for pk, _ in rows], ranks=[rank for _, rank in rows])
                    for kind, rows in found.items()}

    monkeypatch.setattr(search, "_matching_ids", matching_on_the_scratch_database)
    statements = captured(lambda: search.search_everything(actor=OWNER, text="offer"))
    hits = [sql for sql in statements if "UNION ALL" in sql]
    assert len(hits) == 1
    plan = plan_of(plans_database, hits[0])
    assert not hashed_subplans(plan), hashed_subplans(plan)
    assert not [n for n in nodes(plan) if n["Node Type"] == "Seq Scan" and n.get("Relation Name") in WATCHED]


# --- the list's filters that its sort's index does not serve (issue 16) -----------------------------

def index_scans(plan: dict) -> list[tuple[str, str | None]]:
    return [(n["Node Type"], n.get("Index Name")) for n in nodes(plan) if n.get("Relation Name") == "mwms_brain_requests"]


def test_created_in_a_month_finds_its_pages_keys_in_the_index_alone(plans_database):
    # Newest updated first, the month's rows are found by walking (tenant_id, updated_at): the
    # walk reads the index's created_at (an index-only scan), not every row updated since.
    rows, _count = captured(list_reads(REVIEWER, "created_after=2026-09-01&created_before=2026-09-30"))
    assert ("Index Only Scan", "mwms_req_updated_keys") in index_scans(plan_of(plans_database, rows))


def test_destination_and_priority_are_counted_from_the_index_alone(plans_database):
    *_rows, count = captured(list_reads(REVIEWER, "destination=finance&priority=high"))
    assert index_scans(plan_of(plans_database, count)) == [("Index Only Scan", "mwms_req_destination_keys")]


def test_free_text_alone_reads_only_its_pages_rows(plans_database):
    # Newest first, the page's rows are looked up by the ids of the newest matches (26), not
    # every match joined and sorted; the count is the owner's capped count (no table in the plan).
    from requests_app.selectors import NewestMatchesPaginator

    def read():
        paginator = NewestMatchesPaginator(selectors.requests_for_list(actor=REVIEWER), 25, actor=REVIEWER,
                                           text="offer")
        paginator._rows(0)
        paginator.count  # noqa: B018 (the capped count is read)
    rows, = captured(read)
    assert "mwms_request_text_newest" in rows
    assert {scan for scan in index_scans(plan_of(plans_database, rows))} <= {
        ("Index Scan", "mwms_brain_requests_pkey"), ("Index Scan", "mwms_brain_requests_tenant_key")}


# --- the queues whose rows lie spread through the list's order, and prepared plans (issue 16) --------

def statements(read) -> list[tuple[str, Any]]:
    """(SQL, parameters) of the app's queries that `read` runs and that touch the watched tables,
    as the app sends them (the parameters apart, as a prepared statement has them)."""
    kept: list[tuple[str, Any]] = []

    def keep(execute, sql, params, many, context):
        if any(f'"{t}"' in sql for t in WATCHED):
            kept.append((sql, params))
        return execute(sql, params, many, context)
    with connection.execute_wrapper(keep):
        read()
    return kept


def custom_plan_of(conninfo: str, sql: str, params: Any) -> dict:
    """The plan made knowing the parameters' values (a statement's first runs)."""
    with psycopg.connect(conninfo) as conn:
        conn.execute("SELECT set_config(%s, %s, true)", [claims.CLAIM, claims.claim_json(DEFAULT_TENANT_ID)])
        plan = conn.execute("EXPLAIN (FORMAT JSON) " + sql, params).fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


def generic_plan_of(conninfo: str, sql: str, params: Any) -> dict:
    """The plan a prepared statement may settle on, made without its parameters' values: psycopg
    prepares a statement run five times on a connection (mwms_site.settings), and after five more
    runs PostgreSQL keeps such a plan whenever it looks no dearer than the ones made with them."""
    with psycopg.connect(conninfo) as conn:
        conn.execute("SELECT set_config(%s, %s, true)", [claims.CLAIM, claims.claim_json(DEFAULT_TENANT_ID)])
        conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        conn.execute(sql, params, prepare=True).fetchall()
        numbered = iter(range(1, 10_000))
        text = re.sub(r"%s", lambda _match: f"${next(numbered)}", sql.replace("%%", "%"))
        name, = conn.execute("SELECT name FROM pg_prepared_statements WHERE statement = %s", [text]).fetchone()
        values = psycopg.ClientCursor(conn).mogrify(", ".join(["%s"] * len(params)), params) if params else ""
        plan = conn.execute(f"EXPLAIN (FORMAT JSON) EXECUTE {name}({values})" if values
                            else f"EXPLAIN (FORMAT JSON) EXECUTE {name}").fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


def test_the_due_soon_queue_reads_the_running_clocks_from_their_index(plans_database):
    # Due soon (warned, not yet due) lies spread through the updated_at order, most of the open
    # requests away from a page (164,000 read for 26 at a million requests). Its page's keys and
    # its count come from the clocks still running, off mwms_req_sla_due_keys alone, and so also
    # in the plan a prepared statement would keep: the time is in the SQL (requests_app.sla.Moment).
    for sql, params in statements(list_reads(REVIEWER, "queue=due_soon&sort=updated")):
        for plan in (custom_plan_of(plans_database, sql, params), generic_plan_of(plans_database, sql, params)):
            assert ("Index Only Scan", "mwms_req_sla_due_keys") in index_scans(plan), index_scans(plan)


def test_responded_without_outcome_reads_its_own_index(plans_database):
    # Nearly always empty: the queue's partial index answers at once, where the responded
    # requests' index was read to its end (27,000 rows at a million, 100 ms).
    for sql, params in statements(list_reads(REVIEWER, "queue=responded_without_outcome&sort=updated")):
        scans = index_scans(custom_plan_of(plans_database, sql, params))
        assert "mwms_req_responded_no_outcome" in {index for _node, index in scans}, scans


def test_created_in_a_month_is_tested_by_the_index_scan_itself(plans_database):
    # The month's range is an index condition of the walk (created_at a key column of
    # mwms_req_updated_keys): the skipped entries are never handed back to be filtered.
    rows, _count = captured(list_reads(REVIEWER, "created_after=2026-09-01&created_before=2026-09-30"))
    walk, = [n for n in nodes(plan_of(plans_database, rows)) if n.get("Index Name") == "mwms_req_updated_keys"]
    assert "created_at" in walk["Index Cond"] and "created_at" not in walk.get("Filter", "")


@pytest.mark.parametrize("read", ["decisions", "lessons"])
def test_a_brain_owners_decisions_and_lessons_check_each_rows_request_in_every_plan(plans_database, read):
    # Each row's request is looked up on its own, also in a prepared statement's plan: with
    # EXISTS under the OR, that plan collected every request the owner may see into a hash first
    # (a sequential scan, 150-200 ms a page at 100,000 requests).
    rows = governance.decisions_for_list(actor=OWNER) if read == "decisions" else governance.lessons_for_list(actor=OWNER)
    found = statements(lambda: (list(rows[:26]), rows.order_by().values("pk")[:1001].count()))
    assert len(found) == 2
    for sql, params in found:
        plan = generic_plan_of(plans_database, sql, params)
        assert not hashed_subplans(plan), hashed_subplans(plan)
        assert not [n for n in nodes(plan) if n["Node Type"] == "Seq Scan" and n.get("Relation Name") in WATCHED]


def test_the_ping_pong_queue_counts_reroutes_from_their_index_alone(plans_database):
    from requests_app.selectors import ping_pong_queue

    counts, *_rest = statements(lambda: ping_pong_queue(actor=REVIEWER))
    plan = custom_plan_of(plans_database, *counts)
    assert [(n["Node Type"], n.get("Index Name")) for n in nodes(plan)
            if n.get("Relation Name") == "mwms_request_events"] == [("Index Only Scan", "mwms_req_events_reroutes")]


def test_the_header_search_walks_a_kind_only_where_that_costs_less_than_sorting_its_matches(plans_database):
    # Analysed, the planner's estimate of a kind's matches says whether walking its rows newest first
    # fills the newest `limit` within 20 rows a match and checks fewer stored documents than sorting
    # reads matches, a checked row costing about two matches read (governance_app 0023, 0024). At
    # 20,000 requests "offer" is in about one request of seven: its newest 26 are walked, its newest
    # 500 are cheaper sorted; "demand review", in about one of 200, is always sorted. Walked or
    # sorted, the answer is the sort's.
    from governance_app.search import KINDS

    said = []
    with psycopg.connect(plans_database) as conn:
        conn.add_notice_handler(lambda notice: said.append(notice.message_primary))
        conn.execute("SELECT set_config(%s, %s, true)", [claims.CLAIM, claims.claim_json(DEFAULT_TENANT_ID)])
        conn.execute("SET LOCAL client_min_messages = debug1")

        def newest(kind: str, text: str, limit: int, *walk: int) -> tuple[list, list]:
            said.clear()
            arguments = ", ".join(["%s"] * (3 + len(walk)))
            ids = conn.execute(f"SELECT id, rank FROM public.mwms_search_ids({arguments})",
                               [kind, text, limit, *walk]).fetchall()
            return ids, [m.split()[1:3] + m.split()[-1:] for m in said if m.startswith("mwms_search_ids:")]

        for text in ("offer", "demand review"):
            for kind in KINDS:
                for limit in (26, 500):
                    ids, walks = newest(kind, text, limit)
                    assert ids == newest(kind, text, limit, 0)[0], (kind, text, limit)
                    if kind == "request":
                        assert walks == ([["request", "walked", "t"]] if (text, limit) == ("offer", 26) else []), \
                            (text, limit, walks)
        forced, walks = newest("request", "offer", 201, 20)    # asked to walk: it fills, with the same answer
        assert forced == newest("request", "offer", 201, 0)[0] and walks == [["request", "walked", "t"]]
