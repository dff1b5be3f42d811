"""EXPLAIN (ANALYZE, BUFFERS) of every query a page runs, on a scale database, as the runtime role.

Not a test. It asks Django for one page through the test Client (as page_bench does: no HTTP,
DEBUG off, the runtime role, row-level security on), keeps the SQL and parameters of each query
it runs, and then EXPLAINs each one again acting for the demo tenant, the way the app sets the
claim. With --generic the plan is the one a prepared statement settles on after its first runs
(psycopg prepares a statement run five times on a connection; PostgreSQL may then keep a plan
made without the parameters' values). Run from the project root, after page_bench has migrated
and analysed the database:

    .venv/bin/python bench/page_explain.py --database mwms_pages_1m "/requests/?queue=due_soon&sort=updated"
    .venv/bin/python bench/page_explain.py --database mwms_pages_100k --as research_owner --generic /decisions/
"""

import argparse
import os
import re
import secrets
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="the page's path and query, e.g. /requests/?queue=stale")
    parser.add_argument("--database", required=True)
    parser.add_argument("--as", dest="username", default="reviewer", help="who asks (default reviewer)")
    parser.add_argument("--htmx", action="store_true", help="ask as htmx does (a fragment)")
    parser.add_argument("--api", action="store_true",
                        help="ask with a HeadOffice API token (issued as page_bench issues its own), e.g. "
                             "/api/v1/requests?q=offer")
    parser.add_argument("--generic", action="store_true", help="the generic plan of each query (prepared)")
    parser.add_argument("--runs", type=int, default=1,
                        help="ask this many times and print each query's time in every run (then EXPLAIN the last)")
    parser.add_argument("--no-explain", action="store_true", help="only the times (with --runs)")
    parser.add_argument("--min-ms", type=float, default=0.0, help="only the queries that took at least this")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="5432")
    parser.add_argument("--owner", default="mwms_ci:mwms_ci_password")
    parser.add_argument("--runtime", default="mwms_app:mwms_app_password")
    return parser.parse_args()


def _numbered(sql: str) -> str:
    """The SQL as psycopg sends it to the server: each %s a numbered parameter."""
    numbered = iter(range(1, 10_000))
    return re.sub(r"%s", lambda _m: f"${next(numbered)}", sql.replace("%%", "%"))


def main() -> None:
    args = parse_args()
    base = f"{args.host}:{args.port}/{args.database}"
    os.environ.update({"DATABASE_URL": f"postgres://{args.runtime}@{base}",
                       "DATABASE_OWNER_URL": f"postgres://{args.owner}@{base}", "MWMS_REQUIRE_POSTGRES": "1",
                       "DEBUG": "false", "SECURE_COOKIES": "false", "SECRET_KEY": secrets.token_urlsafe(40),
                       "ALLOWED_HOSTS": "testserver", "LOG_LEVEL": "WARNING"})
    os.environ.pop("TEST_DATABASE_NAME", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mwms_site.settings")
    os.chdir(ROOT)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from governance_app.kernel import claims
    from governance_app.kernel.db import DEFAULT_TENANT_ID

    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    client = Client()
    headers = {"HTTP_HX_REQUEST": "true"} if args.htmx else {}
    if args.api:
        from governance_app.kernel.tokens import api_token_issue
        with claims.tenant_claim(DEFAULT_TENANT_ID):
            _token, secret = api_token_issue(tenant_id=DEFAULT_TENANT_ID, brain="headoffice", role="headoffice",
                                             label=f"page-explain-{secrets.token_hex(4)}")
        headers["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
        args.username = "a HeadOffice API token"
    else:
        client.force_login(get_user_model().objects.get(username=args.username))
    client.get(args.path, **headers)  # warm: the session, the caches

    queries: list[tuple[str, object, float]] = []

    def keep(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append((sql, params, (time.perf_counter() - started) * 1000))

    runs = []
    for _run in range(args.runs):
        queries.clear()
        with connection.execute_wrapper(keep):
            response = client.get(args.path, **headers)
        runs.append([ms for _sql, _params, ms in queries])
    if args.runs > 1:
        for number, (sql, _params, _ms) in enumerate(queries, 1):
            times = " ".join(f"{run[number - 1]:6.1f}" if len(run) >= number else "     -" for run in runs)
            print(f"q{number:<3} {times}   {sql[:90]}")
        if args.no_explain:
            return
    print(f"{args.path} as {args.username}: {response.status_code}, {len(queries)} queries, "
          f"{sum(q[2] for q in queries):.1f} ms in them")
    tenant_id = DEFAULT_TENANT_ID  # the seeded organisation's (seed_demo)
    for number, (sql, params, ms) in enumerate(queries, 1):
        if claims.TAG in sql or not sql.lstrip().upper().startswith(("SELECT", "WITH")) or ms < args.min_ms:
            continue
        print(f"\n--- query {number}: {ms:.1f} ms in the page\n{sql}\n{params}")
        with claims.tenant_claim(tenant_id), connection.cursor() as cursor:
            if args.generic:
                # psycopg prepares the statement with its parameters' types; its name is then read
                # back and EXECUTEd under EXPLAIN, with the plan made without the values.
                cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
                raw = connection.connection
                raw.execute(sql, params, prepare=True).fetchall()
                name = raw.execute("SELECT name FROM pg_prepared_statements WHERE statement = %s",
                                   [_numbered(sql)]).fetchone()
                if name is None:
                    print("(not found among the prepared statements)")
                    continue
                values = ", ".join("%s" for _param in params or ())
                execute = psycopg.ClientCursor(raw).mogrify(f"EXECUTE {name[0]}({values})", params) if values \
                    else f"EXECUTE {name[0]}"
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + execute)  # no parameters: sent as it is
                print("\n".join(row[0] for row in cursor.fetchall()))
            else:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                print("\n".join(row[0] for row in cursor.fetchall()))


if __name__ == "__main__":
    main()
