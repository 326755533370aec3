"""``hygiene permissions``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hygiene.cli.common import err, guard, out
from hygiene.sources.platforms import names as platform_names


@click.command("permissions")
@click.option("--source", type=click.Choice(platform_names()), default=None, help="Only this platform.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON alone: with --source aws the IAM policy document to attach; else each platform's datasets, "
    "what they need and the checks that use them.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write that JSON to FILE instead (e.g. hygiene-policy.json for `aws iam put-role-policy`).",
)
@guard
def permissions(source: str | None, as_json: bool, output: Path | None) -> None:
    """The least-privilege, read-only permissions and licences each check needs."""
    from hygiene.permissions import describe, grant_json

    if not as_json and output is None:
        out.print(describe(source), markup=False, highlight=False)
        return
    document = json.dumps(grant_json(source), indent=2) + "\n"
    if output is None:
        click.echo(document, nl=False)
        return
    from hygiene.atomic import atomic_write

    atomic_write(output, document.encode("utf-8"))
    err.print(f"wrote {output}", markup=False, highlight=False)
