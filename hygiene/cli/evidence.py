"""``hygiene evidence export ORG``, ``hygiene evidence verify PACK.zip`` and ``hygiene evidence key``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from hygiene.cli.common import data_dir_option, err, guard, history_location, json_option, out
from hygiene.evidence.keys import EvidenceKeys, fingerprint
from hygiene.evidence.pack import AUDIENCES, export_pack
from hygiene.evidence.verify import verify_pack
from hygiene.paths import default_data_dir

DATA_DIR_HELP = (
    "Folder holding history.sqlite3 and the evidence keys (default: HYGIENE_DATA_DIR or the platform data folder; "
    "the history: HYGIENE_DATABASE_URL when set)."
)


@click.group("evidence")
def evidence() -> None:
    """Signed evidence packs for insurers, customers and auditors (see docs/evidence.md)."""


@evidence.command("export")
@click.argument("organisation", metavar="ORG")
@click.option(
    "--scan", "scan_ref", default="latest", show_default=True, help="Scan id, or latest (the latest full scan)."
)
@click.option("--audience", type=click.Choice(AUDIENCES), default="insurer", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="FILE.zip")
@data_dir_option(DATA_DIR_HELP)
@json_option
@guard
def export(
    organisation: str, scan_ref: str, audience: str, output: Path | None, data_dir: Path | None, as_json: bool
) -> None:
    """Build a signed evidence pack of a recorded scan of ORG."""
    result = export_pack(
        organisation,
        data_dir=data_dir or default_data_dir(),
        scan_ref=scan_ref,
        audience=audience,
        output=output,
        history=history_location(data_dir),  # --data-dir's history.sqlite3, else HYGIENE_DATABASE_URL
    )
    if as_json:
        document = {
            "pack": str(result.path),
            "organisation_id": result.organisation_id,
            "scan_id": result.scan_id,
            "audience": result.audience,
            "files": result.files,
            "public_key": str(result.public_key_path),
            "fingerprint": result.fingerprint,
        }
        click.echo(json.dumps(document, indent=2))
        return
    out.print(f"{result.path}: {audience} pack of scan {result.scan_id}, {len(result.files)} files", markup=False)
    out.print(f"public key: {result.public_key_path} (SHA-256 {result.fingerprint})", markup=False)


@evidence.command("verify")
@click.argument("pack", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="PUB.pem")
@json_option
@guard
def verify(pack: Path, key_path: Path | None, as_json: bool) -> None:
    """Check PACK.zip: every file against the manifest, and the manifest's signature. Exit 0 good, 1 failed,
    2 unreadable."""
    result = verify_pack(pack, key_path)
    if as_json:
        files = result.manifest.get("files")
        document = {
            "pack": str(pack),
            "ok": result.ok,
            "problems": result.problems,
            "notes": result.notes,
            "key_fingerprint": result.key_fingerprint,
            "key_source": result.key_source,
            "organisation_id": result.manifest.get("organisation_id"),
            "scan_id": result.manifest.get("scan_id"),
            "audience": result.manifest.get("audience"),
            "files": [f.get("path") for f in files if isinstance(f, dict)] if isinstance(files, list) else [],
        }
        click.echo(json.dumps(document, indent=2))
        sys.exit(0 if result.ok else 1)
    for note in result.notes:
        err.print(f"note: {note}", markup=False, highlight=False)
    if result.key_fingerprint:
        out.print(f"signing key: SHA-256 {result.key_fingerprint} (from {result.key_source})", markup=False)
    if not result.ok:
        for problem in result.problems:
            out.print(f"FAIL {problem}", markup=False, highlight=False)
        out.print(f"{pack}: verification FAILED ({len(result.problems)} problem(s))", markup=False)
        sys.exit(1)
    m = result.manifest
    files = m.get("files")
    out.print(
        f"{pack}: OK - {len(files) if isinstance(files, list) else 0} files, organisation {m.get('organisation_id')}, "
        f"scan {m.get('scan_id')}, audience {m.get('audience')}",
        markup=False,
    )


@evidence.command("key")
@data_dir_option(DATA_DIR_HELP)
@guard
def key(data_dir: Path | None) -> None:
    """Print the SHA-256 fingerprint of this installation's evidence signing key (created if missing)."""
    keys = EvidenceKeys(data_dir or default_data_dir())
    public = keys.signing_key().public_key()
    out.print(f"SHA-256 {fingerprint(public)}", markup=False)
    out.print(f"public key: {keys.folder / 'signing-key.pub.pem'}", markup=False)
