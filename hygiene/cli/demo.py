"""``hygiene demo``: a scan of the built-in sandbox organisation and its insurer evidence pack."""

from __future__ import annotations

from pathlib import Path

import click

from hygiene.cli.common import guard, log_into, out
from hygiene.cli.summary import print_summary, scan_progress


@click.command("demo")
@click.option(
    "--output", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("hygiene-demo"), show_default=True
)
@click.option("--latency-ms", type=click.IntRange(0, 5000), default=0, help="Simulated vendor latency.")
@click.option("--no-aws", is_flag=True, help="Leave out the AWS sandbox (it needs the optional moto extra).")
@click.pass_context
@guard
def demo(ctx: click.Context, output: Path, latency_ms: int, no_aws: bool) -> None:
    """Scan the built-in sandbox organisation (Northwind Dental: Microsoft 365, Google Workspace, AWS)."""
    from hygiene.demo import run_demo
    from hygiene.evidence.pack import export_pack

    output.mkdir(parents=True, exist_ok=True, mode=0o700)
    log_into(ctx, output)
    outcome = run_demo(output, latency_ms=latency_ms, with_aws=not no_aws, progress=scan_progress, show_drift=True)
    print_summary(outcome.report, {**outcome.files, "snapshot": outcome.snapshot_path})
    pack = export_pack(
        outcome.report.organisation_id, data_dir=output, output=output / "evidence-insurer.zip", audience="insurer"
    )
    out.print(f"insurer evidence pack: {pack.path}")
    out.print(f"  verify it: hygiene evidence verify {pack.path} --key {pack.public_key_path}")
    html = outcome.files.get("html")
    if html is not None:
        out.print(f"\nOpen the report: [bold]{html.resolve()}[/bold]")
