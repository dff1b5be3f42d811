"""Where the API's own CPU goes: POST /api/v1/requests and POST /api/v1/tasks/claim in process.

Not a test. It recreates a scratch PostgreSQL database (default mwms_api_profile), migrates it as
the owner (--pg-user), issues a Brain token and executor tokens, queues tasks as the owner, then, in
this process, served as the runtime role (--runtime-role, row-level security on, as production),
calls the two endpoints N times through Django's WSGI handler (what gunicorn calls, no HTTP) and
prints the CPU and the statements per call, and, with --profile, cProfile's top functions:

    PGUSER=mwms_ci PGPASSWORD=mwms_ci_password .venv/bin/python bench/api_profile.py \\
        --runtime-role mwms_app:mwms_app_password [--calls 2000] [--profile tottime|cumtime]

`--reuse` skips the database set-up (the tokens are kept in the database's directory file).
"""

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_bench import (  # noqa: E402 - the bench folder is not a package
    REQUEST_BODY,
    ROOT,
    add_postgres_arguments,
    database_url,
    issue_token,
    manage,
    recreate_database,
    server_env,
)
from api_compare import QUEUE_SCRIPT  # noqa: E402


def set_up(args: argparse.Namespace, env: dict[str, str], owner_env: dict[str, str]) -> dict[str, str]:
    recreate_database(args)
    manage(env, "migrate", "--no-input")
    tokens = {label: issue_token(env, brain, role, f"profile-{label}") for label, brain, role in (
        ("research", "research", "brain"), ("headoffice", "headoffice", "headoffice"),
        ("executor", "affiliate", "executor"))}
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="calls of each endpoint (default 2000)")
    parser.add_argument("--database", default="mwms_api_profile")
    parser.add_argument("--runtime-role", metavar="USER:PASSWORD", default=None,
                        help="serve as this role, migrated as --pg-user (row-level security)")
    parser.add_argument("--profile", choices=("tottime", "cumtime"), default=None)
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--callers", default=None, help="with --profile: who calls the functions matching this")
    parser.add_argument("--callees", default=None, help="with --profile: what the functions matching this call")
    parser.add_argument("--only", choices=("create", "claim"), default=None)
    parser.add_argument("--reuse", action="store_true", help="use the database and tokens of a previous run")
    add_postgres_arguments(parser)
    args = parser.parse_args()

    owner_env = env = server_env(args)
    if args.runtime_role:
        user, _, password = args.runtime_role.partition(":")
        runtime = argparse.Namespace(**{**vars(args), "pg_user": user, "pg_password": password})
        env = {**owner_env, "DATABASE_URL": database_url(runtime), "DATABASE_OWNER_URL": database_url(args)}
    tokens_file = Path("/tmp") / f"{args.database}.tokens.json"
    if args.reuse and tokens_file.exists():
        tokens = json.loads(tokens_file.read_text())
    else:
        tokens = set_up(args, env, owner_env)
        tokens_file.write_text(json.dumps(tokens))

    os.environ.update({key: value for key, value in env.items() if key not in os.environ or key in (
        "DATABASE_URL", "DATABASE_OWNER_URL", "DEBUG", "SECURE_COOKIES", "SECRET_KEY", "ALLOWED_HOSTS", "LOG_LEVEL")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mwms_site.settings")
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    import django
    from django.conf import settings
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not any(
        word and word in m for word in os.environ.get("PROFILE_DROP_MIDDLEWARE", "").split(","))]
    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    handler = WSGIHandler()
    statements: list[str] = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    def call(method: str, path: str, token: str, body: object = None) -> tuple[int, bytes]:
        data = b"" if body is None else json.dumps(body).encode()
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": "/api/v1" + path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Bearer {token}", "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(data)), "REMOTE_ADDR": "127.0.0.1", "wsgi.input": io.BytesIO(data),
            "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.multithread": False,
            "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0),
        }
        status: list[str] = []
        chunks = handler(environ, lambda s, headers, exc_info=None: status.append(s))
        content = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        return int(status[0].split()[0]), content

    # A queue of tasks under a routed request, as api_compare sets it up (as the owner).
    status, created = call("POST", "/requests", tokens["research"], REQUEST_BODY)
    assert status == 201, created
    request_id = json.loads(created)["request_id"]
    status, routed = call("POST", f"/requests/{request_id}/transition", tokens["headoffice"],
                          {"to_status": "routed", "review_owner": "headoffice"})
    assert status == 200, routed
    manage(owner_env, "shell", "-c", QUEUE_SCRIPT.format(request_id=request_id, count=args.calls + 300))

    phases = [("create", "POST", "/requests", tokens["research"], REQUEST_BODY, 201),
              ("claim", "POST", "/tasks/claim", tokens["executor"], None, 200)]
    for name, method, path, token, body, expected in phases:
        if args.only and name != args.only:
            continue
        for _ in range(200):  # warm up: prepared statements, caches
            status, content = call(method, path, token, body)
            assert status == expected, (status, content)
        statements.clear()
        profiler = None
        if args.profile:
            import cProfile
            profiler = cProfile.Profile(time.process_time)
        with connection.execute_wrapper(count):
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            for _ in range(args.calls):
                status, content = call(method, path, token, body)
                if status != expected:
                    raise SystemExit(f"{method} {path} answered {status}: {content[:300]!r}")
            if profiler:
                profiler.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        per_call = len(statements) / args.calls
        print(f"{method} {path}: {cpu / args.calls * 1000:.3f} ms of this process's CPU per call, "
              f"{wall / args.calls * 1000:.3f} ms wall, {per_call:.1f} statements per call")
        seen: dict[str, int] = {}
        for sql in statements[-int(per_call + 0.5) * 3:]:
            seen[sql] = seen.get(sql, 0) + 1
        for sql, n in seen.items():
            print(f"   {n / 3:.1f}× {sql[:160]}")
        if profiler:
            import pstats
            stats = pstats.Stats(profiler).sort_stats(args.profile)
            if args.callers:
                stats.print_callers(args.callers)
            elif args.callees:
                stats.print_callees(args.callees)
            else:
                stats.print_stats(args.top)


if __name__ == "__main__":
    sys.exit(main())
