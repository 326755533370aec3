"""`hygiene demo`: start the sandboxes, write a config for them, and run a full scan through the real sources.

Microsoft 365 and Google Workspace are served by one local HTTPS server; AWS by a second local endpoint (moto
for what it implements, the rest served by the sandbox). The AWS part needs moto, an optional extra.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hygiene.atomic import atomic_write, private_dir
from hygiene.config import load_config
from hygiene.errors import HygieneError
from hygiene.history.store import HISTORY_FILE
from hygiene.scan import ScanOptions, ScanOutcome, run_scan
from hygiene.sources.interface import ReadProgress

SANDBOX_MISSING = (
    "the demo scans local fakes of the vendors, which are not installed: pip install 'hygiene[demo]' "
    "(make demo does this)"
)
try:
    from hygiene_sandbox import Sandbox, Scenario, northwind
    from hygiene_sandbox.northwind_demo import accepted_risk, tidy_aws, tidy_northwind
except ModuleNotFoundError as exc:  # the scanner's wheel does not carry the sandbox; hygiene[demo] adds it
    if exc.name != "hygiene_sandbox":
        raise
    raise HygieneError(SANDBOX_MISSING) from None

if TYPE_CHECKING:
    from hygiene_sandbox.aws import AwsSandbox, AwsScenario

SECRET_ENV = "HYGIENE_DEMO_M365_CLIENT_SECRET"
MOTO_MISSING = (
    "the AWS part of the sandbox needs moto: install it with  pip install 'hygiene[demo]'  "
    "(make demo does this), or run  hygiene demo --no-aws"
)


def toml_string(value: str) -> str:
    """``value`` as a TOML basic string: quotes, backslashes and control characters escaped, lone surrogates
    (which TOML cannot carry) replaced by U+FFFD. The organisation name comes from the tenant: vendor text."""
    cleaned = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
    return json.dumps(cleaned, ensure_ascii=False).replace("\x7f", "\\u007f")


def write_demo_config(
    folder: Path,
    sandbox: Sandbox,
    org_id: str = "northwind",
    controls: str | None = None,
    aws: AwsSandbox | None = None,
    m365: bool = True,
) -> Path:
    """A config pointing at the sandboxes; CA and key are copied beside it so the config outlives the sandbox.
    ``m365=False`` leaves Microsoft 365 out (a Google-only config when the scenario has a Google side)."""
    private_dir(folder)
    ca = folder / "sandbox-ca.pem"
    shutil.copyfile(sandbox.ca_file, ca)
    lines = [
        "# Written by `hygiene demo`: a scan of the local sandbox, not of a real tenant.",
        "[organisation]",
        f'id = "{org_id}"',
        f"name = {toml_string(sandbox.scenario.organization_name or 'Northwind Dental Ltd')}",
        "",
        "[policy]",
        'profile = "sme-baseline"',
    ]
    if controls is not None:
        (folder / "controls.yaml").write_text(controls, encoding="utf-8")
        lines.append('exceptions = "controls.yaml"')
    lines.append("")
    if m365:
        lines += [
            "[sources.m365]",
            f'tenant_id = "{sandbox.tenant_id}"',
            f'client_id = "{sandbox.client_id}"',
            f'client_secret_env = "{SECRET_ENV}"',
            f'authority_host = "{sandbox.authority_host}"',
            f'graph_url = "{sandbox.graph_url}"',
            f'defender_url = "{sandbox.defender_url}"',
            'ca_bundle = "sandbox-ca.pem"',
        ]
        if sandbox.scenario.break_glass:
            lines.append("break_glass = [" + ", ".join(toml_string(u) for u in sandbox.scenario.break_glass) + "]")
        lines.append("")
    if sandbox.scenario.google is not None:
        google = sandbox.google_settings()
        key = folder / "google-service-account.json"
        atomic_write(key, Path(google["service_account_file"]).read_bytes())  # a secret: 0600 from the start
        lines += [
            "[sources.google]",
            f'service_account_file = "{key.name}"',
            f'delegated_admin = "{google["delegated_admin"]}"',
            f'customer_id = "{google["customer_id"]}"',
            f'api_endpoint = "{google["api_endpoint"]}"',
            'ca_bundle = "sandbox-ca.pem"',
            "",
        ]
    azure = sandbox.scenario.azure
    if azure is not None:
        certificate = folder / "azure-app.pem"
        shutil.copyfile(sandbox.client_certificate_pem_path, certificate)
        certificate.chmod(0o600)
        lines += [
            "[sources.azure]",
            f'tenant_id = "{sandbox.tenant_id}"',
            f'client_id = "{sandbox.client_id}"',
            f'certificate_file = "{certificate.name}"',
            f'authority_host = "{sandbox.authority_host}"',
            f'management_url = "{sandbox.base_url}"',
            'ca_bundle = "sandbox-ca.pem"',
            "",
        ]
    if aws is not None:
        lines += [
            "[sources.aws]",
            f'role_arn = "{aws.role_arn}"',
            f'organization_role = "{aws.organization_role}"',
            "# no regions: each account's enabled regions are discovered (ec2:DescribeRegions)",
            f'endpoint_url = "{aws.endpoint_url}"',
            "",
        ]
    if sandbox.dns is not None:
        lines += [
            "[dns]",
            "# the sandbox's resolver: it serves the demo domains' SPF, DMARC and DKIM records",
            f'nameservers = ["{sandbox.dns.host}"]',
            f"port = {sandbox.dns.port}",
            "",
        ]
    path = folder / "northwind.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@contextlib.contextmanager
def aws_sandbox(
    scenario: AwsScenario | None, now: datetime, latency_ms: int = 0, tidy: bool = False
) -> Iterator[AwsSandbox]:
    """The AWS fake serving ``scenario``, else Northwind's AWS estate (the demo's, tidied, with ``tidy``)."""
    try:
        from hygiene_sandbox.aws import AwsSandbox, northwind_aws
    except ImportError as exc:
        if "moto" in str(exc) or "flask" in str(exc).lower() or "werkzeug" in str(exc):
            raise HygieneError(MOTO_MISSING) from None
        raise
    if scenario is None:
        scenario = tidy_aws(northwind_aws(now)) if tidy else northwind_aws(now)
    with AwsSandbox(scenario, latency_ms=latency_ms) as sandbox:
        yield sandbox


def _scan_sandbox(
    scenario: Scenario,
    aws: AwsSandbox | None,
    output: Path,
    latency_ms: int,
    history: Path,
    watch: Watch,
    controls: str | None = None,
) -> ScanOutcome:
    step = watch.say
    fakes = "Microsoft 365 and Google Workspace" if scenario.google is not None else "Microsoft 365"
    step(f"starting the local {fakes} fakes (HTTPS on 127.0.0.1)…")
    with Sandbox(scenario, latency_ms=latency_ms) as sandbox:
        environ: dict[str, Any] = {SECRET_ENV: sandbox.client_secret}
        if aws is not None:
            environ.update({k: v for k, v in aws.environ().items() if k != "AWS_ENDPOINT_URL"})
        config = load_config(write_demo_config(output / "demo-config", sandbox, controls=controls, aws=aws))
        step(f"scanning {config.organisation.name} through the real sources…")
        return run_scan(
            config,
            ScanOptions(
                output_dir=output,
                operator="hygiene demo",
                environ=environ,
                progress=watch.progress,
                reading=watch.reading,
                history=history,
            ),
        )


def run_demo(
    output: Path,
    *,
    latency_ms: int = 0,
    scenario: Scenario | None = None,
    with_aws: bool = True,
    aws_scenario: AwsScenario | None = None,
    progress: Callable[[str, str], None] | None = None,
    show_drift: bool = False,
    step: Callable[[str], None] | None = None,
    reading: ReadProgress | None = None,
    tidy: bool = False,
) -> ScanOutcome:
    """Scan the sandbox into ``output``. With ``show_drift`` (the CLI's demo), first scan an earlier state of
    Northwind — Microsoft 365 Backup still on — into ``output/earlier-scan``, so the report's "Change over time"
    section shows what broke since. ``step`` is told each stage as a sentence ("starting the local AWS fake…"),
    ``progress`` each platform read and ``reading`` each response and dataset, as in a scan. ``tidy`` (the CLI's
    demo): Northwind a few months into tidying up, with one accepted risk (``hygiene_sandbox.northwind_demo``),
    instead of the test organisation that fails every check."""
    say = step or (lambda _: None)
    now = datetime.now(UTC)
    history = output / HISTORY_FILE  # the demo's own history, never the user's data folder
    watch = Watch(progress, reading, say)
    controls = accepted_risk(now) if tidy else None
    with contextlib.ExitStack() as stack:
        aws = None
        if with_aws:
            say("starting the local AWS fake (moto) and creating Northwind's accounts in it…")
            aws = stack.enter_context(aws_sandbox(aws_scenario, now, latency_ms, tidy=tidy))
        if show_drift and scenario is None:
            say("first, Northwind as it was before Microsoft 365 Backup was turned off (for the change over time):")
            earlier = northwind(now, backup="enabled")
            _scan_sandbox(_tidy(earlier, tidy), aws, output / "earlier-scan", latency_ms, history, watch, controls)
            say("then Northwind as it is now:")
        current = scenario or _tidy(northwind(now), tidy)
        return _scan_sandbox(current, aws, output, latency_ms, history, watch, controls)


def _tidy(scenario: Scenario, tidy: bool) -> Scenario:
    return tidy_northwind(scenario) if tidy else scenario


@dataclass(frozen=True)
class Watch:
    """Who is told what while the demo runs: each platform read, each response and dataset, each stage."""

    progress: Callable[[str, str], None] | None
    reading: ReadProgress | None
    say: Callable[[str], None]
