"""``hygiene checks list`` and ``hygiene checks show CHECK_ID``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from hygiene.cli.common import checks_dir_option, guard, json_option, out

if TYPE_CHECKING:
    from hygiene.registry import Registry


def _registry(checks_dirs: tuple[Path, ...]) -> Registry:
    from hygiene.registry import Registry

    return Registry.load(list(checks_dirs))


@click.group("checks")
def checks() -> None:
    """List and describe checks."""


@checks.command("list")
@click.option("--platform", default=None)
@checks_dir_option()
@json_option
@click.option("--markdown", is_flag=True, help="Print the reference as Markdown (docs/checks.md is made this way).")
@guard
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
@checks_dir_option()
@guard
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
