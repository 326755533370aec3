"""Secrets and privacy, end to end: canary secrets go through full scans of the sandboxes (Microsoft 365 with a
client secret and then with a certificate, Google Workspace with a service-account key, AWS with access keys and
assumed-role sessions) with debug logging; then history, evidence packs (insurer, customer, internal) and every
byte hygiene wrote are searched for each secret, and for every token the sandboxes issued. Files that hold
personal data or keys must be owner-only (0600, folders 0700); a world-readable key file is warned about.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import re
import shutil
import sqlite3
import stat
import urllib.parse
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hygiene.cli import main
from hygiene.demo import SECRET_ENV, write_demo_config
from hygiene.reports import FORMATS
from hygiene_sandbox import Sandbox, generate_client_certificate, northwind

aws_sandbox = pytest.importorskip("hygiene_sandbox.aws")

NOW = datetime.now(UTC)
#: the Microsoft 365 client secret: a canary nobody could mistake for anything else
CANARY_CLIENT_SECRET = "CANARY-m365-client-secret-Zq7Xw4Lp9Rt2Vb6N"
JWT = re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")


@dataclass
class World:
    """Everything the end-to-end run produced, and every secret that went into it."""

    root: Path
    #: name -> secret (strings)
    secrets: dict[str, str] = field(default_factory=dict)
    #: name -> binary key material (DER)
    binary: dict[str, bytes] = field(default_factory=dict)
    results: dict[str, Result] = field(default_factory=dict)
    graph_tokens: list[str] = field(default_factory=list)
    google_tokens: list[str] = field(default_factory=list)
    aws_sessions: int = 0
    outputs: list[Path] = field(default_factory=list)
    data_dir: Path = Path()
    packs: dict[str, Path] = field(default_factory=dict)


def _pem_body(pem: str) -> bytes:
    lines = [line for line in pem.strip().splitlines() if line and not line.startswith("-----")]
    return base64.b64decode("".join(lines))


def _pem_lines(pem: str) -> list[str]:
    """The base64 lines of the private key blocks only (a certificate is public)."""
    block = re.findall(r"-----BEGIN [A-Z ]*PRIVATE KEY-----(.*?)-----END", pem, re.S)
    return [line.strip() for body in block for line in body.splitlines() if len(line.strip()) >= 32]


def _invoke(world: World, name: str, args: list[str]) -> Result:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    world.results[name] = result
    return result


def _aws_sessions(aws: aws_sandbox.AwsSandbox) -> list[tuple[str, str, str]]:  # type: ignore[name-defined]
    """(access key id, secret, session token) of every role session moto issued during the scan."""
    from moto.sts.models import sts_backends

    found = []
    for account in aws.scenario.accounts:
        for backend in sts_backends[account.account_id].values():
            for role in backend.assumed_roles:
                found.append((role.access_key_id, role.secret_access_key, role.session_token))
    return found


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("secrets")
    w = World(root=root, data_dir=root / "data")
    scenario = northwind(NOW)
    scenario.client_secret = CANARY_CLIENT_SECRET
    assert scenario.google is not None
    google_key_pem = scenario.google.private_key_pem
    with (
        pytest.MonkeyPatch.context() as mp,
        Sandbox(scenario) as sandbox,
        aws_sandbox.AwsSandbox(aws_sandbox.northwind_aws(NOW)) as aws,
    ):
        mp.chdir(root)
        mp.setenv("HOME", str(root / "home"))
        mp.delenv("HYGIENE_DATABASE_URL", raising=False)
        mp.setenv(SECRET_ENV, CANARY_CLIENT_SECRET)
        environ = {k: v for k, v in aws.environ().items() if k != "AWS_ENDPOINT_URL"}
        for key, value in environ.items():
            mp.setenv(key, value)
        w.secrets["aws access key id"] = aws.credentials.access_key_id
        w.secrets["aws secret access key"] = aws.credentials.secret_access_key
        w.secrets["m365 client secret"] = CANARY_CLIENT_SECRET
        cert_pem = sandbox.client_certificate_pem_path.read_text()
        for i, line in enumerate(_pem_lines(cert_pem)):
            w.secrets[f"m365 certificate private key line {i}"] = line
        w.binary["m365 certificate private key"] = _pem_body(sandbox.client_certificate.private_key_pem)
        for i, line in enumerate(_pem_lines(google_key_pem)):
            w.secrets[f"google service-account key line {i}"] = line
        w.binary["google service-account private key"] = _pem_body(google_key_pem)

        # scan 1: client secret (M365), service-account key (Google), access keys (AWS); debug logging
        config = write_demo_config(root / "cfg", sandbox, aws=aws)
        formats = ",".join(FORMATS)
        out = root / "out-secret"
        w.outputs.append(out)
        result = _invoke(
            w,
            "scan (client secret)",
            ["--log-level", "debug", "scan", str(config), "--output", str(out), "--data-dir", str(w.data_dir),
             "--format", formats],
        )  # fmt: skip
        assert result.exit_code in (0, 1, 3), result.output + result.stderr
        # scan 2: certificate credential for Microsoft 365
        cert = root / "cfg-cert" / "app.pem"
        cert_config = write_demo_config(root / "cfg-cert", sandbox)
        shutil.copyfile(sandbox.client_certificate_pem_path, cert)
        cert.chmod(0o600)
        cert_config.write_text(
            cert_config.read_text().replace(f'client_secret_env = "{SECRET_ENV}"', 'certificate_file = "app.pem"')
        )
        out = root / "out-cert"
        w.outputs.append(out)
        result = _invoke(
            w,
            "scan (certificate)",
            ["--log-level", "debug", "scan", str(cert_config), "--output", str(out), "--data-dir", str(w.data_dir)],
        )
        assert result.exit_code in (0, 1, 3), result.output + result.stderr
        w.graph_tokens = list(sandbox.tokens._tokens)
        w.google_tokens = list(sandbox.google_tokens._tokens)
        sessions = _aws_sessions(aws)
    w.aws_sessions = len(sessions)
    for i, (key_id, secret, token) in enumerate(sessions):
        w.secrets[f"aws session {i} access key id"] = key_id
        w.secrets[f"aws session {i} secret"] = secret
        w.secrets[f"aws session {i} token"] = token
    for i, token in enumerate(w.graph_tokens):
        w.secrets[f"graph access token {i}"] = token
        w.secrets[f"graph access token {i} signature"] = token.rsplit(".", 1)[-1]
    for i, token in enumerate(w.google_tokens):
        w.secrets[f"google access token {i}"] = token

    # history and evidence packs, with debug logging too
    _invoke(w, "history", ["--log-level", "debug", "history", "northwind", "--data-dir", str(w.data_dir), "--json"])
    for audience in ("insurer", "customer", "internal"):
        pack = root / "packs" / f"{audience}.zip"
        w.packs[audience] = pack
        result = _invoke(
            w,
            f"evidence export {audience}",
            ["--log-level", "debug", "--log-file", str(root / "packs" / "evidence.log"), "evidence", "export",
             "northwind", "--audience", audience, "--data-dir", str(w.data_dir), "--output", str(pack)],
        )  # fmt: skip
        assert result.exit_code == 0, result.output + result.stderr
    yield w


# ------------------------------------------------------------------------------------------------ the search


def _forms(secret: str) -> set[bytes]:
    """The secret as bytes, and the encodings it could hide in: base64, URL-safe base64, URL-encoded."""
    raw = secret.encode()
    forms = {raw, urllib.parse.quote(secret, safe="").encode(), urllib.parse.quote_plus(secret).encode()}
    if len(raw) >= 12:
        forms.add(base64.b64encode(raw).rstrip(b"="))
        forms.add(base64.urlsafe_b64encode(raw).rstrip(b"="))
    return forms


def _blobs(path: Path, data: bytes) -> Iterator[tuple[str, bytes]]:
    """The file's bytes, and what they contain: decompressed gzip, zip entries (recursively), SQLite rows."""
    yield str(path), data
    if data[:2] == b"\x1f\x8b":
        yield from _blobs(path / "(gunzip)", gzip.decompress(data))
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in archive.namelist():
                yield from _blobs(path / name, archive.read(name))
    if data[:16] == b"SQLite format 3\x00" and path.exists():
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                rows = conn.execute(f'SELECT * FROM "{table}"').fetchall()  # noqa: S608 - table names from sqlite
                yield f"{path}:{table}", repr(rows).encode()
        finally:
            conn.close()


def _written(world: World) -> Iterator[tuple[str, bytes]]:
    """Every file hygiene wrote (not the test's own configs and key copies in cfg*/), and every command's output."""
    for path in sorted(world.root.rglob("*")):
        relative = path.relative_to(world.root)
        if relative.parts[0].startswith("cfg") or not path.is_file():
            continue
        yield from _blobs(path, path.read_bytes())
    for name, result in world.results.items():
        yield f"output of {name}", (result.stdout + result.stderr).encode()


def test_the_canaries_were_really_used(world: World) -> None:
    """Otherwise the searches below prove nothing."""
    report = world.outputs[0] / "report.json"
    text = report.read_text()
    assert '"m365"' in text and '"google"' in text and '"aws"' in text
    for out in world.outputs:
        sources = json.loads((out / "report.json").read_text())["sources"]
        assert sources["m365"]["status"] == "ok", sources["m365"]  # the canary secret, then the certificate
        assert sources["google"]["status"] == "ok", sources["google"]
    assert json.loads(report.read_text())["sources"]["aws"]["status"] == "ok"
    assert len(world.graph_tokens) >= 2  # at least one per scan
    assert len(world.google_tokens) >= 2
    assert world.aws_sessions >= 1
    assert len([k for k in world.secrets if "private key line" in k or "key line" in k]) >= 20
    log = (world.outputs[0] / "hygiene.log").read_text()
    assert '"level": "debug"' in log  # debug logging was on


def test_no_secret_in_anything_hygiene_wrote(world: World) -> None:
    searched = 0
    leaks: list[str] = []
    patterns = {name: _forms(secret) for name, secret in world.secrets.items()}
    for where, data in _written(world):
        searched += 1
        for name, forms in patterns.items():
            if any(form in data for form in forms):
                leaks.append(f"{name} in {where}")
        for name, der in world.binary.items():
            if der in data:
                leaks.append(f"{name} (DER) in {where}")
        if JWT.search(data):
            leaks.append(f"a JWT in {where}: {JWT.search(data)!r}")
        if re.search(rb"(?i)bearer [A-Za-z0-9._~+/-]{8,}", data):
            leaks.append(f"a bearer token in {where}")
        if b"PRIVATE KEY-----" in data and "signing-key.pem" not in where:
            leaks.append(f"a PEM private key in {where}")
    assert searched > 50
    assert leaks == [], "\n".join(leaks)


def test_every_kind_of_output_was_searched(world: World) -> None:
    names = {Path(where.split(":", 1)[0]).name for where, _ in _written(world)}
    out = world.outputs[0]
    for expected in ("report.json", "report.html", "findings.csv", "summary.md", "snapshot.json.gz", "hygiene.log"):
        assert (out / expected).is_file(), expected
        assert expected in names
    assert any((out / "raw" / platform).iterdir() for platform in ("m365", "google", "aws"))
    assert (world.data_dir / "history.sqlite3").is_file()
    wheres = [where for where, _ in _written(world)]
    assert any("history.sqlite3:" in w for w in wheres)  # rows, not only bytes
    assert any("internal.zip/raw" in w or "internal.zip/" in w for w in wheres)
    assert all(pack.is_file() for pack in world.packs.values())


# ------------------------------------------------------------------------------------------------ permissions


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_outputs_are_owner_only(world: World) -> None:
    wrong: list[str] = []
    for out in world.outputs:
        for path in [out, *out.rglob("*")]:
            want = 0o700 if path.is_dir() else 0o600
            if _mode(path) != want:
                wrong.append(f"{path}: {_mode(path):04o}, expected {want:04o}")
    assert wrong == []


def test_history_keys_and_packs_are_owner_only(world: World) -> None:
    data = world.data_dir
    assert _mode(data) == 0o700
    for name in ("history.sqlite3", "history.sqlite3-wal", "history.sqlite3-shm"):
        if (data / name).exists():
            assert _mode(data / name) == 0o600, name
    evidence = data / "evidence"
    assert _mode(evidence) == 0o700
    assert _mode(evidence / "signing-key.pem") == 0o600
    assert _mode(evidence / "pseudonym.key") == 0o600
    for path in data.rglob("*"):
        if path.is_file() and not path.name.endswith(".pub.pem"):
            assert _mode(path) & 0o077 == 0, f"{path}: {_mode(path):04o}"
    for audience, pack in world.packs.items():
        assert _mode(pack) == 0o600, f"{audience} pack: {_mode(pack):04o}"


# ------------------------------------------------------------------------------------------------ key file warnings

CONFIG = """
[organisation]
id = "acme"
name = "Acme Ltd"

[sources.m365]
tenant_id = "t"
client_id = "c"
certificate_file = "app.pem"

[sources.google]
service_account_file = "sa.json"
delegated_admin = "admin@acme.example"
"""


@pytest.mark.parametrize(
    ("cert_mode", "sa_mode", "warned"),
    [
        (0o600, 0o600, []),
        (0o640, 0o400, []),  # group-readable is the admin's choice; world-readable is not
        (0o644, 0o600, ["sources.m365.certificate_file"]),
        (0o600, 0o604, ["sources.google.service_account_file"]),
        (0o666, 0o606, ["sources.m365.certificate_file", "sources.google.service_account_file"]),
    ],
)
def test_world_readable_key_files_are_warned_about(
    tmp_path: Path, cert_mode: int, sa_mode: int, warned: list[str]
) -> None:
    # well-formed credentials (config validate checks them too): only their modes are in question here
    certificate = generate_client_certificate()
    (tmp_path / "app.pem").write_text(certificate.private_key_pem + certificate.certificate_pem)
    service_account = {
        "type": "service_account",
        "private_key": certificate.private_key_pem,
        "client_email": "hygiene@acme.iam.gserviceaccount.test",
        "token_uri": "https://oauth2.googleapis.test/token",
    }
    (tmp_path / "sa.json").write_text(json.dumps(service_account))
    os.chmod(tmp_path / "app.pem", cert_mode)
    os.chmod(tmp_path / "sa.json", sa_mode)
    config = tmp_path / "acme.toml"
    config.write_text(CONFIG)
    log = tmp_path / "hygiene.log"
    result = CliRunner().invoke(
        main, ["--log-file", str(log), "config", "validate", str(config)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(lines) == len(warned), result.stderr
    for key, line in zip(warned, lines, strict=True):
        assert key in line and "readable by every user" in line and "chmod 600" in line, line
        assert str(config) in line
    logged = log.read_text()
    assert logged.count("key file is readable by every user") == len(warned)
    for key in warned:
        assert key in logged


# ------------------------------------------------------------------------------------------------ redaction units

KEY_ID, SECRET, SESSION = (
    "ASIAQWERTYUIOPASDFGH",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
    "IQoJb3JpZ2luX2VjEJr//////////",
)


@pytest.mark.parametrize(
    "line",
    [
        f"headers={{'Authorization': b'AWS4-HMAC-SHA256 Credential={KEY_ID}/20261123/eu-west-2/sts/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, Signature=" + "ab" * 32 + "'}",
        f"Response body: b'<Credentials><AccessKeyId>{KEY_ID}</AccessKeyId><SecretAccessKey>{SECRET}"
        f"</SecretAccessKey><SessionToken>{SESSION}</SessionToken></Credentials>'",
        f'{{"Credentials": {{"AccessKeyId": "{KEY_ID}", "SecretAccessKey": "{SECRET}", "SessionToken": "{SESSION}"}}}}',
        f"'X-Amz-Security-Token': b'{SESSION}'",
    ],
)
def test_aws_credentials_are_redacted_from_log_lines(line: str) -> None:
    from hygiene.logsetup import redact_text

    redacted = redact_text(line)
    assert KEY_ID not in redacted and SECRET not in redacted and SESSION not in redacted, redacted
    assert "[REDACTED]" in redacted


def test_credentials_are_redacted_from_raw_answers() -> None:
    from hygiene.logsetup import redact_bytes

    xml = (
        f"<AssumeRoleResult><Credentials><AccessKeyId>{KEY_ID}</AccessKeyId><SecretAccessKey>{SECRET}"
        f"</SecretAccessKey><SessionToken>{SESSION}</SessionToken></Credentials><AssumedRoleUser><Arn>"
        "arn:aws:sts::111122223333:assumed-role/HygieneAudit/s</Arn></AssumedRoleUser></AssumeRoleResult>"
    ).encode()
    redacted = redact_bytes(xml)
    assert SECRET.encode() not in redacted and SESSION.encode() not in redacted and KEY_ID.encode() not in redacted
    assert b"assumed-role/HygieneAudit" in redacted  # the rest of the answer stays
    token = b'{"access_token": "ya29.secret\\"quoted", "token_type": "Bearer", "expires_in": 3599}'
    assert redact_bytes(token) == b'{"access_token": "[REDACTED]", "token_type": "Bearer", "expires_in": 3599}'


def test_secret_environment_variables_are_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    from hygiene.logsetup import configure, redact_text

    monkeypatch.setenv("SOME_VENDOR_API_TOKEN", "canary-env-token-4711")
    monkeypatch.setenv("SOME_SETTING", "canary-not-a-secret")
    configure("warning", console=False)
    assert redact_text("x canary-env-token-4711 y") == "x [REDACTED] y"
    assert redact_text("canary-not-a-secret") == "canary-not-a-secret"
