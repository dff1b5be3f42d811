"""Compare the API's throughput of two checkouts of this project, side by side on one machine.

Not a test. Single runs of api_bench.py vary by a fifth with the host's speed of the moment, which
hides a 10% change. This serves both versions at once (each its own gunicorn with 2 sync workers
and its own scratch database, mwms_compare_a and mwms_compare_b, or --database-prefix's) and alternates short phases
between them — POST /api/v1/requests from 8 threads, then POST /api/v1/tasks/claim from 8
executors — so both see the same host. It prints each version's median and the median of the
paired ratios (candidate / baseline), and the CPU each call cost the version's gunicorn workers and
its own database's PostgreSQL backends: CPU per call moves much less than throughput when other work
shares the machine, so its ratio is the steadier of the two. Run from the project root:

    git worktree add /tmp/baseline main
    .venv/bin/python bench/api_compare.py /tmp/baseline [CANDIDATE_DIR, default: this checkout]
        [--rounds 8] [--phase 800]

Both checkouts run with this project's virtualenv; each is migrated into its own database first.
With `--runtime-role USER:PASSWORD` both run as production does on PostgreSQL: migrated as
--pg-user (DATABASE_OWNER_URL), served as that runtime role (DATABASE_URL), so the figures include
the grants and row-level security; `--candidate-runtime-role` does it for the candidate alone (to
measure what row-level security itself costs), the baseline keeping one role.
"""

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

from api_bench import (
    HOST,
    REQUEST_BODY,
    ROOT,
    Client,
    _cpu_seconds,
    _pids,
    add_postgres_arguments,
    database_url,
    free_port,
    issue_token,
    manage,
    recreate_database,
    server_env,
    start_gunicorn,
    stop,
    wait_until_up,
)

# Made in the checkout's own shell: setting the queue up is not what is measured.
QUEUE_SCRIPT = """
from requests_app.models import BrainRequest
from tasks_app.models import Task
parent = BrainRequest.objects.get(pk="{request_id}")
Task.objects.bulk_create(
    [Task(tenant_id=parent.tenant_id, request=parent, task_type="offer_review_task", assigned_brain_id="affiliate",
          title=f"Compare task {{n}}", priority="medium") for n in range({count})], batch_size=1000)
"""


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class Version:
    """One checkout, served by its own gunicorn on its own database, with a queue of tasks."""

    def __init__(self, name: str, root: Path, args: argparse.Namespace, queue: int,
                 runtime_role: str | None = None) -> None:
        self.name, self.root = name, root
        self.creates: list[float] = []
        self.claims: list[float] = []
        self.cpu: dict[str, list[float]] = {"POST /requests": [], "POST /tasks/claim": []}  # ms per call
        self.database = f"{args.database_prefix}_{name}"
        args = argparse.Namespace(**{**vars(args), "database": self.database})
        served_as = f" served as {runtime_role.split(':')[0]}" if runtime_role else ""
        print(f"{name}: {root} → database {args.database}{served_as} …", flush=True)
        recreate_database(args)
        owner_env = env = server_env(args)
        if runtime_role:
            user, _, password = runtime_role.partition(":")
            runtime = argparse.Namespace(**{**vars(args), "pg_user": user, "pg_password": password})
            env = {**owner_env, "DATABASE_URL": database_url(runtime), "DATABASE_OWNER_URL": database_url(args)}
        manage(env, "migrate", "--no-input", root=root)
        self.port = free_port()
        tokens = {label: issue_token(env, brain, role, f"compare-{label}", root=root) for label, brain, role in (
            ("research", "research", "brain"), ("headoffice", "headoffice", "headoffice"),
            *((f"executor-{i}", "affiliate", "executor") for i in range(8)))}
        self.research = Client(self.port, tokens["research"])
        head_office = Client(self.port, tokens["headoffice"])
        self.executors = [Client(self.port, tokens[f"executor-{i}"]) for i in range(8)]
        self.server = start_gunicorn(env, self.port, workers=2, threads=1, root=root)
        wait_until_up(self.port, tokens["research"])
        status, created = self.research.call("POST", "/requests", REQUEST_BODY)
        assert status == 201, created
        status, routed = head_office.call("POST", f"/requests/{created['request_id']}/transition",
                                          {"to_status": "routed", "review_owner": "headoffice"})
        assert status == 200, routed
        # As the owner: the queue is set-up, and the owner sees every tenant's rows.
        manage(owner_env, "shell", "-c", QUEUE_SCRIPT.format(request_id=created["request_id"], count=queue),
               root=root)

    def phase(self, clients: list[Client], method: str, path: str, body: object, calls: int) -> float:
        """Calls per second for `calls` calls spread over the clients, each in its own thread."""
        expected = {"POST /requests": 201, "POST /tasks/claim": 200}[f"{method} {path}"]
        failures: list[tuple[int, object]] = []

        def run(client: Client) -> None:
            for _ in range(calls // len(clients)):
                status, answer = client.call(method, path, body)
                if status != expected:
                    failures.append((status, answer))

        threads = [threading.Thread(target=run, args=(client,)) for client in clients]
        processes = self.processes()
        cpu_before = _cpu_seconds(processes)
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - start
        cpu_after = _cpu_seconds(processes)
        if failures:
            raise SystemExit(f"{self.name}: {method} {path} answered {failures[0]}")
        done = calls // len(clients) * len(clients)
        spent = sum(cpu_after[pid] - cpu_before[pid] for pid in cpu_before.keys() & cpu_after.keys())
        self.cpu[f"{method} {path}"].append(spent / done * 1000)
        return done / seconds

    def processes(self) -> list[int]:
        """The gunicorn workers, and the PostgreSQL backends connected to this version's database
        (they live as long as the workers' pooled connections, so they exist after the warm-up)."""
        return _pids("gunicorn", parent=self.server.pid) + [
            pid for pid in _pids("postgres") if f" {self.database} " in _command_line(pid)]

    def round(self, calls: int) -> None:
        self.creates.append(self.phase([self.research] * 8, "POST", "/requests", REQUEST_BODY, calls))
        self.claims.append(self.phase(self.executors, "POST", "/tasks/claim", None, calls))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("baseline", type=Path, help="the checkout to compare against")
    parser.add_argument("candidate", type=Path, nargs="?", default=ROOT, help="default: this checkout")
    parser.add_argument("--rounds", type=int, default=8, help="phases per version and call (default 8)")
    parser.add_argument("--phase", type=int, default=800, help="calls per phase (default 800)")
    parser.add_argument("--candidate-runtime-role", metavar="USER:PASSWORD", default=None,
                        help="serve the candidate as this runtime role, migrated as --pg-user (row-level security)")
    parser.add_argument("--runtime-role", metavar="USER:PASSWORD", default=None,
                        help="serve both versions as this runtime role, each migrated as --pg-user")
    parser.add_argument("--database-prefix", default="mwms_compare",
                        help="the scratch databases are PREFIX_a and PREFIX_b (default mwms_compare)")
    add_postgres_arguments(parser)
    args = parser.parse_args()
    for root in (args.baseline, args.candidate):
        if not (root / "manage.py").is_file():
            raise SystemExit(f"{root} is not a checkout of this project (no manage.py)")

    queue = (args.rounds + 1) * args.phase + 100
    versions = [Version("a", args.baseline.resolve(), args, queue, args.runtime_role),
                Version("b", args.candidate.resolve(), args, queue, args.candidate_runtime_role or args.runtime_role)]
    try:
        for version in versions:  # warm both up before measuring
            version.phase([version.research] * 8, "POST", "/requests", REQUEST_BODY, 160)
            version.phase(version.executors, "POST", "/tasks/claim", None, 160)
            version.cpu = {call: [] for call in version.cpu}
        for n in range(args.rounds):
            for version in versions if n % 2 == 0 else versions[::-1]:
                version.round(args.phase)
    finally:
        for version in versions:
            stop(version.server)

    a, b = versions
    print(f"\n{args.rounds} rounds of {args.phase} calls each, gunicorn 2 sync workers per version, {HOST}")
    print("| version | POST /requests per s (median, range) | POST /tasks/claim per s (median, range) |")
    print("|---------|---------------------------------------|------------------------------------------|")
    for version in versions:
        print(f"| {version.name} | {statistics.median(version.creates):.0f} ({min(version.creates):.0f}–"
              f"{max(version.creates):.0f}) | {statistics.median(version.claims):.0f} ({min(version.claims):.0f}–"
              f"{max(version.claims):.0f}) |")
    create_ratio = statistics.median(y / x for x, y in zip(a.creates, b.creates))
    claim_ratio = statistics.median(y / x for x, y in zip(a.claims, b.claims))
    print(f"b / a, median of paired rounds: creations {create_ratio:.3f}, claims {claim_ratio:.3f}")
    print("CPU per call, gunicorn workers + the version's PostgreSQL backends (median ms):")
    for call in a.cpu:
        cpu_ratio = statistics.median(y / x for x, y in zip(a.cpu[call], b.cpu[call]))
        print(f"  {call}: a {statistics.median(a.cpu[call]):.2f}, b {statistics.median(b.cpu[call]):.2f}, "
              f"b / a paired {cpu_ratio:.3f} (above 1: b costs more)")
    print(f"(a = {a.root}, b = {b.root})")


if __name__ == "__main__":
    sys.exit(main())
