"""Throughput of the JSON API on PostgreSQL: requests created per second and tasks claimed per second.

Not a test. It recreates a scratch database (mwms_bench), migrates it, issues tokens with
`manage.py issue_token`, starts gunicorn (2 workers) on 127.0.0.1, then drives the API with client
threads over plain HTTP:

  1. POST /api/v1/requests from several threads (a bounded number of requests);
  2. a queue of pre-created tasks (made through the API too), claimed by 8 executor threads with
     POST /api/v1/tasks/claim until each gets 204, checking every task was claimed exactly once.

It prints a small table and stops gunicorn. With --bare it then measures, in the same run and
database, the bare PostgreSQL limit of the same work from as many client threads, each on its own
connection with no application in between: single-row INSERT commits (one row of a request's
width per transaction), and `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1)`
claims of a queue of as many rows; and it prints the application's rate as a share of each.
Run from the project root:

    .venv/bin/python bench/api_bench.py [--requests 3000] [--tasks 2000] [--threads 8] [--bare]

The server runs with DEBUG=false (DEBUG=true makes Django keep every query in memory), and
PGPASSWORD/host/user default to the local development server (mwms/mwms on 127.0.0.1:5432).
"""

import argparse
import io
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
HOST = "127.0.0.1"


def database_url(args: argparse.Namespace) -> str:
    return f"postgres://{args.pg_user}:{args.pg_password}@{HOST}:{args.pg_port}/{args.database}"


def recreate_database(args: argparse.Namespace) -> None:
    admin = f"host={HOST} port={args.pg_port} user={args.pg_user} password={args.pg_password} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.database}"')


def manage(env: dict[str, str], *argv: str, root: Path = ROOT) -> str:
    done = subprocess.run([str(PYTHON), "manage.py", *argv], cwd=root, env=env, check=True,
                          capture_output=True, text=True)
    return done.stdout


def issue_token(env: dict[str, str], brain: str, role: str, label: str, root: Path = ROOT) -> str:
    output = manage(env, "issue_token", "--brain", brain, "--role", role, "--label", label, root=root)
    return output.strip().splitlines()[-1]


def server_env(args: argparse.Namespace) -> dict[str, str]:
    """The server's settings: DEBUG off (DEBUG keeps every query in memory), a scratch database, and
    plain HTTP on loopback (SECURE_COOKIES=false: no HTTPS redirect)."""
    env = {**os.environ, "DATABASE_URL": database_url(args), "DEBUG": "false", "SECURE_COOKIES": "false",
           "SECRET_KEY": secrets.token_urlsafe(40), "ALLOWED_HOSTS": HOST, "LOG_LEVEL": "WARNING"}
    env.pop("TEST_DATABASE_NAME", None)
    return env


def start_gunicorn(env: dict[str, str], port: int, workers: int, threads: int, root: Path = ROOT) -> subprocess.Popen:
    command = [str(GUNICORN), "mwms_site.wsgi:application", "--chdir", str(root), "--bind", f"{HOST}:{port}",
               "--workers", str(workers), "--threads", str(threads), "--log-level", "warning", "--backlog", "256"]
    return subprocess.Popen(command, cwd=root, env=env, start_new_session=True)


def stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Client:
    """A minimal HTTP/1.1 client for one token, over a plain socket.

    The load generator shares the two cores with gunicorn and PostgreSQL, so it should take as
    little of them as it can (load tools such as wrk are written in C for this reason); http.client
    cost twice as much CPU per call as this. Every answer is still read whole: status line, headers,
    and the JSON body parsed. Without keep_alive every call opens and closes its own connection
    (gunicorn's sync workers close each connection anyway); with it each thread keeps one open, as
    an executor with an HTTP session would.
    """

    keep_alive = False

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = f"Host: {HOST}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        self.local = threading.local()

    def _connection(self) -> tuple[socket.socket, io.BufferedReader]:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            sock = socket.create_connection((HOST, self.port), timeout=60)
            conn = (sock, sock.makefile("rb"))
            if self.keep_alive:
                self.local.conn = conn
        return conn

    def _close(self, conn: tuple[socket.socket, io.BufferedReader]) -> None:
        conn[1].close()
        conn[0].close()
        self.local.conn = None

    def call(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        payload = b"" if body is None else json.dumps(body).encode()
        closing = "" if self.keep_alive else "Connection: close\r\n"
        head = f"{method} /api/v1{path} HTTP/1.1\r\n{self.headers}{closing}Content-Length: {len(payload)}\r\n\r\n"
        conn = self._connection()
        try:
            conn[0].sendall(head.encode() + payload)
            status, headers, raw = read_response(conn[1])
        except Exception:
            self._close(conn)
            raise
        if not self.keep_alive or headers.get("connection", "").lower() == "close":
            self._close(conn)
        return status, (json.loads(raw) if raw else None)


def read_response(stream: io.BufferedReader) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response: its status, headers (lower-cased names) and body."""
    status_line = stream.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection without answering")
    status = int(status_line.split()[1])
    headers = {}
    while (line := stream.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = stream.read(int(headers["content-length"]))
    else:
        body = b"" if status in (204, 304) else stream.read()
    return status, headers, body


def wait_until_up(port: int, token: str, deadline: float = 30.0) -> None:
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        try:
            status, _ = Client(port, token).call("GET", "/requests?limit=1")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within 30 s")


def run_threads(count: int, work) -> tuple[float, list[float], list]:
    """Run work(i) in `count` threads; return the wall time, every call's latency and the results."""
    latencies: list[float] = []
    results: list = []
    lock = threading.Lock()

    def runner(i: int) -> None:
        mine_lat, mine_res = work(i)
        with lock:
            latencies.extend(mine_lat)
            results.extend(mine_res)

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, latencies, results


REQUEST_BODY = {
    "destination_brain": "affiliate",
    "request_type": "offer_review_request",
    "request_title": "Bench: review an offer",
    "request_summary": "A benchmark request: review this offer against the research signal.",
    "source_origin": "research_signal",
    "priority": "medium",
}


def bench_create(port: int, token: str, total: int, threads: int) -> tuple[float, list[float], list]:
    per_thread = [total // threads + (1 if i < total % threads else 0) for i in range(threads)]

    def work(i: int):
        client, lat, ids = Client(port, token), [], []
        for _ in range(per_thread[i]):
            t0 = time.perf_counter()
            status, body = client.call("POST", "/requests", REQUEST_BODY)
            lat.append(time.perf_counter() - t0)
            if status != 201:
                raise SystemExit(f"POST /requests answered {status}: {body}")
            ids.append(body["request_id"])
        return lat, ids

    return run_threads(threads, work)


def prepare_queue(port: int, tokens: dict[str, str], total: int, threads: int) -> tuple[float, int]:
    """One routed request, then `total` tasks under it, created through the API."""
    research, head_office, affiliate = (Client(port, tokens[k]) for k in ("research", "headoffice", "affiliate"))
    status, created = research.call("POST", "/requests", REQUEST_BODY)
    assert status == 201, created
    request_id = created["request_id"]
    status, body = head_office.call("POST", f"/requests/{request_id}/transition",
                                    {"to_status": "routed", "review_owner": "headoffice"})
    assert status == 200, body
    per_thread = [total // threads + (1 if i < total % threads else 0) for i in range(threads)]

    def work(i: int):
        lat = []
        for n in range(per_thread[i]):
            t0 = time.perf_counter()
            status, body = affiliate.call("POST", f"/requests/{request_id}/tasks",
                                          {"task_type": "offer_review_task", "title": f"Bench task {i}-{n}"})
            lat.append(time.perf_counter() - t0)
            if status != 201:
                raise SystemExit(f"POST /requests/{{id}}/tasks answered {status}: {body}")
        return lat, []

    seconds, _, _ = run_threads(threads, work)
    return seconds, total


def bench_claim(port: int, executor_tokens: list[str]) -> tuple[float, list[float], list]:
    def work(i: int):
        client, lat, claimed = Client(port, executor_tokens[i]), [], []
        while True:
            t0 = time.perf_counter()
            status, body = client.call("POST", "/tasks/claim")
            lat.append(time.perf_counter() - t0)
            if status == 204:
                return lat, claimed
            if status != 200:
                raise SystemExit(f"POST /tasks/claim answered {status}: {body}")
            claimed.append(body["task_id"])

    return run_threads(len(executor_tokens), work)


# --- the bare PostgreSQL limit (--bare) --------------------------------------------------------------

BARE_TABLES = """
DROP TABLE IF EXISTS bench_bare_rows, bench_bare_queue;
CREATE TABLE bench_bare_rows (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), tenant_id uuid NOT NULL,
    title text NOT NULL, summary text NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE bench_bare_queue (id bigserial PRIMARY KEY, status text NOT NULL DEFAULT 'queued', claimed_by int);
"""


def bench_bare_commits(conninfo: str, total: int, threads: int) -> tuple[float, list[float], list]:
    """Single-row INSERT commits, one connection per thread, as fast as PostgreSQL takes them."""
    per_thread = [total // threads + (1 if i < total % threads else 0) for i in range(threads)]
    tenant = "00000000-0000-0000-0000-000000000001"

    def work(i: int):
        lat, ids = [], []
        with psycopg.connect(conninfo, autocommit=True) as conn:
            for _ in range(per_thread[i]):
                t0 = time.perf_counter()
                ids.append(conn.execute(
                    "INSERT INTO bench_bare_rows (tenant_id, title, summary, status) VALUES (%s, %s, %s, 'new') "
                    "RETURNING id", [tenant, REQUEST_BODY["request_title"], REQUEST_BODY["request_summary"]],
                ).fetchone()[0])
                lat.append(time.perf_counter() - t0)
        return lat, ids

    return run_threads(threads, work)


def bench_bare_claims(conninfo: str, total: int, threads: int) -> tuple[float, list[float], list]:
    """SKIP LOCKED claims of a queue of `total` rows, one connection per thread, until it is empty."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("INSERT INTO bench_bare_queue (status) SELECT 'queued' FROM generate_series(1, %s)", [total])
        conn.execute("VACUUM ANALYZE bench_bare_queue")

    def work(i: int):
        lat, claimed = [], []
        with psycopg.connect(conninfo, autocommit=True) as conn:
            while True:
                t0 = time.perf_counter()
                got = conn.execute(
                    "UPDATE bench_bare_queue SET status = 'claimed', claimed_by = %s WHERE id = ("
                    "SELECT id FROM bench_bare_queue WHERE status = 'queued' ORDER BY id "
                    "FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING id", [i]).fetchone()
                lat.append(time.perf_counter() - t0)
                if got is None:
                    return lat, claimed
                claimed.append(got[0])

    return run_threads(threads, work)


def bare_limits(args: argparse.Namespace) -> tuple[str, str, float, float]:
    """The two bare rows of the table and their rates per second."""
    conninfo = f"host={HOST} port={args.pg_port} user={args.pg_user} password={args.pg_password} dbname={args.database}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(BARE_TABLES)
    seconds, latencies, ids = bench_bare_commits(conninfo, args.requests, args.threads)
    assert len(set(ids)) == args.requests
    commits = row(f"bare INSERT commit ({args.threads} conns)", len(ids), seconds, latencies)
    commit_rate = len(ids) / seconds
    seconds, latencies, claimed = bench_bare_claims(conninfo, args.tasks, args.executors)
    if len(claimed) != args.tasks or len(set(claimed)) != args.tasks:
        raise SystemExit(f"bare claims: {len(claimed)} ({len(set(claimed))} distinct) of {args.tasks}")
    claims = row(f"bare SKIP LOCKED claim ({args.executors} conns)", len(claimed), seconds, latencies)
    return commits, claims, commit_rate, len(claimed) / seconds


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    ticks = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    return seconds


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(after[pid] - before[pid] for pid in before.keys() & after.keys())


def _pids(name: str, parent: int | None = None) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm, rest = stat.split("(", 1)[1].rsplit(")", 1)
        if comm.startswith(name) and (parent is None or int(rest.split()[1]) == parent):
            pids.append(int(entry.name))
    return pids


class CpuMeter:
    """CPU seconds spent by the gunicorn workers and by all postgres processes during a phase
    (postgres is shared with whatever else runs on the machine, so its figure is an upper bound)."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def __enter__(self) -> "CpuMeter":
        self.workers = _pids("gunicorn", parent=self.server_pid) or _pids("python", parent=self.server_pid)
        self.postgres = _pids("postgres")
        self.start = (_cpu_seconds(self.workers), _cpu_seconds(self.postgres), time.process_time())
        return self

    def __exit__(self, *exc) -> None:
        apps, dbs, client = self.start
        self.app = _spent(apps, _cpu_seconds(self.workers))
        # a backend started during the phase (a new connection) counts from zero
        dbs = {pid: 0.0 for pid in _pids("postgres")} | dbs
        self.db = _spent(dbs, _cpu_seconds(list(dbs)))
        self.client = time.process_time() - client

    def per_call(self, count: int) -> str:
        return (f"CPU per call: app {self.app / count * 1000:.1f} ms, postgres {self.db / count * 1000:.1f} ms, "
                f"bench client {self.client / count * 1000:.1f} ms")


def add_postgres_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pg-user", default=os.environ.get("PGUSER", "mwms"))
    parser.add_argument("--pg-password", default=os.environ.get("PGPASSWORD", "mwms"))
    parser.add_argument("--pg-port", default=os.environ.get("PGPORT", "5432"))


def row(name: str, count: int, seconds: float, latencies: list[float]) -> str:
    ordered = sorted(latencies) or [0.0]
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000
    return f"| {name:<34} | {count:>6} | {seconds:>7.2f} | {count / seconds:>8.1f} | {p50:>7.1f} | {p95:>7.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000, help="requests to create (default 3000)")
    parser.add_argument("--tasks", type=int, default=2000, help="tasks in the claim queue (default 2000)")
    parser.add_argument("--threads", type=int, default=8, help="client threads creating requests (default 8)")
    parser.add_argument("--executors", type=int, default=8, help="executor threads claiming (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--worker-threads", type=int, default=1, help="threads per gunicorn worker (default 1: sync)")
    parser.add_argument("--keep-alive", action="store_true",
                        help="clients keep their connection open (needs --worker-threads > 1: gthread workers)")
    parser.add_argument("--database", default="mwms_bench")
    parser.add_argument("--bare", action="store_true",
                        help="then measure the bare PostgreSQL limit of the same work and print the ratios")
    add_postgres_arguments(parser)
    args = parser.parse_args()
    Client.keep_alive = args.keep_alive

    env = server_env(args)
    print(f"recreating database {args.database} and migrating …", flush=True)
    recreate_database(args)
    manage(env, "migrate", "--no-input")
    tokens = {
        "research": issue_token(env, "research", "brain", "bench-research"),
        "headoffice": issue_token(env, "headoffice", "headoffice", "bench-headoffice"),
        "affiliate": issue_token(env, "affiliate", "brain", "bench-affiliate"),
    }
    executors = [issue_token(env, "affiliate", "executor", f"bench-executor-{i}") for i in range(args.executors)]

    port = free_port()
    print(f"starting gunicorn ({args.workers} workers × {args.worker_threads} thread) on {HOST}:{port} …",
          flush=True)
    server = start_gunicorn(env, port, args.workers, args.worker_threads)
    try:
        wait_until_up(port, tokens["research"])
        with CpuMeter(server.pid) as create_cpu:
            seconds, latencies, ids = bench_create(port, tokens["research"], args.requests, args.threads)
        assert len(set(ids)) == args.requests
        create_row = row(f"POST /requests ({args.threads} threads)", len(ids), seconds, latencies)
        create_rate = len(ids) / seconds

        queue_seconds, queued = prepare_queue(port, tokens, args.tasks, args.threads)
        with CpuMeter(server.pid) as claim_cpu:
            seconds, latencies, claimed = bench_claim(port, executors)
        if len(claimed) != queued or len(set(claimed)) != queued:
            raise SystemExit(f"claimed {len(claimed)} ({len(set(claimed))} distinct) of {queued} tasks")
        claim_row = row(f"POST /tasks/claim ({args.executors} executors)", len(claimed), seconds, latencies)
        claim_rate = len(claimed) / seconds
    finally:
        stop(server)
    bare = bare_limits(args) if args.bare else None

    print()
    print(f"gunicorn {args.workers} workers × {args.worker_threads} thread, PostgreSQL database {args.database}, "
          f"{os.cpu_count()} CPUs (clients on the same machine)")
    print("| what                               |  count | seconds |    per s | p50 ms  | p95 ms  |")
    print("|------------------------------------|--------|---------|----------|---------|---------|")
    print(create_row)
    print(claim_row)
    if bare:
        print(bare[0])
        print(bare[1])
    print(f"POST /requests: {create_cpu.per_call(len(ids))}")
    print(f"POST /tasks/claim: {claim_cpu.per_call(len(claimed))}")
    print(f"(queue set-up: {queued} tasks created through POST /requests/{{id}}/tasks in {queue_seconds:.1f} s, "
          f"{queued / queue_seconds:.0f}/s; every task claimed exactly once)")
    if bare:
        print(f"The API against the bare limit: creations {create_rate:.0f}/{bare[2]:.0f} = {create_rate / bare[2]:.2f}, "
              f"claims {claim_rate:.0f}/{bare[3]:.0f} = {claim_rate / bare[3]:.2f} (aim: 0.33)")


if __name__ == "__main__":
    sys.exit(main())
