"""The ``hygiene`` command line. Exit codes: 0 done, 1 failures at/above --fail-on, 2 usage or input error,
3 scan incomplete (a source or dataset could not be read, or a check errored). 3 wins over 1."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from hygiene import __version__
from hygiene.config import load_config
from hygiene.errors import one_line_errors
from hygiene.logsetup import configure
from hygiene.reports import DEFAULT_FORMATS, FORMATS
from hygiene.results import ScanReport, Status
from hygiene.safetext import inert
from hygiene.sources.platforms import names as platform_names
from hygiene.taxonomy import SEVERITIES

EXIT_OK, EXIT_FAILURES, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _formats(value: str) -> list[str]:
    chosen = [f.strip().lower() for f in value.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise click.BadParameter(f"choose from {', '.join(FORMATS)} (comma-separated); got {value!r}")
    return chosen


def _exit_code(report: ScanReport, fail_on: str | None) -> int:
    if not report.complete:
        return EXIT_INCOMPLETE
    if fail_on:
        floor = SEVERITIES.index(fail_on)
        for result in report.results:
            if result.status is Status.FAIL and SEVERITIES.index(result.severity) <= floor:
                return EXIT_FAILURES
    return EXIT_OK


def _print_summary(report: ScanReport, files: dict[str, Path]) -> None:
    score = report.score
    out.print(
        f"[bold]{escape(inert(report.organisation_name))}[/bold] - score [bold]{score.value:.0f}/100[/bold], grade "
        f"[bold]{score.grade}[/bold], {score.coverage:.0%} of checks assessed ({escape(inert(report.profile.title))})"
    )
    for cap in score.caps:
        out.print(Text(f"  grade capped: {inert(cap)}"))
    table = Table(show_header=True, header_style="bold")
    for column in ("status", "severity", "check", "result"):
        table.add_column(column)
    order = {Status.FAIL: 0, Status.ERROR: 1, Status.NOT_ASSESSED: 2, Status.ACCEPTED: 3, Status.PASS: 4}
    colours = {
        Status.FAIL: "red",
        Status.ERROR: "magenta",
        Status.NOT_ASSESSED: "yellow",
        Status.ACCEPTED: "cyan",
        Status.PASS: "green",
    }
    for result in sorted(report.results, key=lambda r: (order[r.status], SEVERITIES.index(r.severity), r.check_id)):
        table.add_row(
            Text(result.status.value, style=colours[result.status]),
            result.severity,
            Text(inert(result.check_id)),
            # the reason names tenant resources (users, devices, policies): never markup, never a control code
            Text(inert(result.reason)),
        )
    out.print(table)
    for kind, path in files.items():
        out.print(Text(f"{kind}: {inert(path)}"))
    if not report.complete:
        err.print("[yellow]scan incomplete: some data could not be read (see the report's method section)[/yellow]")


_guard = one_line_errors


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hygiene")
@click.option(
    "--log-level",
    default=lambda: os.environ.get("HYGIENE_LOG_LEVEL", "warning"),
    show_default="warning",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
)
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="JSON-lines log file (default: hygiene.log in the output folder of a scan).",
)
@click.pass_context
def main(ctx: click.Context, log_level: str, log_file: Path | None) -> None:
    """hygiene: is MFA really on, which accounts are stale, are backups happening, are devices patched?"""
    ctx.ensure_object(dict)
    ctx.obj["log_level"] = log_level
    ctx.obj["log_file"] = log_file
    configure(log_level, log_file)


def _scan_progress(platform: str, phase: str) -> None:
    if err.is_terminal:
        err.print(f"[dim]{'reading' if phase == 'start' else 'read'} {platform}…[/dim]")


@main.command()
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the reports (default: hygiene-output/ORG/SCAN_ID).",
)
@click.option(
    "--format",
    "formats",
    default=None,
    callback=lambda c, p, v: None if v is None else _formats(v),
    help=f"Comma-separated, from {', '.join(FORMATS)} (default: the config's [reports] formats, else "
    f"{','.join(DEFAULT_FORMATS)}); ocsf writes findings.ocsf.jsonl (OCSF Compliance Findings).",
)
@click.option("--profile", default=None, help="Override the config's policy profile (name or YAML path).")
@click.option(
    "--fail-on",
    type=click.Choice(SEVERITIES),
    default=None,
    help="Exit 1 when a check of this severity or higher fails.",
)
@click.option(
    "--checks-dir",
    "checks_dirs",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Extra folder of check modules (repeatable).",
)
@click.option("--operator", default=None, help="Who ran the scan, for the report (default: user@host).")
@click.option("--no-raw", is_flag=True, help="Do not keep raw vendor responses beside the report.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Record the scan in DIR/history.sqlite3 (default: HYGIENE_DATABASE_URL, else the platform data folder).",
)
@click.option("--no-history", is_flag=True, help="Do not record the scan in the history.")
@click.pass_context
@_guard
def scan(
    ctx: click.Context,
    config_path: Path,
    output: Path | None,
    formats: list[str] | None,
    profile: str | None,
    fail_on: str | None,
    checks_dirs: tuple[Path, ...],
    operator: str | None,
    no_raw: bool,
    data_dir: Path | None,
    no_history: bool,
) -> None:
    """Scan the organisation described by CONFIG, write reports and record the scan in the history."""
    from hygiene.history import history_url
    from hygiene.scan import ScanOptions, default_output_dir, load_policy, new_scan_id, run_scan

    config = load_config(config_path)
    load_policy(config, profile, list(checks_dirs))  # a bad profile or exceptions file: exit 2, nothing written
    if output is None:
        from datetime import UTC, datetime

        output = default_output_dir(config.organisation.id) / new_scan_id(config.organisation.id, datetime.now(UTC))
    if ctx.obj.get("log_file") is None:
        output.mkdir(parents=True, exist_ok=True, mode=0o700)
        configure(ctx.obj["log_level"], output / "hygiene.log")
    from hygiene.agent.lock import organisation_lock
    from hygiene.paths import default_data_dir

    org = config.organisation.id
    # one scan at a time per organisation, whether started here or by the agent
    with organisation_lock(
        data_dir or default_data_dir(),
        org,
        on_wait=lambda: err.print(f"waiting for the running scan of {org} to finish…"),
    ):
        outcome = run_scan(
            config,
            ScanOptions(
                output_dir=output,
                formats=formats or config.reports.formats,
                profile=profile,
                extra_check_dirs=list(checks_dirs),
                operator=operator,
                keep_raw=not no_raw,
                progress=_scan_progress,
                history=None if no_history else history_url(data_dir),
            ),
        )
    _print_summary(outcome.report, {**outcome.files, "snapshot": outcome.snapshot_path})
    sys.exit(_exit_code(outcome.report, fail_on))


@main.command()
@click.argument("snapshot_path", metavar="SNAPSHOT", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Take profile, exceptions and extra checks from this config.",
)
@click.option(
    "--profile", default=None, help="Policy profile (name or YAML path); default: the config's or sme-baseline."
)
@click.option("--exceptions", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None)
@click.option(
    "--checks-dir", "checks_dirs", multiple=True, type=click.Path(file_okay=False, exists=True, path_type=Path)
)
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write reports here (default: print the summary only).",
)
@click.option(
    "--format",
    "formats",
    default=",".join(DEFAULT_FORMATS),
    show_default=True,
    callback=lambda c, p, v: _formats(v),
    help=f"Comma-separated, from {', '.join(FORMATS)}; ocsf writes findings.ocsf.jsonl (OCSF Compliance Findings).",
)
@click.option("--fail-on", type=click.Choice(SEVERITIES), default=None)
@click.option("--operator", default=None)
@_guard
def evaluate(
    snapshot_path: Path,
    config_path: Path | None,
    profile: str | None,
    exceptions: Path | None,
    checks_dirs: tuple[Path, ...],
    output: Path | None,
    formats: list[str],
    fail_on: str | None,
    operator: str | None,
) -> None:
    """Re-run every check offline on a saved SNAPSHOT (snapshot.json.gz)."""
    from datetime import UTC, datetime

    from hygiene.engine import evaluate as run_evaluation
    from hygiene.policy import load_controls, load_lifecycle, load_profile
    from hygiene.registry import Registry
    from hygiene.reports import write_reports
    from hygiene.scan import default_operator, new_scan_id
    from hygiene.snapshot_io import load_snapshot

    snapshot = load_snapshot(snapshot_path)
    config = load_config(config_path) if config_path else None
    base = config.path.parent if config and config.path else None
    chosen_profile = load_profile(profile or (config.policy.profile if config else "sme-baseline"), base)
    controls = load_controls(exceptions or (config.policy.exceptions if config else None))
    registry = Registry.load([*(config.checks.extra_dirs if config else []), *checks_dirs])
    report = run_evaluation(
        snapshot,
        registry,
        chosen_profile,
        controls,
        load_lifecycle(),
        scan_id=new_scan_id(snapshot.organisation.id, datetime.now(UTC)) + "-offline",
        operator=operator or default_operator(),
    )
    files: dict[str, Path] = {}
    if output is not None:
        output.mkdir(parents=True, exist_ok=True, mode=0o700)
        files = write_reports(report, output, formats)
    _print_summary(report, files)
    sys.exit(_exit_code(report, fail_on))


@main.command()
@click.option(
    "--output", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("hygiene-demo"), show_default=True
)
@click.option("--latency-ms", type=click.IntRange(0, 5000), default=0, help="Simulated vendor latency.")
@click.option("--no-aws", is_flag=True, help="Leave out the AWS sandbox (it needs the optional moto extra).")
@click.pass_context
@_guard
def demo(ctx: click.Context, output: Path, latency_ms: int, no_aws: bool) -> None:
    """Scan the built-in sandbox organisation (Northwind Dental: Microsoft 365, Google Workspace, AWS)."""
    from hygiene.demo import run_demo

    output.mkdir(parents=True, exist_ok=True, mode=0o700)
    if ctx.obj.get("log_file") is None:
        configure(ctx.obj["log_level"], output / "hygiene.log")
    outcome = run_demo(output, latency_ms=latency_ms, with_aws=not no_aws, progress=_scan_progress, show_drift=True)
    _print_summary(outcome.report, {**outcome.files, "snapshot": outcome.snapshot_path})
    from hygiene.evidence.pack import export_pack

    pack = export_pack(
        outcome.report.organisation_id, data_dir=output, output=output / "evidence-insurer.zip", audience="insurer"
    )
    out.print(f"insurer evidence pack: {pack.path}")
    out.print(f"  verify it: hygiene evidence verify {pack.path} --key {pack.public_key_path}")
    html = outcome.files.get("html")
    if html is not None:
        out.print(f"\nOpen the report: [bold]{html.resolve()}[/bold]")


@main.group()
def checks() -> None:
    """List and describe checks."""


def _registry(checks_dirs: tuple[Path, ...]) -> Any:
    from hygiene.registry import Registry

    return Registry.load(list(checks_dirs))


@checks.command("list")
@click.option("--platform", default=None)
@click.option(
    "--checks-dir", "checks_dirs", multiple=True, type=click.Path(file_okay=False, exists=True, path_type=Path)
)
@click.option("--json", "as_json", is_flag=True)
@click.option("--markdown", is_flag=True, help="Print the reference as Markdown (docs/checks.md is made this way).")
@_guard
def checks_list(platform: str | None, checks_dirs: tuple[Path, ...], as_json: bool, markdown: bool) -> None:
    items = [c for c in _registry(checks_dirs) if platform is None or c.meta.platform == platform]
    if markdown:
        from hygiene.registry import checks_markdown

        click.echo(checks_markdown(items), nl=False)
        return
    if as_json:
        out.print_json(
            json.dumps(
                [
                    {
                        "id": c.meta.id,
                        "title": c.meta.title,
                        "area": c.meta.area,
                        "platform": c.meta.platform,
                        "severity": c.meta.severity,
                        "origin": c.origin,
                    }
                    for c in items
                ]
            )
        )
        return
    table = Table("id", "severity", "area", "title", "origin")
    for c in items:
        table.add_row(c.meta.id, c.meta.severity, c.meta.area, c.meta.title, c.origin)
    out.print(table)


@checks.command("show")
@click.argument("check_id")
@click.option(
    "--checks-dir", "checks_dirs", multiple=True, type=click.Path(file_okay=False, exists=True, path_type=Path)
)
@_guard
def checks_show(check_id: str, checks_dirs: tuple[Path, ...]) -> None:
    item = _registry(checks_dirs).get(check_id)
    if item is None:
        raise click.UsageError(f"no check {check_id!r}; see 'hygiene checks list'")
    meta = item.meta
    out.print(f"[bold]{meta.id}[/bold] - {meta.title}")
    out.print(f"platform {meta.platform}, area {meta.area}, severity {meta.severity}, from {item.origin}")
    if meta.description:
        out.print(f"\n{meta.description}")
    out.print(f"\nneeds data: {', '.join(meta.requires) or '(reads its datasets itself)'}")
    if meta.permissions:
        out.print(f"permissions: {', '.join(meta.permissions)}")
    out.print(f"\nremediation: {meta.remediation}")
    for framework, ids in meta.frameworks.items():
        out.print(f"{framework}: {', '.join(ids)}")
    for ref in meta.references:
        out.print(f"see {ref}")


@main.group()
def policies() -> None:
    """List and show policy profiles."""


@policies.command("list")
@_guard
def policies_list() -> None:
    from hygiene.policy import available_profiles, load_profile

    table = Table("name", "title", "inactive days", "backup RPO (h)")
    for name in available_profiles():
        profile = load_profile(name)
        table.add_row(
            name, profile.title, str(profile.thresholds.inactive_days), str(profile.thresholds.backup_rpo_hours)
        )
    out.print(table)


@policies.command("show")
@click.argument("name")
@_guard
def policies_show(name: str) -> None:
    from hygiene.policy import load_profile

    profile = load_profile(name, Path.cwd())
    out.print(f"[bold]{profile.name}[/bold] - {profile.title}\n{profile.description.strip()}")
    for basis in profile.basis:
        out.print(f"  basis: {basis}")
    out.print_json(profile.model_dump_json(include={"thresholds", "checks"}))


@main.group("config")
def config_group() -> None:
    """Work with configuration files."""


@config_group.command("validate")
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False, path_type=Path))
@_guard
def config_validate(config_path: Path) -> None:
    """Validate CONFIG, its profile, exceptions file and extra checks, without contacting any vendor."""
    from hygiene.scan import load_policy

    config = load_config(config_path)
    policy = load_policy(config)
    out.print(
        f"{config_path}: valid - organisation {config.organisation.id}, sources "
        f"{', '.join(config.platforms())}, profile {policy.profile.name}, {len(policy.registry)} checks"
    )
    for warning in config.warnings:
        err.print(f"warning: {config_path}: {warning}", markup=False, highlight=False)
    for rejected in policy.controls.rejected:
        err.print(
            f"warning: {config.policy.exceptions}: {rejected.kind} #{rejected.index + 1} not applied: "
            f"{rejected.problem}",
            markup=False,
        )


@main.command()
@click.option("--source", type=click.Choice(platform_names()), default=None, help="Only this platform.")
@_guard
def permissions(source: str | None) -> None:
    """The least-privilege, read-only permissions and licences each check needs."""
    from hygiene.permissions import describe

    out.print(describe(source), markup=False, highlight=False)


def _register_agent() -> None:
    from hygiene.agent.cli import agent

    main.add_command(agent)


_register_agent()


def _register_history() -> None:
    from hygiene.history.cli import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_register_history()


def _register_portfolio() -> None:
    from hygiene.portfolio import portfolio

    main.add_command(portfolio)


_register_portfolio()


def _register_evidence() -> None:
    from hygiene.evidence.cli import evidence

    main.add_command(evidence)


_register_evidence()


def _register_frameworks() -> None:
    from hygiene.frameworks.cli import frameworks

    main.add_command(frameworks)


_register_frameworks()


if __name__ == "__main__":  # pragma: no cover
    main()
