"""Benchmarks: full scans of generated organisations against the sandboxes with a set latency.

    .venv/bin/python benchmarks/run.py --sizes 1000,10000,50000 --latency-ms 50 --platforms m365,google,aws \
        --out benchmarks/results.json

For each platform and size, three fresh processes: the sandbox (it generates the organisation, serves it with the
latency, and logs every request), the scan (collect, snapshot, checks, score, reports: what ``hygiene scan`` does,
timed by phase, peak RSS from getrusage) and the offline evaluation (``hygiene evaluate``: load the snapshot, run
the checks and the score). The sandbox lives in its own process so that neither its memory nor its CPU is counted
as the scanner's. ``--profile`` also writes a cProfile of the scan and of the evaluation (``*.pstats``).

Models (minimum requests, critical path): ``benchmarks/models.py`` and ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform as platform_module
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEED = 7
PLATFORMS = ("m365", "google", "aws", "azure")
TOKEN_MARKERS = ("/oauth2/", ".well-known", "/token")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# -- the sandbox process ------------------------------------------------------------------------------------------
def _config_header(name: str) -> list[str]:
    return ["[organisation]", 'id = "bench"', f'name = "{name}"', "", "[policy]", 'profile = "sme-baseline"', ""]


def _time_requests(platform: str) -> list[float]:
    """Wrap the sandbox's request handler to time every answer (the latency it adds included): what the sandbox
    itself spends per request is part of the wall time but not of the critical path."""
    if platform == "aws":
        from hygiene_sandbox.aws import server as module
    else:
        from hygiene_sandbox import server as module  # type: ignore[no-redef]
    durations: list[float] = []
    original = module._Handler._serve

    def timed(self: Any, method: str) -> None:
        started = time.perf_counter()
        try:
            original(self, method)
        finally:
            durations.append(time.perf_counter() - started)

    module._Handler._serve = timed  # type: ignore[method-assign]
    return durations


def _mismatches(expected: dict[str, Any], report_path: Path) -> list[str]:
    """Checks whose status or failing resources differ from what the generator planted (empty: all as planted)."""
    if not report_path.is_file():
        return ["no report.json"]
    results = {r["check_id"]: r for r in json.loads(report_path.read_text(encoding="utf-8"))["results"]}
    problems = []
    for check_id, want in expected.items():
        got = results.get(check_id)
        if got is None:
            problems.append(f"{check_id}: not in the report")
        elif got["status"] != want.status or {f["resource_name"] for f in got["findings"]} != set(want.resources):
            problems.append(f"{check_id}: got {got['status']} with {len(got['findings'])} findings")
    return problems


def serve(args: argparse.Namespace) -> None:
    """Generate, serve, write ``serve.json`` (config, environment, model), wait for a line on stdin, then write
    ``requests.json`` (what the sandbox saw) and stop."""
    sys.path.insert(0, str(HERE))
    from models import aws_model, azure_model, google_model, m365_model

    work = Path(args.workdir)
    now = datetime.now(UTC)
    started = time.perf_counter()
    folder = work / "config"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    environ: dict[str, str] = {}
    durations = _time_requests(args.platform)
    if args.platform == "aws":
        from hygiene_sandbox.aws import AwsSandbox, generate_aws

        aws_scenario = generate_aws(args.size, SEED, now)
        generated = time.perf_counter() - started
        sandbox: Any = AwsSandbox(aws_scenario, latency_ms=args.latency_ms)
        sandbox.start()
        environ = {k: v for k, v in sandbox.environ().items() if k != "AWS_ENDPOINT_URL"}
        lines = [
            *_config_header("Generated AWS organisation"),
            "[sources.aws]",
            f'role_arn = "{sandbox.role_arn}"',
            f'organization_role = "{sandbox.organization_role}"',
            "regions = [" + ", ".join(f'"{r}"' for r in sandbox.regions) + "]",
            f'endpoint_url = "{sandbox.endpoint_url}"',
            "",
        ]
        path = folder / "bench.toml"
        path.write_text("\n".join(lines), encoding="utf-8")
        counts = {
            "users": sum(len(a.users) for a in aws_scenario.accounts),
            "accounts": len(aws_scenario.accounts),
            "instances": sum(len(a.instances) for a in aws_scenario.accounts),
        }
    else:
        from hygiene.demo import SECRET_ENV, write_demo_config
        from hygiene_sandbox import Sandbox, generate
        from hygiene_sandbox.generator_google import generate_google

        if args.platform == "m365":
            scenario = generate(args.size, SEED, now, google=False)
            counts = {"users": len(scenario.users), "devices": len(scenario.managed_devices)}
        elif args.platform == "azure":
            from hygiene_sandbox.generator_azure import generate_azure

            scenario = generate(10, SEED, now, google=False)  # the sandbox needs a tenant; the scan ignores it
            scenario.azure = generate_azure(args.size // 2, SEED, now, scenario.tenant_id)  # ~n VMs + backup items
            tables = scenario.azure.tables
            machines = sum(1 for r in tables["resources"] if "/machines" in r["type"] or "virtualmachines" in r["type"])
            items = sum(1 for r in tables["recoveryservicesresources"] if r["type"].endswith("protecteditems"))
            counts = {"users": machines + items, "machines": machines, "backup items": items}
        else:
            scenario = generate(10, SEED, now, google=False)  # the sandbox needs a tenant; the scan ignores it
            scenario.google = generate_google(2 * args.size, SEED, now)  # about n/2 accounts for n
            g = scenario.google
            counts = {
                "users": len(g.users),
                "devices": len(g.mobile_devices) + len(g.chromeos_devices) + len(g.ci_devices),
            }
        generated = time.perf_counter() - started
        sandbox = Sandbox(scenario, latency_ms=args.latency_ms)
        sandbox.start()
        if args.platform == "m365":
            path = write_demo_config(folder, sandbox, org_id="bench")
            environ = {SECRET_ENV: sandbox.client_secret}
        else:
            path = write_demo_config(folder, sandbox, org_id="bench", m365=False)
    env_file = work / "environ.json"
    env_file.write_text(json.dumps(environ), encoding="utf-8")
    env_file.chmod(0o600)
    (work / "serve.json").write_text(
        json.dumps({"config": str(path), "counts": counts, "generate_s": round(generated, 3)}), encoding="utf-8"
    )
    cpu_started = time.process_time()
    print("ready", flush=True)
    sys.stdin.readline()
    sandbox_cpu_s = time.process_time() - cpu_started  # what answering the scan cost the sandbox, all threads
    try:
        if args.platform == "aws":
            records = sandbox.requests
            auth = [r for r in records if r.service == "sts"]
            api = [r for r in records if r.service != "sts"]
            by = Counter(f"{r.service}:{r.operation}" for r in api)
            model = aws_model(aws_scenario, sandbox.regions, args.latency_ms, workers=args.aws_workers)
        else:
            records = sandbox.requests
            auth = [r for r in records if any(m in r.path for m in TOKEN_MARKERS)]
            api = [r for r in records if not any(m in r.path for m in TOKEN_MARKERS)]
            by = Counter(r.method + " " + r.path.split("?", 1)[0] for r in api)
            if args.platform == "m365":
                model = m365_model(scenario, len(auth))
            elif args.platform == "azure":
                model = azure_model(scenario.azure, len(auth), args.latency_ms)
            else:
                model = google_model(scenario.google, len(auth))
        errors = [list(r) for r in api if r.status >= 400]
        if args.platform == "aws":
            expected = aws_scenario.expected
        elif args.platform == "m365":
            expected = scenario.expected
        elif args.platform == "azure":
            expected = scenario.azure.expected
        else:
            expected = scenario.google.expected
        mismatches = _mismatches(expected, work / "out" / "report.json")
        served_s = sum(durations) / len(durations) if durations else 0.0
        overhead_ms = max(0.0, served_s * 1000 - args.latency_ms)
        per_request_ms = args.latency_ms + overhead_ms
        if args.platform == "aws":  # the credential-report pause does not grow with the sandbox's time
            with_sandbox = aws_model(aws_scenario, sandbox.regions, per_request_ms, workers=args.aws_workers)
            with_sandbox_s = with_sandbox.critical_path_s(per_request_ms)
        elif args.platform == "azure":  # the quota's waits do not grow with the sandbox's time
            with_sandbox_s = azure_model(scenario.azure, len(auth), per_request_ms).critical_path_s(per_request_ms)
        else:
            with_sandbox_s = model.critical_path_s(per_request_ms)
        (work / "requests.json").write_text(
            json.dumps(
                {
                    "api": len(api),
                    "auth": len(auth),
                    "by_endpoint": dict(by.most_common()),
                    "errors": errors[:20],
                    "mismatches": mismatches,
                    "sandbox_ms_per_request": round(overhead_ms, 2),
                    "sandbox_cpu_s": round(sandbox_cpu_s, 3),
                    "critical_path_with_sandbox_s": round(with_sandbox_s, 3),
                    "model": model.as_json(args.latency_ms),
                }
            ),
            encoding="utf-8",
        )
    finally:
        sandbox.stop()


# -- the scan process ---------------------------------------------------------------------------------------------
def scan(args: argparse.Namespace) -> None:
    """What ``hygiene scan`` does (hygiene.scan.run_scan, without the history), phase by phase."""
    import_started = time.perf_counter()
    from hygiene.config import load_config
    from hygiene.engine import evaluate
    from hygiene.policy import load_lifecycle
    from hygiene.reports import write_reports
    from hygiene.scan import ScanOptions, collect, load_policy, new_scan_id
    from hygiene.snapshot_io import save_snapshot

    work = Path(args.workdir)
    environ = json.loads((work / "environ.json").read_text(encoding="utf-8"))
    timings: dict[str, float] = {"imports": time.perf_counter() - import_started}
    rss_before = peak_rss_mb()
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    out = work / "out"
    t0 = time.perf_counter()
    config = load_config(Path(args.config))
    policy = load_policy(config)
    options = ScanOptions(output_dir=out, environ={**os.environ, **environ}, operator="bench")
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    started = datetime.now(UTC)
    t1 = time.perf_counter()
    cpu1 = time.process_time()
    snapshot = collect(config, options)
    t2 = time.perf_counter()
    timings["collect_cpu"] = time.process_time() - cpu1  # every thread of the scan process
    peaks = {"collect": round(peak_rss_mb(), 1)}
    snapshot_path = out / "snapshot.json.gz"
    save_snapshot(snapshot, snapshot_path)
    t3 = time.perf_counter()
    peaks["snapshot"] = round(peak_rss_mb(), 1)
    report = evaluate(
        snapshot,
        policy.registry,
        policy.profile,
        policy.controls,
        load_lifecycle(),
        scan_id=new_scan_id(config.organisation.id, started),
        operator="bench",
        started_at=started,
        finished_at=datetime.now(UTC),
    )
    t4 = time.perf_counter()
    peaks["evaluate"] = round(peak_rss_mb(), 1)
    files = write_reports(report, out, ("json", "html", "csv", "md"))
    t5 = time.perf_counter()
    peaks["reports"] = round(peak_rss_mb(), 1)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(work / "scan.pstats"))
    timings.update(policy=t1 - t0, collect=t2 - t1, snapshot=t3 - t2, evaluate=t4 - t3, reports=t5 - t4, total=t5 - t0)
    run = next(iter(snapshot.sources.values()))
    result = {
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "rss_after_imports_mb": round(rss_before, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "peak_rss_by_phase_mb": peaks,
        "source_status": run.status,
        "source_requests": run.requests,
        "unavailable": sorted(name for name, s in run.datasets.items() if not s.available),
        "sizes": {
            name: path.stat().st_size
            for name, path in {**files, "snapshot": snapshot_path}.items()
            if isinstance(path, Path)
        },
        "score": report.score.value,
        "results": len(report.results),
        "findings": sum(len(r.findings) for r in report.results),
    }
    (work / "scan.json").write_text(json.dumps(result), encoding="utf-8")


# -- the evaluation process ---------------------------------------------------------------------------------------
def evaluate_only(args: argparse.Namespace) -> None:
    """What ``hygiene evaluate SNAPSHOT`` does without writing reports: load, checks, score."""
    from hygiene.engine import evaluate
    from hygiene.policy import ControlsFile, load_lifecycle, load_profile
    from hygiene.registry import Registry
    from hygiene.snapshot_io import load_snapshot

    work = Path(args.workdir)
    profile, registry, lifecycle = load_profile("sme-baseline"), Registry.load([]), load_lifecycle()
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    t0 = time.perf_counter()
    snapshot = load_snapshot(work / "out" / "snapshot.json.gz")
    t1 = time.perf_counter()
    report = evaluate(snapshot, registry, profile, ControlsFile(), lifecycle, scan_id="bench-offline", operator="b")
    t2 = time.perf_counter()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(work / "evaluate.pstats"))
    (work / "evaluate.json").write_text(
        json.dumps(
            {
                "load_s": round(t1 - t0, 3),
                "evaluate_s": round(t2 - t1, 3),
                "peak_rss_mb": round(peak_rss_mb(), 1),
                "results": len(report.results),
            }
        ),
        encoding="utf-8",
    )


# -- the driver ---------------------------------------------------------------------------------------------------
def _child(role: str, args: argparse.Namespace, work: Path, *extra: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), role, "--workdir", str(work), *extra]


def run_one(platform: str, size: int, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    work = root / f"{platform}-{size}"
    work.mkdir(parents=True, exist_ok=True, mode=0o700)
    flags = ["--profile"] if args.profile else []
    serve_cmd = _child(
        "_serve",
        args,
        work,
        "--platform",
        platform,
        "--size",
        str(size),
        "--latency-ms",
        str(args.latency_ms),
        "--aws-workers",
        str(args.aws_workers),
    )
    server = subprocess.Popen(serve_cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdin is not None
        line = server.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"{platform} {size}: the sandbox did not start")
        served = json.loads((work / "serve.json").read_text())
        wall_started = time.perf_counter()
        subprocess.run(_child("_scan", args, work, "--config", served["config"], *flags), check=True)
        wall = time.perf_counter() - wall_started
        server.stdin.write("done\n")
        server.stdin.flush()
        server.wait(timeout=120)
    finally:
        if server.poll() is None:
            server.kill()
    subprocess.run(_child("_evaluate", args, work, *flags), check=True)
    scanned = json.loads((work / "scan.json").read_text())
    requests = json.loads((work / "requests.json").read_text())
    evaluated = json.loads((work / "evaluate.json").read_text())
    model = requests["model"]
    collect_s = scanned["timings"]["collect"]
    return {
        "platform": platform,
        "size": size,
        "counts": served["counts"],
        "generate_s": served["generate_s"],
        "requests": requests["api"],
        "auth_requests": requests["auth"],
        "mismatches": requests["mismatches"],
        "minimum_requests": model["minimum_total"],
        "request_ratio": round(requests["api"] / model["minimum_total"], 3),
        "collect_s": collect_s,
        "critical_path_s": model["critical_path_s"],
        "wall_ratio": round(collect_s / model["critical_path_s"], 3) if model["critical_path_s"] else None,
        "ideal_path_s": model["ideal_path_s"],
        # the critical path when every request also costs what the sandbox spends answering it
        "sandbox_ms_per_request": requests["sandbox_ms_per_request"],
        "critical_path_with_sandbox_s": requests["critical_path_with_sandbox_s"],
        # CPU seconds spent while collecting, by the scanner and by the sandbox; on a machine of N cores the
        # collection cannot take less than (scanner + sandbox CPU) / N, whatever the latency
        "collect_cpu_s": scanned["timings"]["collect_cpu"],
        "sandbox_cpu_s": requests["sandbox_cpu_s"],
        "cpu_floor_s": round(
            (scanned["timings"]["collect_cpu"] + requests["sandbox_cpu_s"]) / (os.cpu_count() or 1), 3
        ),
        "scan_total_s": scanned["timings"]["total"],
        "process_wall_s": round(wall, 3),
        "peak_rss_mb": scanned["peak_rss_mb"],
        "evaluate_s": evaluated["evaluate_s"],
        "load_snapshot_s": evaluated["load_s"],
        "evaluate_peak_rss_mb": evaluated["peak_rss_mb"],
        "html_bytes": scanned["sizes"].get("html", 0),
        "json_bytes": scanned["sizes"].get("json", 0),
        "snapshot_bytes": scanned["sizes"].get("snapshot", 0),
        "scan": scanned,
        "request_log": requests,
    }


def table(rows: list[dict[str, Any]], latency_ms: float) -> str:
    head = (
        "| platform | users | requests (minimum) | ratio | collect s | critical path s | ratio "
        "| critical path + sandbox s | ratio | CPU s scan + sandbox (floor) | scan total s | peak RSS MB "
        "| evaluate s (+ load) | HTML MB | JSON MB |"
    )
    lines = [head, "|" + "---|" * 15]
    for r in rows:
        with_sandbox = r["critical_path_with_sandbox_s"]
        lines.append(
            f"| {r['platform']} | {r['counts']['users']:,} | {r['requests']} ({r['minimum_requests']}) "
            f"| {r['request_ratio']:.2f} | {r['collect_s']:.2f} | {r['critical_path_s']:.2f} | {r['wall_ratio']:.2f} "
            f"| {with_sandbox:.2f} | {r['collect_s'] / with_sandbox:.2f} "
            f"| {r['collect_cpu_s']:.2f} + {r['sandbox_cpu_s']:.2f} ({r['cpu_floor_s']:.2f}) | {r['scan_total_s']:.2f} "
            f"| {r['peak_rss_mb']:.0f} | {r['evaluate_s']:.2f} (+ {r['load_snapshot_s']:.2f}) "
            f"| {r['html_bytes'] / 1e6:.2f} | {r['json_bytes'] / 1e6:.2f} |"
        )
    notes = [f"latency {latency_ms:g} ms per request; token requests are not counted in requests"]
    wrong = [f"{r['platform']} {r['size']}: {'; '.join(r['mismatches'])}" for r in rows if r["mismatches"]]
    notes.append(
        "results differ from the planted defects: " + " | ".join(wrong)
        if wrong
        else "every run's results match the planted defects"
    )
    return "\n".join(lines) + "\n\n" + "\n".join(notes)


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal"))
        ram_gb = round(int(mem.split()[1]) / 1024 / 1024, 1)
    except (OSError, StopIteration):
        ram_gb = 0.0
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": ram_gb,
        "python": platform_module.python_version(),
        "os": platform_module.platform(),
        "load_average": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="role")
    for role in ("_serve", "_scan", "_evaluate"):
        child = sub.add_parser(role)
        child.add_argument("--workdir", required=True)
        child.add_argument("--profile", action="store_true")
        if role == "_serve":
            child.add_argument("--platform", choices=PLATFORMS, required=True)
            child.add_argument("--size", type=int, required=True)
            child.add_argument("--latency-ms", type=float, default=50)
            child.add_argument("--aws-workers", type=int, default=8)
        if role == "_scan":
            child.add_argument("--config", required=True)
    parser.add_argument("--sizes", default="1000,10000,50000", help="users per platform, comma-separated")
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--platforms", default=",".join(PLATFORMS))
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    parser.add_argument("--keep", type=Path, default=None, help="keep the work folders (reports, profiles) here")
    parser.add_argument("--profile", action="store_true", help="cProfile the scan and the evaluation")
    parser.add_argument("--aws-workers", type=int, default=8, help="the AWS source's max_workers (config default)")
    args = parser.parse_args()
    if args.role is not None:
        from hygiene.logsetup import configure

        configure("warning")  # as `hygiene scan` logs by default, minus the progress lines
    if args.role == "_serve":
        return serve(args)
    if args.role == "_scan":
        return scan(args)
    if args.role == "_evaluate":
        return evaluate_only(args)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    platforms = [p for p in args.platforms.split(",") if p]
    root = args.keep or Path(tempfile.mkdtemp(prefix="hygiene-bench-"))
    rows = []
    try:
        for size in sizes:
            for platform in platforms:
                print(f"{platform} {size:,} users ...", file=sys.stderr, flush=True)
                rows.append(run_one(platform, size, args, root))
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print(table(rows, args.latency_ms))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"machine": machine(), "latency_ms": args.latency_ms, "seed": SEED, "rows": rows}
        args.out.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
