"""Build an evidence pack for one recorded scan.

The scan is found in the history (which also holds the SHA-256 of its report files: a pack is only built
from files that are unchanged since the scan). For the insurer and customer audiences every resource id and
name becomes a pseudonym (see :class:`hygiene.evidence.keys.Pseudonymiser`), as does any occurrence of one,
or of an e-mail address, in free text; the internal pack carries everything, raw vendor data included.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hygiene import frameworks
from hygiene.answers import build_answer_sheet, load_questionnaire
from hygiene.atomic import atomic_writer
from hygiene.errors import did_you_mean
from hygiene.evidence.keys import EvidenceError, EvidenceKeys, Pseudonymiser, fingerprint, public_pem
from hygiene.evidence.vocabulary import WORD, tool_vocabulary
from hygiene.history import HistoryStore, history_url
from hygiene.registry import Registry
from hygiene.reports import FILE_NAMES
from hygiene.reports import render as render_report
from hygiene.reports.answers_csv import AnswersCsv
from hygiene.reports.answers_pdf import AnswersPdf
from hygiene.reports.interface import PackSummary
from hygiene.reports.markdown import md_escape
from hygiene.reports.summary_pdf import SummaryPdf
from hygiene.results import ScanReport
from hygiene.snapshot_io import read_snapshot_json
from hygiene.sources import platforms

AUDIENCES = ("insurer", "customer", "internal")
PACK_FORMAT = "hygiene-evidence-pack/1"
MANIFEST, SIGNATURE, PACK_PUBLIC_KEY = "manifest.json", "manifest.sig", "signing-key.pub.pem"

_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
#: a word of free text, or a pseudonym already given
_TOKEN = re.compile(r"res-[0-9a-f]{16}|[^\W_]+")
#: what may join words of one vendor string ("Jane Doe", "jane.doe", "o'neil", "eu-west")
_JOINER = re.compile(r"[ \t._'-]{1,3}")
#: counts, days, years, version parts, short units ("42", "2026", "24h", "30d"); long digit strings such as an AWS
#: account id are identifiers
_SHORT_NUMBER = re.compile(r"\d{1,6}(?:[tT]\d{1,2})?[a-zA-Z]{0,2}")
#: snapshot keys whose values identify a person or a device
_PERSON_KEYS = ("upn", "user_principal_name", "email", "user", "assigned_to", "serial_number")
_NAME_KEYS = ("display_name", "name")
_PERSON_OR_DEVICE_MARKERS = {"upn", "email", "user_principal_name", "serial_number", "device_type", "os", "model"}


def canonical_json(obj: Any) -> bytes:
    """The bytes that are signed: sorted keys, no whitespace, UTF-8 (floats are not allowed in the manifest)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _snapshot_identifiers(path: Path | None) -> list[str]:
    """User names, addresses and device names from the scan's snapshot (so that free text mentioning them is
    pseudonymised even when they are not the resource of a finding)."""
    if path is None or not path.is_file():
        return []
    snapshot = read_snapshot_json(path)  # within the size limit; damaged or too large: InputError, no pack
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            keys = set(node)
            names = _PERSON_KEYS + (_NAME_KEYS if keys & _PERSON_OR_DEVICE_MARKERS else ())
            found.extend(node[k] for k in names if isinstance(node.get(k), str))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk({k: v for k, v in snapshot.items() if k in {p.name for p in platforms.PLATFORMS}})
    return found


class Redactor:
    """Makes an insurer's or customer's copy of the report: every vendor-controlled string is either the tool's
    own vocabulary (:mod:`hygiene.evidence.vocabulary`) or a pseudonym, and one string always gets one pseudonym
    (a device named like an admin's address is that admin's pseudonym wherever either appears).

    Free text goes through two passes: first every known identifier (finding resource ids and names, user
    names, addresses and device names from the snapshot) and every e-mail address, longest first, becomes the
    pseudonym of itself; then every remaining run of words that the tool does not write itself becomes one."""

    def __init__(
        self,
        pseudonym: Callable[[str], str],
        report: Mapping[str, Any],
        extra: Iterable[str] = (),
        vocabulary: Iterable[str] | None = None,
    ) -> None:
        self._pseudonym = pseudonym
        identifiers: set[str] = set(extra)
        for result in report.get("results", []):
            for finding in result.get("findings", []):
                identifiers.add(str(finding.get("resource_id", "")))
                identifiers.add(str(finding.get("resource_name", "")))
        # the tool's own words: its sentences, check titles and remediation (workloads such as "OneDrive" are also
        # resource names: not personal, so they stay readable in free text; findings still pseudonymise them)
        words = {w.casefold() for w in (tool_vocabulary() if vocabulary is None else vocabulary)}
        for result in report.get("results", []):
            words.update(
                w.casefold() for w in WORD.findall(f"{result.get('title', '')} {result.get('remediation', '')}")
            )
        self.vocabulary = frozenset(words | {"tenant", "res"})
        known = sorted(
            (k for k in identifiers if len(k.strip()) >= 3 and ("@" in k or k.casefold() not in self.vocabulary)),
            key=lambda k: (-len(k), k),
        )
        alternatives = [re.escape(w) for w in known] + [_EMAIL]
        self._pattern = re.compile(r"(?<![\w@])(?:" + "|".join(alternatives) + r")(?![\w@])")

    def pseudonym(self, value: str) -> str:
        """The pseudonym of one string; addresses are case-insensitive (``Alice@X`` is ``alice@x``)."""
        return self._pseudonym(value.casefold() if "@" in value else value)

    def resource(self, value: str) -> str:
        return self.pseudonym(value)

    def _readable(self, word: str) -> bool:
        return word.casefold() in self.vocabulary or _SHORT_NUMBER.fullmatch(word) is not None

    def _unknown_runs(self, value: str) -> str:
        """Every run of words the tool does not write itself (joined by spaces or ``.-_'``) as one pseudonym."""
        out: list[str] = []
        pos = 0
        run: tuple[int, int] | None = None
        for match in _TOKEN.finditer(value):
            token = match.group(0)
            if token.startswith("res-") or self._readable(token):
                if run is not None:
                    out.append(self.pseudonym(value[run[0] : run[1]]))
                    pos, run = run[1], None
                continue
            if run is not None and _JOINER.fullmatch(value[run[1] : match.start()]):
                run = (run[0], match.end())
                continue
            if run is not None:
                out.append(self.pseudonym(value[run[0] : run[1]]))
                pos = run[1]
            out.append(value[pos : match.start()])
            pos, run = match.start(), (match.start(), match.end())
        if run is not None:
            out.append(self.pseudonym(value[run[0] : run[1]]))
            pos = run[1]
        out.append(value[pos:])
        return "".join(out)

    def text(self, value: str) -> str:
        return self._unknown_runs(self._pattern.sub(lambda m: self.pseudonym(m.group(0)), value))

    def deep(self, node: Any) -> Any:
        if isinstance(node, str):
            return self.text(node)
        if isinstance(node, list):
            return [self.deep(v) for v in node]
        if isinstance(node, dict):
            return {k: self.deep(v) for k, v in node.items()}
        return node

    def _dataset(self, state: Any) -> Any:
        """A dataset state with its free text (why it was not read, what part of the platform it covers: Azure
        names the subscriptions there) redacted; its name, flags, counts and endpoint kept."""
        if not isinstance(state, dict):
            return state
        return {k: self.text(v) if k in ("reason", "scope") and isinstance(v, str) else v
                for k, v in state.items()}  # fmt: skip

    def report(self, data: dict[str, Any]) -> dict[str, Any]:
        """The report with findings pseudonymised and free text (reasons, notes, reservations, scope, the exceptions
        register, drift, operator) redacted. Check titles, remediation and references are the tool's own text: kept."""
        out = dict(data)
        results = []
        for result in data.get("results", []):
            r = dict(result)
            for key in ("reason", "note", "reservation"):
                if isinstance(r.get(key), str):
                    r[key] = self.text(r[key])
            r["findings"] = [
                {
                    **f,
                    "resource_id": self.resource(str(f["resource_id"])),
                    "resource_name": self.resource(str(f["resource_name"])),
                    "detail": self.text(str(f.get("detail", ""))),
                    "data": self.deep(f.get("data", {})),
                }
                for f in result.get("findings", [])
            ]
            results.append(r)
        out["results"] = results
        out["sources"] = {
            name: {
                **run,
                "scope": self.deep(run.get("scope", {})),
                "errors": self.deep(run.get("errors", [])),
                "datasets": {k: self._dataset(v) for k, v in (run.get("datasets") or {}).items()},
            }
            for name, run in data.get("sources", {}).items()
        }
        out["controls"] = self.deep(data.get("controls", {}))
        if data.get("drift") is not None:
            out["drift"] = self.deep(data["drift"])
        out["operator"] = self.text(str(data.get("operator", "")))
        score = dict(data.get("score", {}))
        score["caps"] = self.deep(score.get("caps", []))
        out["score"] = score
        return out


@dataclass
class ScanFiles:
    """Where a recorded scan's files are, checked against the hashes in the history."""

    report: Path
    csv: Path | None = None
    snapshot: Path | None = None
    raw: list[tuple[str, Path]] = field(default_factory=list)


def locate_scan_files(files: Iterable[Any], scan_id: str) -> ScanFiles:
    by_format = {f.format: f for f in files}
    if "json" not in by_format:
        raise EvidenceError(f"the history has no report.json recorded for scan {scan_id}: cannot build a pack")
    for stored in by_format.values():
        path = Path(stored.path)
        if not path.is_file():
            if stored.format in ("json", "snapshot", "csv"):
                raise EvidenceError(f"{path}: missing (recorded for scan {scan_id}); cannot build a pack")
            continue
        if sha256_bytes(path.read_bytes()) != stored.sha256:
            raise EvidenceError(
                f"{path}: changed since scan {scan_id} was recorded (SHA-256 differs from the history); "
                "a pack must be built from the scan's unchanged files"
            )
    report_path = Path(by_format["json"].path)
    scan = ScanFiles(
        report=report_path,
        csv=Path(by_format["csv"].path) if "csv" in by_format else None,
        snapshot=Path(by_format["snapshot"].path) if "snapshot" in by_format else None,
    )
    raw_dir = report_path.parent / "raw"
    if raw_dir.is_dir():
        for path in sorted(raw_dir.rglob("*")):
            if path.is_file() and not path.is_symlink():
                scan.raw.append((path.relative_to(report_path.parent).as_posix(), path))
    return scan


def method_markdown(report: ScanReport, audience: str, redactor: Redactor | None) -> str:
    def red(value: str) -> str:
        """Vendor text (scope values, error messages): pseudonymised for insurers and customers, and inert Markdown
        for everyone (a `|` or a newline in an error message must not reshape the signed table)."""
        return md_escape(redactor.text(value) if redactor is not None else value)

    lines = [
        f"# Method: scan {report.scan_id}",
        "",
        f"- Organisation: {md_escape(report.organisation_name)} ({report.organisation_id})",
        f"- Tool: {report.tool} {report.tool_version}",
        f"- Scan id: {report.scan_id}",
        f"- Started (UTC): {report.started_at.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"- Finished (UTC): {report.finished_at.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"- Operator: {red(report.operator)}",
        f"- Profile: {report.profile.name} ({md_escape(report.profile.title)})",
        f"- Audience of this pack: {audience}"
        + ("" if audience == "internal" else " (resource ids and names are pseudonyms; counts are complete)"),
        "",
        "Every item was read through the vendors' read-only APIs listed below; hygiene never writes to a tenant,",
        "domain or account. Counts cover the complete population the APIs returned, not a sample.",
        "",
        "## Scope",
        "",
    ]
    for platform, run in sorted(report.sources.items()):
        lines.append(
            f"### {platform}: {run.status}, {run.requests} requests, "
            f"{run.started_at.strftime('%Y-%m-%dT%H:%M:%SZ')} to {run.finished_at.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        )
        lines.append("")
        for key, value in sorted(run.scope.items()):
            lines.append(f"- {key}: {red(value)}")
        if run.datasets:
            lines += ["", "| dataset | read via | records | available |", "|---|---|---|---|"]
            for name, state in sorted(run.datasets.items()):
                via = state.endpoint or ""
                lines.append(
                    f"| {name} | {via} | {state.records} | "
                    f"{'yes' if state.available else 'no: ' + red(state.reason or '')} |"
                )
        lines.append("")
    if report.out_of_scope_platforms:
        lines += [f"Platforms not in this scan: {', '.join(report.out_of_scope_platforms)}", ""]
    lines += ["## Read-only permissions used", ""]
    for name in sorted(report.sources):
        try:
            spec = platforms.platform(name)
        except KeyError:
            continue
        lines += [f"### {name}", "", "| dataset | what | permissions |", "|---|---|---|"]
        for dataset in spec.datasets:
            extra = f" ({dataset.note})" if dataset.note else ""
            lines.append(f"| {dataset.name} | {dataset.what}{extra} | {', '.join(dataset.needs)} |")
        lines.append("")
    lines += [
        "## Integrity",
        "",
        "manifest.json lists every file of this pack with its SHA-256 and size; manifest.sig is an Ed25519",
        "signature over manifest.json's exact bytes. See docs/evidence.md to verify with hygiene or openssl.",
        "",
    ]
    return "\n".join(lines)


def answer_files(report: ScanReport) -> dict[str, bytes]:
    """answers.csv and answers.pdf: the built-in insurer questionnaire answered from ``report`` (counts only,
    so the pseudonymised report of an insurer or customer pack gives the same answers as the original)."""
    sheet = build_answer_sheet(report, load_questionnaire())
    return {r.file_name: r.render(sheet) for r in (AnswersCsv(), AnswersPdf())}


@dataclass
class ExportResult:
    path: Path
    public_key_path: Path
    organisation_id: str
    scan_id: str
    audience: str
    files: list[str]
    fingerprint: str


def build_pack(
    report_bytes: bytes,
    scan: ScanFiles,
    audience: str,
    keys: EvidenceKeys,
) -> dict[str, bytes]:
    """Every file of the pack, name -> bytes (manifest and signature included)."""
    if audience not in AUDIENCES:
        raise EvidenceError(f"unknown audience {audience!r}; choose from {', '.join(AUDIENCES)}")
    try:
        data = json.loads(report_bytes)
        original = ScanReport.model_validate(data)
    except ValueError as exc:
        raise EvidenceError(f"{scan.report}: not a valid report ({exc})") from exc
    files: dict[str, bytes] = {}
    redactor: Redactor | None = None
    if audience == "internal":
        report = original
        files["report.json"] = report_bytes
        files["findings.csv"] = (
            scan.csv.read_bytes() if scan.csv is not None and scan.csv.is_file() else render_report(report, "csv")
        )
        # OCSF Compliance Findings for the organisation's own SIEM: names included, so internal only
        files[FILE_NAMES["ocsf"]] = render_report(report, "ocsf")
        if scan.snapshot is not None and scan.snapshot.is_file():
            files["snapshot.json.gz"] = scan.snapshot.read_bytes()
        for name, path in scan.raw:
            files[name] = path.read_bytes()
    else:
        redactor = Redactor(Pseudonymiser(keys.pseudonym_key()), data, _snapshot_identifiers(scan.snapshot))
        report = ScanReport.model_validate(redactor.report(data))
        files["report.json"] = render_report(report, "json")
        files["findings.csv"] = render_report(report, "csv")
    controls = report.controls.model_dump(mode="json")
    if audience != "internal" and controls.get("path"):
        controls["path"] = Path(controls["path"]).name
    files["exceptions.json"] = (
        json.dumps(
            {"scan_id": report.scan_id, "organisation_id": report.organisation_id, **controls},
            indent=2,
            sort_keys=True,
            ensure_ascii=False,
        )
        + "\n"
    ).encode("utf-8")
    files["method.md"] = method_markdown(report, audience, redactor).encode("utf-8")
    text = redactor.text if redactor is not None else (lambda s: s)
    summary = SummaryPdf()
    files[summary.file_name] = summary.render(PackSummary(report, audience, text))
    files.update(answer_files(report))
    # the scan's own results carry each check's framework ids (extra check folders included); the built-in
    # registry adds the checks the scan did not run, so a control they map shows "not applicable", not nothing
    built_in_frameworks, built_in_platforms = Registry.load().framework_view()
    tables = frameworks.coverage_tables(
        frameworks.load(),
        {**built_in_frameworks, **{r.check_id: r.frameworks for r in report.results}},
        {**built_in_platforms, **{r.check_id: r.platform for r in report.results}},
        {r.check_id: (r.status.value, r.platform) for r in report.results},
    )
    files["frameworks.json"] = (json.dumps(tables, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()

    signing_key = keys.signing_key()
    public_key = signing_key.public_key()
    files[PACK_PUBLIC_KEY] = public_pem(public_key)
    manifest = {
        "format": PACK_FORMAT,
        "organisation_id": report.organisation_id,
        "scan_id": report.scan_id,
        "scan_finished_at": report.finished_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "audience": audience,
        "tool": report.tool,
        "tool_version": report.tool_version,
        "signing_key_sha256": fingerprint(public_key),
        "files": [
            {"path": name, "sha256": sha256_bytes(body), "size": len(body)} for name, body in sorted(files.items())
        ],
    }
    manifest_bytes = canonical_json(manifest)
    files[MANIFEST] = manifest_bytes
    files[SIGNATURE] = signing_key.sign(manifest_bytes)
    return files


def write_zip(files: Mapping[str, bytes], path: Path, date_time: tuple[int, int, int, int, int, int]) -> None:
    """A reproducible zip: sorted entries, one fixed time, fixed permissions; written atomically."""
    # owner-only from the start: an internal pack holds names and raw vendor data, any pack names the organisation
    with atomic_writer(path) as handle, zipfile.ZipFile(handle, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            archive.writestr(info, files[name])


def export_pack(
    organisation_id: str,
    *,
    data_dir: Path,
    scan_ref: str = "latest",
    audience: str = "insurer",
    output: Path | None = None,
    history: str | None = None,
) -> ExportResult:
    """Build the pack of scan ``scan_ref`` (``latest`` or a scan id) of ``organisation_id`` from the history of
    ``data_dir`` (or the ``history`` database URL), sign it with the key in ``data_dir``, write it as a zip."""
    if audience not in AUDIENCES:
        raise EvidenceError(f"unknown audience {audience!r}; choose from {', '.join(AUDIENCES)}")
    with HistoryStore(history or history_url(data_dir), create=False) as store:
        known = store.organisations()
        if organisation_id not in known:
            raise EvidenceError(
                f"no scans of organisation {organisation_id!r}{did_you_mean(organisation_id, known)} in {store.where}"
            )
        # "latest" is the latest full scan: a partial one (--checks) must never pass for the organisation's evidence
        summary = store.find(organisation_id, "full" if scan_ref == "latest" else scan_ref)
        stored = store.load(summary.scan_id)
    scan = locate_scan_files(stored.files, summary.scan_id)
    report_bytes = scan.report.read_bytes()
    keys = EvidenceKeys(data_dir)
    files = build_pack(report_bytes, scan, audience, keys)
    target = output or Path.cwd() / f"evidence-{summary.scan_id}-{audience}.zip"
    finished = summary.finished_at
    write_zip(
        files,
        target,
        (max(finished.year, 1980), finished.month, finished.day, finished.hour, finished.minute, finished.second),
    )
    public_key_path = target.with_name(target.name + ".pub.pem")
    public_key_path.write_bytes(files[PACK_PUBLIC_KEY])
    return ExportResult(
        path=target,
        public_key_path=public_key_path,
        organisation_id=organisation_id,
        scan_id=summary.scan_id,
        audience=audience,
        files=sorted(files),
        fingerprint=fingerprint(keys.public_key()),
    )
