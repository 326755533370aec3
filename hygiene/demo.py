"""`hygiene demo`: start the sandbox, write a config for it, and run a full scan through the real sources."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from hygiene.config import load_config
from hygiene.sandbox import Sandbox, Scenario, northwind
from hygiene.scan import ScanOptions, ScanOutcome, run_scan

SECRET_ENV = "HYGIENE_DEMO_M365_CLIENT_SECRET"


def write_demo_config(folder: Path, sandbox: Sandbox, org_id: str = "northwind", controls: str | None = None) -> Path:
    """A config pointing at the sandbox; the CA is copied beside it so the config outlives the sandbox dir."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca = folder / "sandbox-ca.pem"
    shutil.copyfile(sandbox.ca_file, ca)
    lines = [
        "# Written by `hygiene demo`: a scan of the local sandbox, not of a real tenant.",
        "[organisation]",
        f'id = "{org_id}"',
        f'name = "{sandbox.scenario.organization_name or "Northwind Dental Ltd"}"',
        "",
        "[policy]",
        'profile = "sme-baseline"',
    ]
    if controls is not None:
        (folder / "controls.yaml").write_text(controls, encoding="utf-8")
        lines.append('exceptions = "controls.yaml"')
    lines += [
        "",
        "[sources.m365]",
        f'tenant_id = "{sandbox.tenant_id}"',
        f'client_id = "{sandbox.client_id}"',
        f'client_secret_env = "{SECRET_ENV}"',
        f'authority_host = "{sandbox.authority_host}"',
        f'graph_url = "{sandbox.graph_url}"',
        'ca_bundle = "sandbox-ca.pem"',
        "",
    ]
    if sandbox.scenario.google is not None:
        google = sandbox.google_settings()
        key = folder / "google-service-account.json"
        shutil.copyfile(google["service_account_file"], key)
        key.chmod(0o600)
        lines += [
            "[sources.google]",
            f'service_account_file = "{key.name}"',
            f'delegated_admin = "{google["delegated_admin"]}"',
            f'customer_id = "{google["customer_id"]}"',
            f'api_endpoint = "{google["api_endpoint"]}"',
            'ca_bundle = "sandbox-ca.pem"',
            "",
        ]
    path = folder / "northwind.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run_demo(
    output: Path,
    *,
    latency_ms: int = 0,
    scenario: Scenario | None = None,
    progress: Callable[[str, str], None] | None = None,
) -> ScanOutcome:
    scenario = scenario or northwind(datetime.now(UTC))
    with Sandbox(scenario, latency_ms=latency_ms) as sandbox:
        config = load_config(write_demo_config(output / "demo-config", sandbox))
        return run_scan(
            config,
            ScanOptions(
                output_dir=output,
                operator="hygiene demo",
                environ={SECRET_ENV: sandbox.client_secret},
                progress=progress,
            ),
        )
