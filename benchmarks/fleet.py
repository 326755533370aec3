"""Fleet benchmark: `hygiene scan-all` over N generated organisations against the sandbox with a set latency.

    .venv/bin/python benchmarks/fleet.py --orgs 200 --users 50 --latency-ms 50 --concurrency 16 \
        --out benchmarks/fleet-results.json

Three processes: the sandbox (a generated Microsoft 365 tenant and Google Workspace of ``--users`` users, served
with the latency), ``hygiene scan-all`` over ``--orgs`` configs pointing at it (each its own organisation id, so
each its own scan, lock, reports and history rows), and ``hygiene portfolio`` over the resulting history. Measured:
wall time and organisations a minute, CPU seconds, peak RSS of the scan-all process (getrusage of the child),
requests (the sources' own counts, from every report.json), history size, portfolio time. ``--orgs`` can be a list
(``50,200``) to see whether memory stays flat as the fleet grows. ``--aws`` adds the third platform: a generated
AWS organisation of ``--users`` IAM users served by the AWS sandbox (moto behind the same latency), which every
organisation's config also scans. ``--shards N`` runs N ``scan-all --shard i/N`` processes together (one per core)
instead of one; ``--postgres`` keeps the history on a real PostgreSQL server started for the run (the tests' own,
``tests/pgtest.py``) instead of SQLite.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SEED = 11


def serve(args: argparse.Namespace) -> None:
    """Generate and serve one tenant; write the fleet's configs and ``ready``; stop at a line on stdin."""
    from hygiene.demo import write_demo_config
    from hygiene_sandbox import Sandbox
    from hygiene_sandbox.generator import generate

    work = Path(args.workdir)
    now = datetime.now(UTC)
    scenario = generate(args.users, SEED, now, google=True)
    with contextlib.ExitStack() as stack:
        sandbox = stack.enter_context(Sandbox(scenario, latency_ms=args.latency_ms))
        aws = None
        if args.aws:
            from hygiene_sandbox.aws import AwsSandbox, generate_aws

            aws = stack.enter_context(AwsSandbox(generate_aws(args.users, SEED, now), latency_ms=args.latency_ms))
            environ = {k: v for k, v in aws.environ().items() if k != "AWS_ENDPOINT_URL"}  # the config names it
            (work / "aws-environ.json").write_text(json.dumps(environ))
        configs = work / "configs"
        text = write_demo_config(configs, sandbox, aws=aws).read_text()
        (configs / "northwind.toml").unlink()
        for i in range(max(args.orgs_list)):
            (configs / f"org-{i:04d}.toml").write_text(text.replace('id = "northwind"', f'id = "org-{i:04d}"'))
        (work / "secret").write_text(sandbox.client_secret)
        (work / "ready").write_text("ready")
        sys.stdin.readline()


def _scan_all(
    configs: Path, work: Path, concurrency: int, secret: str, shards: int, database_url: str | None
) -> dict[str, Any]:
    """``scan-all`` over ``configs`` as ``shards`` processes (``--shard i/N``, started together), then ``portfolio``."""
    from hygiene.demo import SECRET_ENV

    env = {**os.environ, SECRET_ENV: secret, "HYGIENE_DATA_DIR": str(work / "data"), "NO_COLOR": "1"}
    aws_environ = work.parent / "aws-environ.json"
    if aws_environ.exists():
        env.update(json.loads(aws_environ.read_text()))
    env.pop("HYGIENE_DATABASE_URL", None)
    if database_url:
        env["HYGIENE_DATABASE_URL"] = database_url
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    base = [sys.executable, "-m", "hygiene.cli", "scan-all", str(configs), "-o", str(work / "reports")]
    # --data-dir would put the history in DIR/history.sqlite3 (it wins over HYGIENE_DATABASE_URL): the locks' folder
    # is HYGIENE_DATA_DIR's either way
    data_dir = [] if database_url else ["--data-dir", str(work / "data")]
    base += [*data_dir, "--concurrency", str(concurrency)]
    commands = [[*base, "--portfolio", str(work / "p0")]] if shards == 1 else []
    commands += [[*base, "--shard", f"{i}/{shards}"] for i in range(shards)] if shards > 1 else []
    procs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for command in commands
    ]
    outputs = [proc.communicate() for proc in procs]
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    for proc, (_, stderr) in zip(procs, outputs, strict=True):
        if proc.returncode not in (0, 1):
            raise SystemExit(f"scan-all exit {proc.returncode}: {stderr[-3000:]}")
    started = time.perf_counter()
    command = [sys.executable, "-m", "hygiene.cli", "portfolio", str(configs), *data_dir]
    subprocess.run(
        [*command, "-o", str(work / "portfolio")],
        env=env,
        capture_output=True,
        check=True,
    )
    portfolio = time.perf_counter() - started
    requests = 0
    orgs = 0
    for report in (work / "reports").glob("*/*/report.json"):
        orgs += 1
        requests += sum(run.get("requests", 0) for run in json.loads(report.read_text())["sources"].values())
    return {
        "organisations": orgs,
        "shards": shards,
        "history": "postgresql" if database_url else "sqlite",
        "wall_s": round(wall, 1),
        "orgs_per_minute": round(60 * orgs / wall, 1),
        "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1),
        "peak_rss_mb": round(after.ru_maxrss / 1024, 1),  # the largest child: one process's peak
        "requests": requests,
        "history_mb": round(_history_bytes(work, database_url) / 2**20, 2),
        "portfolio_s": round(portfolio, 2),
    }


def _history_bytes(work: Path, database_url: str | None) -> int:
    if not database_url:
        return (work / "data" / "history.sqlite3").stat().st_size
    if (work / "data" / "history.sqlite3").exists():
        raise SystemExit("the history went to SQLite, not to the PostgreSQL server")
    import psycopg

    with psycopg.connect(database_url) as conn:  # the history's tables (an empty database is ~7 MB of catalogue)
        row = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public'"
        ).fetchone()
    return int(row[0]) if row else 0


@contextlib.contextmanager
def _postgres(wanted: bool) -> Iterator[Any]:
    """A real PostgreSQL server (the tests' own: Debian's binaries, else the pgserver wheel's), or None."""
    if not wanted:
        yield None
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from pgtest import start_server  # type: ignore[import-not-found]

    server = start_server()
    try:
        yield server
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", default="100", help="organisations, or a comma-separated list of fleet sizes")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--out", default=None)
    parser.add_argument("--aws", action="store_true", help="add a generated AWS organisation to every config")
    parser.add_argument("--shards", type=int, default=1, help="scan-all processes, each --shard i/N, run together")
    parser.add_argument("--postgres", action="store_true", help="the history on a real PostgreSQL server")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.orgs_list = [int(n) for n in str(args.orgs).split(",")]
    if args.serve:
        serve(args)
        return
    work = Path(tempfile.mkdtemp(prefix="hygiene-fleet-bench-"))
    command = [sys.executable, __file__, "--serve", "--workdir", str(work), "--orgs", args.orgs]
    command += ["--users", str(args.users), "--latency-ms", str(args.latency_ms)] + (["--aws"] if args.aws else [])
    sandbox = subprocess.Popen(command, stdin=subprocess.PIPE, text=True)
    rows = []
    database = contextlib.ExitStack()
    try:
        server = database.enter_context(_postgres(args.postgres))
        while not (work / "ready").exists():
            if sandbox.poll() is not None:
                raise SystemExit("the sandbox did not start")
            time.sleep(0.2)
        secret = (work / "secret").read_text()
        all_configs = work / "configs"
        for n in args.orgs_list:
            run = work / f"run-{n}"
            configs = run / "configs"
            configs.mkdir(parents=True)
            for path in all_configs.iterdir():  # the configs, the CA and the Google key
                shutil.copy2(path, configs / path.name)
            for extra in sorted(configs.glob("org-*.toml"))[n:]:
                extra.unlink()
            row = {"users": args.users, "latency_ms": args.latency_ms, "concurrency": args.concurrency, "aws": args.aws}
            url = server.create_database() if server is not None else None
            row.update(_scan_all(configs, run, args.concurrency, secret, args.shards, url))
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        if sandbox.stdin is not None:
            sandbox.stdin.write("\n")
            sandbox.stdin.close()
        sandbox.wait(30)
        database.close()
        shutil.rmtree(work, ignore_errors=True)
    print(
        "| orgs | users | aws | latency | shards × concurrency | history | wall s | orgs/min | CPU s | peak RSS MB | "
        "requests | history MB | portfolio s |"
    )
    print("|" + "---|" * 13)
    for r in rows:
        print(
            f"| {r['organisations']} | {r['users']} | {r['aws']} | {r['latency_ms']} ms | "
            f"{r['shards']} × {r['concurrency']} | {r['history']} | {r['wall_s']} | "
            f"{r['orgs_per_minute']} | {r['cpu_s']} | {r['peak_rss_mb']} | {r['requests']} | {r['history_mb']} | "
            f"{r['portfolio_s']} |"
        )
    if args.out:
        Path(args.out).write_text(json.dumps({"rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
