"""What a partial scan saves: requests and time of a full scan and of ``hygiene scan --checks`` selections of a
generated organisation (Microsoft 365 and Google) against the sandbox with a set latency.

    .venv/bin/python benchmarks/partial_scan.py --users 2000 --latency-ms 20

Prints one line per selection: requests made, Graph device and backup requests, wall time and results. The
selections are planned as the CLI plans them (``hygiene.selection.plan_scan``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from hygiene.config import load_config
from hygiene.demo import SECRET_ENV, write_demo_config
from hygiene.scan import ScanOptions, load_policy, run_scan
from hygiene.selection import plan_scan
from hygiene_sandbox import Sandbox, generate

SELECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("full scan", ()),
    ("identity: m365.mfa.*, m365.accounts.*", ("m365.mfa.*", "m365.accounts.*")),
    ("one check: m365.mfa.registered", ("m365.mfa.registered",)),
    ("devices: m365.devices.*", ("m365.devices.*",)),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--latency-ms", type=int, default=20)
    args = parser.parse_args()
    scenario = generate(args.users, seed=7, now=datetime.now(UTC))
    with Sandbox(scenario, latency_ms=args.latency_ms) as sandbox, tempfile.TemporaryDirectory() as tmp:
        config = load_config(write_demo_config(Path(tmp) / "cfg", sandbox))
        policy = load_policy(config)
        for number, (label, checks) in enumerate(SELECTIONS):
            plan = plan_scan(policy.registry, config.platforms(), checks=checks)
            options = ScanOptions(
                output_dir=Path(tmp) / str(number),
                environ={SECRET_ENV: sandbox.client_secret},
                plan=plan,
                keep_raw=False,
            )
            sandbox.clear_log()
            started = time.perf_counter()
            outcome = run_scan(config, options)
            elapsed = time.perf_counter() - started
            paths = [r.path for r in sandbox.requests]
            devices = sum("/deviceManagement/" in p for p in paths)
            backup = sum("backupRestore" in p for p in paths)
            print(
                f"{label}: {len(paths)} requests ({devices} device, {backup} backup), {elapsed:.2f} s, "
                f"{len(outcome.report.results)} results"
            )


if __name__ == "__main__":
    main()
