"""``hygiene checks list`` and ``hygiene checks show CHECK_ID``."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hygiene.cli.common import checks_dir_option, guard, json_option, out
from hygiene.cli.tables import Listing, print_listing
from hygiene.errors import InputError, did_you_mean
from hygiene.sources.platforms import names as platform_names

if TYPE_CHECKING:
    from hygiene.checkapi import Check
    from hygiene.registry import Registry


def _registry(checks_dirs: tuple[Path, ...]) -> Registry:
    from hygiene.registry import Registry

    return Registry.load(list(checks_dirs))


def _as_json(item: Check) -> dict[str, Any]:
    meta = item.meta
    return {
        "id": meta.id,
        "title": meta.title,
        "area": meta.area,
        "platform": meta.platform,
        "severity": meta.severity,
        "origin": item.origin,
    }


@click.group("checks")
def checks() -> None:
    """The checks hygiene runs: list them, or show what one checks, needs and how to fix it."""


@checks.command("list")
@click.option("--platform", type=click.Choice(platform_names()), default=None, help="Only this platform's checks.")
@checks_dir_option("Extra folder of check modules to list too (repeatable).")
@json_option
@click.option("--markdown", is_flag=True, help="Print the reference as Markdown (docs/checks.md is made this way).")
@guard
def checks_list(platform: str | None, checks_dirs: tuple[Path, ...], as_json: bool, markdown: bool) -> None:
    """Every check: id, severity, area and title (the id is what `checks show`, exceptions and --fail-on use)."""
    items = [c for c in _registry(checks_dirs) if platform is None or c.meta.platform == platform]
    if markdown:
        from hygiene.registry import checks_markdown

        click.echo(checks_markdown(items), nl=False)
        return
    if as_json:
        click.echo(json.dumps([_as_json(c) for c in items], indent=2))
        return
    # the origin only when some check is not built in: 32 times "builtin" says nothing
    extra = any(c.origin != "builtin" for c in items)
    listing = Listing(("id", "severity", "area", "title", *(("origin",) if extra else ())), ids=("id",))
    for c in items:
        listing.add(c.meta.id, c.meta.severity, c.meta.area, c.meta.title, *((c.origin,) if extra else ()))
    print_listing(out, listing)


@checks.command("show")
@click.argument("check_id")
@checks_dir_option("Extra folder of check modules (repeatable).")
@json_option
@guard
def checks_show(check_id: str, checks_dirs: tuple[Path, ...], as_json: bool) -> None:
    """What CHECK_ID checks, the data and permissions it needs, how to fix a failure, and its framework controls."""
    registry = _registry(checks_dirs)
    item = registry.get(check_id)
    if item is None:
        raise InputError(
            None, f"no check {check_id!r}{did_you_mean(check_id, registry.ids())}; see 'hygiene checks list'"
        )
    meta = item.meta
    if as_json:
        details = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(meta).items()}
        details["frameworks"] = {name: list(ids) for name, ids in meta.frameworks.items()}
        click.echo(json.dumps({**_as_json(item), **details}, indent=2))
        return
    show = out.print
    show(f"[bold]{meta.id}[/bold] - {meta.title}", highlight=False)
    show(f"platform {meta.platform}, area {meta.area}, severity {meta.severity}, from {item.origin}", highlight=False)
    if meta.description:
        show(f"\n{meta.description}", markup=False, highlight=False)
    show(f"\nneeds data: {', '.join(meta.requires) or '(reads its datasets itself)'}", highlight=False)
    if meta.optional:
        show(f"reads when collected: {', '.join(meta.optional)}", highlight=False)
    if meta.permissions:
        show(f"permissions: {', '.join(meta.permissions)}", markup=False, highlight=False)
    show(f"\nremediation: {meta.remediation}", markup=False, highlight=False)
    for framework, ids in meta.frameworks.items():
        show(f"{framework}: {', '.join(ids)}", markup=False, highlight=False)
    for ref in meta.references:
        show(f"see {ref}", markup=False, highlight=False)
