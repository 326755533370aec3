"""``hygiene scan CONFIG`` and ``hygiene evaluate SNAPSHOT``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from hygiene.cli.common import F, checks_dir_option, data_dir_option, err, exit_code, guard, history_location, log_into
from hygiene.cli.summary import ScanProgress, print_summary
from hygiene.config import load_config
from hygiene.reports import DEFAULT_FORMATS, FORMATS
from hygiene.taxonomy import SEVERITIES


def _formats(value: str) -> list[str]:
    chosen = [f.strip().lower() for f in value.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise click.BadParameter(f"choose from {', '.join(FORMATS)} (comma-separated); got {value!r}")
    return chosen


def _output_option(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--output", "-o", type=click.Path(file_okay=False, path_type=Path), default=None, help=help_text
    )


@click.command("scan")
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False, path_type=Path))
@_output_option("Folder for the reports (default: hygiene-output/ORG/SCAN_ID).")
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
@checks_dir_option("Extra folder of check modules (repeatable).")
@click.option("--operator", default=None, help="Who ran the scan, for the report (default: user@host).")
@click.option("--no-raw", is_flag=True, help="Do not keep raw vendor responses beside the report.")
@data_dir_option(
    "Record the scan in DIR/history.sqlite3 (default: HYGIENE_DATABASE_URL, else the platform data folder)."
)
@click.option("--no-history", is_flag=True, help="Do not record the scan in the history.")
@click.option(
    "--checks",
    "check_patterns",
    multiple=True,
    metavar="PATTERN",
    help="Run only these checks: ids or globs, comma-separated or repeated (e.g. 'aws.iam.*'); only the data they "
    "need is read. A partial scan is marked as such and never becomes the baseline.",
)
@click.option(
    "--platforms",
    "platform_names",
    multiple=True,
    metavar="NAMES",
    help="Scan only these configured platforms, comma-separated or repeated (e.g. m365,aws).",
)
@click.pass_context
@guard
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
    check_patterns: tuple[str, ...],
    platform_names: tuple[str, ...],
) -> None:
    """Scan the organisation described by CONFIG, write reports and record the scan in the history."""
    from hygiene.agent.lock import scan_lock
    from hygiene.scan import ScanOptions, check_credentials, default_output_dir, load_policy, new_scan_id, run_scan
    from hygiene.selection import plan_scan, split_values

    config = load_config(config_path)
    # a bad profile or exceptions file, an unknown check or platform, a credential that cannot work: exit 2 before
    # any request, nothing written
    policy = load_policy(config, profile, list(checks_dirs))
    plan = plan_scan(
        policy.registry,
        config.platforms(),
        checks=split_values(check_patterns),
        platforms=split_values(platform_names),
        disabled=policy.profile.checks.disabled,
        config_path=config_path,
    )
    check_credentials(config, platforms=plan.datasets)
    if output is None:
        from datetime import UTC, datetime

        output = default_output_dir(config.organisation.id) / new_scan_id(config.organisation.id, datetime.now(UTC))
    log_into(ctx, output)
    org = config.organisation.id
    # one scan at a time per organisation, whether started here or by the agent
    with (
        scan_lock(org, data_dir, on_wait=lambda: err.print(f"waiting for the running scan of {org} to finish…")),
        ScanProgress() as progress,
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
                progress=progress,
                reading=progress.read,
                history=None if no_history else history_location(data_dir),
                plan=plan,
            ),
        )
    print_summary(outcome.report, {**outcome.files, "snapshot": outcome.snapshot_path})
    sys.exit(exit_code(outcome.report, fail_on))


@click.command("evaluate")
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
@checks_dir_option()
@_output_option("Write reports here (default: print the summary only).")
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
@guard
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
    from hygiene.policy import load_lifecycle
    from hygiene.reports import write_reports
    from hygiene.scan import default_operator, load_policy, new_scan_id
    from hygiene.snapshot_io import load_snapshot

    snapshot = load_snapshot(snapshot_path)
    config = load_config(config_path) if config_path else None
    policy = load_policy(config, profile, checks_dirs, exceptions)
    report = run_evaluation(
        snapshot,
        policy.registry,
        policy.profile,
        policy.controls,
        load_lifecycle(),
        scan_id=new_scan_id(snapshot.organisation.id, datetime.now(UTC)) + "-offline",
        operator=operator or default_operator(),
    )
    files: dict[str, Path] = {}
    if output is not None:
        output.mkdir(parents=True, exist_ok=True, mode=0o700)
        files = write_reports(report, output, formats)
    print_summary(report, files)
    sys.exit(exit_code(report, fail_on))
