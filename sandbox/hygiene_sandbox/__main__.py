"""Run the Northwind sandbox until Ctrl-C: ``python -m hygiene_sandbox [--state-dir DIR] [--port N]``.

Prints what a scanner needs to connect. The client secret is written to a 0600 file, never printed.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from hygiene_sandbox.chaos import parse_spec
from hygiene_sandbox.google import API_SERVICES
from hygiene_sandbox.northwind import northwind
from hygiene_sandbox.northwind_leeds import northwind_leeds
from hygiene_sandbox.server import Sandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hygiene_sandbox", description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=Path(".hygiene-sandbox"), help="where ca.pem etc. go")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--no-p1", action="store_true", help="a tenant without Entra ID P1")
    parser.add_argument("--no-google", action="store_true", help="leave out the Google Workspace office (Leeds)")
    parser.add_argument(
        "--google-disabled-api",
        action="append",
        default=[],
        choices=sorted(API_SERVICES),
        help="leave this API disabled in the service account's Cloud project (Google answers 403 SERVICE_DISABLED)",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--throttle-every", type=int, default=0)
    parser.add_argument(
        "--chaos",
        metavar="SPEC",
        help="inject faults, e.g. 'rate=0.1,seed=3' or 'persistent=GET /v1.0/users:unavailable' "
        "(see hygiene_sandbox.chaos)",
    )
    args = parser.parse_args(argv)
    try:
        chaos = parse_spec(args.chaos) if args.chaos else None
    except ValueError as exc:
        parser.error(str(exc))

    scenario = northwind(premium=not args.no_p1, google=not args.no_google)
    if scenario.google is not None and args.google_disabled_api:
        scenario.google = northwind_leeds(scenario.now, disabled_apis=frozenset(args.google_disabled_api))
    sandbox = Sandbox(
        scenario,
        state_dir=args.state_dir,
        port=args.port,
        latency_ms=args.latency_ms,
        throttle_every=args.throttle_every,
        chaos=chaos,
    )
    sandbox.start()
    secret_file = args.state_dir / "client-secret"
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(scenario.client_secret)
    os.chmod(secret_file, 0o600)
    print(f"Northwind Dental Ltd sandbox ({scenario.name}) is running")
    print(f"  base URL (authority host and Graph): {sandbox.base_url}")
    print(f"  tenant id:   {sandbox.tenant_id}")
    print(f"  client id:   {sandbox.client_id}")
    print(f"  CA bundle:   {sandbox.ca_file}")
    print(f"  secret file: {secret_file} (mode 0600)")
    print(f"  certificate: {sandbox.client_certificate_pem_path} (key + certificate, mode 0600)")
    if scenario.google is not None:
        google = sandbox.google_settings()
        print("Google Workspace (Leeds office):")
        print(f"  api_endpoint:         {google['api_endpoint']}")
        print(f"  delegated admin:      {google['delegated_admin']}")
        print(f"  customer id:          {google['customer_id']}")
        print(f"  service account file: {google['service_account_file']} (mode 0600, token_uri: the sandbox)")
    if sandbox.dns is not None:
        print(f'DNS (email authentication): [dns] nameservers = ["{sandbox.dns.host}"], port = {sandbox.dns.port}')
    print("Press Ctrl-C to stop.")
    sys.stdout.flush()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
        secret_file.unlink(missing_ok=True)
        print(f"stopped; {sandbox.request_count} requests served, {len(sandbox.refused_writes)} writes refused")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
