"""Server time of every daily page at scale, on PostgreSQL with row-level security on.

Not a test. It creates (or, with --reuse, keeps) a scratch database, migrates it as the owner
role, seeds it with `seed_demo --scale N` as the runtime role (the way the app writes), runs
ANALYZE, and then, in this process, asks Django for each page through the test Client (no HTTP,
no server): as the HeadOffice reviewer, and as a Brain owner for the pages a Brain uses. The
connection is the runtime role (NOSUPERUSER NOBYPASSRLS), so the policies filter every query as
they do in production.

For each page it reports the median and 95th percentile of the time Django took to answer, the
number of queries and the time spent in them. Run from the project root:

    .venv/bin/python bench/page_bench.py --scale 10000 --database mwms_pages_10k
    .venv/bin/python bench/page_bench.py --scale 100000 --database mwms_pages_100k --reuse

--reuse keeps a database that is already seeded (it seeds only when it holds no synthetic
request), so a second reading at 100,000 takes seconds instead of minutes. The roles default to
the development server's (README, "Row-level security and the two database roles").
"""

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
sys.path.insert(0, str(ROOT))


@dataclass
class Reading:
    page: str
    role: str
    p50: float
    p95: float
    queries: int
    sql_ms: float


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10_000, help="synthetic requests to seed (default 10,000)")
    parser.add_argument("--database", default=None, help="scratch database (default mwms_pages_<scale>)")
    parser.add_argument("--reuse", action="store_true", help="keep the database; seed only if it has no scale rows")
    parser.add_argument("--runs", type=int, default=15, help="timed runs per page (default 15)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="5432")
    parser.add_argument("--owner", default="mwms_ci:mwms_ci_password", help="owner role user:password")
    parser.add_argument("--runtime", default="mwms_app:mwms_app_password", help="runtime role user:password")
    parser.add_argument("--only", default="", help="measure only pages whose name contains this text")
    args = parser.parse_args()
    args.database = args.database or f"mwms_pages_{args.scale}"
    return args


def url(args: argparse.Namespace, credentials: str, database: str) -> str:
    return f"postgres://{credentials}@{args.host}:{args.port}/{database}"


def conninfo(args: argparse.Namespace, database: str) -> str:
    user, password = args.owner.split(":", 1)
    return f"host={args.host} port={args.port} user={user} password={password} dbname={database}"


def environment(args: argparse.Namespace) -> dict[str, str]:
    """Production-like settings: DEBUG off (DEBUG keeps every query's SQL), the runtime role, and
    the owner for migrate."""
    env = {**os.environ, "DATABASE_URL": url(args, args.runtime, args.database),
           "DATABASE_OWNER_URL": url(args, args.owner, args.database), "MWMS_REQUIRE_POSTGRES": "1",
           "DEBUG": "false", "SECURE_COOKIES": "false", "SECRET_KEY": secrets.token_urlsafe(40),
           "ALLOWED_HOSTS": "testserver", "LOG_LEVEL": "WARNING"}
    env.pop("TEST_DATABASE_NAME", None)
    return env


def manage(env: dict[str, str], *argv: str) -> None:
    subprocess.run([str(PYTHON), "manage.py", *argv], cwd=ROOT, env=env, check=True)


def database_exists(args: argparse.Namespace) -> bool:
    with psycopg.connect(conninfo(args, "postgres"), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.database]).fetchone() is not None


def scale_rows(args: argparse.Namespace) -> int:
    with psycopg.connect(conninfo(args, args.database)) as conn:
        found = conn.execute("SELECT to_regclass('mwms_brain_requests') IS NOT NULL").fetchone()[0]
        if not found:
            return 0
        return conn.execute("SELECT count(*) FROM mwms_brain_requests WHERE meta_json ? 'scale'").fetchone()[0]


def prepare(args: argparse.Namespace, env: dict[str, str]) -> None:
    """The database at the wanted scale, migrated to this checkout, vacuumed and analysed."""
    if not (args.reuse and database_exists(args)):
        with psycopg.connect(conninfo(args, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{args.database}"')
    manage(env, "migrate", "--no-input", "--verbosity", "0")
    have = scale_rows(args)
    if have == 0:
        started = time.monotonic()
        manage(env, "seed_demo", "--scale", str(args.scale), "--seed", "16")
        print(f"seeded {args.scale:,} requests in {time.monotonic() - started:.0f} s", file=sys.stderr)
    elif have != args.scale:
        print(f"note: {args.database} holds {have:,} synthetic requests, not {args.scale:,}", file=sys.stderr)
    with psycopg.connect(conninfo(args, args.database), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")  # as autovacuum leaves a table in use: statistics and visibility map


# --- in process --------------------------------------------------------------------------------------

class QueryClock:
    """Counts the queries Django runs and the time they take (works with DEBUG off)."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


def targets() -> dict[str, Any]:
    """What the pages are asked about: the widest lineage (most children), the busiest request
    (most events), the API token, the Brain owner measured."""
    from django.db.models import Count

    from governance_app.kernel import claims
    from governance_app.kernel.db import DEFAULT_TENANT_ID
    from governance_app.kernel.tokens import api_token_issue
    from governance_app.models import CanonDocument
    from requests_app.models import BrainRequest, RequestEvent

    with claims.tenant_claim(DEFAULT_TENANT_ID):
        widest = (BrainRequest.objects.filter(parent_request__isnull=False).values("parent_request")
                  .annotate(n=Count("pk")).order_by("-n").first())
        busiest = (RequestEvent.objects.values("request").annotate(n=Count("pk")).order_by("-n").first())
        _token, secret = api_token_issue(tenant_id=DEFAULT_TENANT_ID, brain="headoffice", role="headoffice",
                                         label=f"page-bench-{secrets.token_hex(4)}")
        canon = CanonDocument.objects.order_by("slug").values_list("slug", flat=True).first()
    return {"widest": widest["parent_request"], "busiest": busiest["request"], "token": secret,
            "owner": "research_owner", "brain": "research", "canon": canon}


def pages(t: dict[str, Any]) -> list[tuple[str, str, str, dict[str, str]]]:
    """(name, role, path, headers) of every page measured."""
    from requests_app.filters import BrainRequestFilter
    from requests_app.queues import QUEUE_SPECS

    reviewer, owner = "reviewer", t["owner"]
    out = [("dashboard", reviewer, "/", {}),
           ("dashboard's integrity queues (fetched after it)", reviewer, "/dashboard/integrity/",
            {"HTTP_HX_REQUEST": "true"}),
           ("request list", reviewer, "/requests/", {}),
           ("request list, page 200", reviewer, "/requests/?page=200", {}),
           ("request list, free text \"offer\"", reviewer, "/requests/?q=offer", {}),
           ("request list, free text \"OFF-4242\"", reviewer, "/requests/?q=OFF-4242", {}),
           ("request list, free text \"offer\", oldest first", reviewer, "/requests/?q=offer&sort=created", {}),
           ("request list, free text \"offer\" + priority", reviewer, "/requests/?q=offer&priority=high", {}),
           ("request list, free text \"offer\", by title", reviewer, "/requests/?q=offer&sort=title", {}),
           ("request list, free text \"offer\", Brain owner", owner, "/requests/?q=offer", {}),
           ("request list, status escalated", reviewer, "/requests/?status=escalated", {}),
           ("request list, origin research", reviewer, "/requests/?origin=research", {}),
           ("request list, destination + priority", reviewer, "/requests/?destination=finance&priority=high", {}),
           ("request list, type offer review", reviewer, "/requests/?request_type=offer_review_request", {}),
           ("request list, escalation flag", reviewer, "/requests/?escalation_flag=true", {}),
           ("request list, hidden from HO", reviewer, "/requests/?head_office_visible=false", {}),
           ("request list, created in a month", reviewer,
            "/requests/?created_after=2026-09-01&created_before=2026-09-30", {})]
    for key in BrainRequestFilter.base_filters["sort"].param_map:
        for sort in (key, f"-{key}"):
            out.append((f"request list, sort {sort}", reviewer, f"/requests/?sort={sort}", {}))
    for spec_key in ["open", *(q.key for q in QUEUE_SPECS)]:
        out.append((f"request list, queue {spec_key}", reviewer, f"/requests/?queue={spec_key}&sort=updated", {}))
    out += [("request list, Brain owner", owner, "/requests/", {}),
            ("request list, Brain owner, page 50", owner, "/requests/?page=50", {}),
            ("drill-down, widest lineage", reviewer, f"/requests/{t['widest']}/", {}),
            ("drill-down, busiest request", reviewer, f"/requests/{t['busiest']}/", {}),
            ("drill-down's lineage check (fetched after it), busiest request", reviewer,
             f"/requests/{t['busiest']}/integrity/", {"HTTP_HX_REQUEST": "true"}),
            ("escalations", reviewer, "/escalations/", {}),
            ("feedback", reviewer, "/feedback/", {}),
            ("decisions", reviewer, "/decisions/", {}),
            ("decisions, Brain owner", owner, "/decisions/", {}),
            ("lessons", reviewer, "/lessons/", {}),
            ("lessons, Brain owner", owner, "/lessons/", {}),
            ("workspace inbox", owner, f"/workspace/{t['brain']}/", {}),
            ("canon", owner, "/canon/", {}),
            ("canon document", owner, f"/canon/{t['canon']}/", {}),
            ("dashboard, Brain owner", owner, "/dashboard/", {}),  # "/" sends an owner to their inbox
            ("search \"offer\"", reviewer, "/search/?q=offer", {}),
            ("search \"demand review\"", reviewer, "/search/?q=demand+review", {}),
            ("search \"offer\", Brain owner", owner, "/search/?q=offer", {}),
            ("API: GET /api/v1/requests", "token", "/api/v1/requests",
             {"HTTP_AUTHORIZATION": f"Bearer {t['token']}"}),
            ("API: GET /api/v1/requests?q=offer", "token", "/api/v1/requests?q=offer",
             {"HTTP_AUTHORIZATION": f"Bearer {t['token']}"})]
    return out


def measure(args: argparse.Namespace) -> list[Reading]:
    import mwms_site.wsgi  # noqa: F401 — set up as a server is, its start-up heap frozen (gc.freeze)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    # Static names unhashed: the manifest exists only after collectstatic, which a bench need not run.
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

    t = targets()
    clients: dict[str, Client] = {"token": Client()}
    for username in ("reviewer", t["owner"]):
        clients[username] = Client()
        clients[username].force_login(get_user_model().objects.get(username=username))
    readings = []
    for name, role, path, headers in pages(t):
        if args.only and args.only not in name:
            continue
        client = clients[role]
        times, sql, clock = [], [], QueryClock()
        for run in range(args.runs + 2):  # two warm-up runs: caches, the plan, the template
            clock.count, clock.seconds = 0, 0.0
            with connection.execute_wrapper(clock):
                started = time.perf_counter()
                response = client.get(path, **headers)
                elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise SystemExit(f"{name}: {path} answered {response.status_code}")
            if run >= 2:
                times.append(elapsed)
                sql.append(clock.seconds)
        times.sort()
        readings.append(Reading(page=name, role=role, p50=statistics.median(times) * 1000,
                                p95=times[min(len(times) - 1, round(0.95 * (len(times) - 1)))] * 1000,
                                queries=clock.count, sql_ms=statistics.median(sql) * 1000))
        print(f"  {name}: {readings[-1].p50:.1f} ms", file=sys.stderr)
    return readings


def table(readings: list[Reading], args: argparse.Namespace, requests: int) -> str:
    roles = {"reviewer": "reviewer", "token": "API token (HeadOffice)"}
    lines = [f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, {requests:,} requests, median of {args.runs}",
             "", "| page | as | p50 | p95 | queries | of which SQL (p50) |", "|---|---|---|---|---|---|"]
    for r in readings:
        lines.append(f"| {r.page} | {roles.get(r.role, 'Brain owner')} | {r.p50:.1f} ms | {r.p95:.1f} ms | "
                     f"{r.queries} | {r.sql_ms:.1f} ms |")
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    env = environment(args)
    prepare(args, env)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mwms_site.settings")
    os.chdir(ROOT)
    with psycopg.connect(conninfo(args, args.database)) as conn:
        requests = conn.execute("SELECT count(*) FROM mwms_brain_requests").fetchone()[0]
    print(table(measure(args), args, requests))


if __name__ == "__main__":
    main()
