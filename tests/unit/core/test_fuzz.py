"""Property-based fuzzing of the loaders that read user or vendor input: whatever the bytes, the config, profile
and exceptions loaders return a model or raise InputError (one line, naming the file), and the credential-report
parser returns rows or raises CredentialReportError. Any other exception is a bug."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hygiene.config import Config, load_config
from hygiene.errors import InputError
from hygiene.evidence.keys import EvidenceError, public_pem
from hygiene.evidence.pack import MANIFEST, PACK_FORMAT, PACK_PUBLIC_KEY, SIGNATURE, canonical_json, write_zip
from hygiene.evidence.verify import verify_pack
from hygiene.policy import ControlsFile, Profile, load_controls, load_profile
from hygiene.sources.aws.credential_report import CredentialReportError, parse_credential_report
from hygiene_sandbox.vendor import CREDENTIAL_REPORT_COLUMNS

FUZZ = settings(
    max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _assert_one_line(exc: InputError, path: Path) -> None:
    assert exc.path == str(path), str(exc)
    assert exc.message.strip() and "\n" not in exc.message, repr(exc.message)


# ------------------------------------------------------------------------------------------------ values

#: strings that have broken parsers before: home-relative paths of unknown users, NULs, traversal, devices
NASTY = st.sampled_from(
    [
        "",
        " ",
        "~nosuchuser/key.pem",
        "~/key.pem",
        "../../../../etc/passwd",
        "/dev/zero",
        "a\x00b",
        "\ufeff",
        "é" * 3,
        "sme-baseline",
        "no-such-profile",
        "x.yaml",
        "m365.accounts.inactive",
        "2026-02-30",
        "https://graph.microsoft.com",
        "http://x",
        "0 2 * * mon",
        "99 99 * * *",
        "Europe/London",
        "Mars/Olympus",
        "HYGIENE_SECRET",
        "admin@northwind.example",
        "arn:aws:iam::111122223333:role/HygieneAudit",
        "eu-west-2",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    NASTY,
    st.dates(),
)


def _values(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
        max_leaves=12,
    )


# ------------------------------------------------------------------------------------------------ config (TOML)

CONFIG_KEYS = st.sampled_from(
    [
        "organisation",
        "id",
        "name",
        "policy",
        "profile",
        "exceptions",
        "checks",
        "extra_dirs",
        "sources",
        "m365",
        "google",
        "aws",
        "tenant_id",
        "client_id",
        "client_secret_env",
        "certificate_file",
        "authority_host",
        "graph_url",
        "ca_bundle",
        "service_account_file",
        "delegated_admin",
        "customer_id",
        "api_endpoint",
        "role_arn",
        "organization_role",
        "regions",
        "endpoint_url",
        "max_workers",
        "schedule",
        "cron",
        "timezone",
        "notify",
        "on",
        "digest",
        "webhooks",
        "url_env",
        "format",
        "email",
        "smtp_host",
        "smtp_port",
        "sender",
        "to",
        "path",
        "warnings",
    ]
) | st.text(min_size=1, max_size=10)


def _toml_value(value: Any) -> str:
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(str(value), repr(value))
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return value.isoformat()  # a date


def _toml(document: dict[str, Any]) -> str:
    return "\n".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in document.items()) + "\n"


def _check_config(folder: Path, data: bytes) -> None:
    path = _write(folder, "fuzz.toml", data)
    try:
        config = load_config(path)
    except InputError as exc:
        _assert_one_line(exc, path)
    else:
        assert isinstance(config, Config)


@FUZZ
@given(st.binary(max_size=2000))
def test_config_loader_arbitrary_bytes(folder: Path, data: bytes) -> None:
    _check_config(folder, data)


@FUZZ
@given(st.text(alphabet=st.sampled_from(list('[]{}=".,\n #abcdeiorstu0123456789-_:/~\\\x00é')), max_size=300))
def test_config_loader_toml_like_text(folder: Path, text: str) -> None:
    _check_config(folder, text.encode("utf-8"))


BASE_CONFIG: dict[str, Any] = {
    "organisation": {"id": "acme", "name": "Acme"},
    "sources": {"aws": {}},
}


@FUZZ
@given(
    st.dictionaries(CONFIG_KEYS, _values(CONFIG_KEYS), max_size=6),
    st.sampled_from(["organisation", "policy", "checks", "sources", "schedule", "notify"]),
    st.sampled_from(["m365", "google", "aws"]),
)
def test_config_loader_structured(folder: Path, section: dict[str, Any], where: str, platform: str) -> None:
    """A valid config with one section (or one source) replaced by random keys and values."""
    document: dict[str, Any] = json.loads(json.dumps(BASE_CONFIG))
    if where == "sources":
        document["sources"] = {platform: section}
    else:
        document[where] = section
    _check_config(folder, _toml(document).encode("utf-8"))


# ------------------------------------------------------------------------------------------------ exceptions (YAML)

CONTROL_KEYS = st.sampled_from(
    [
        "exceptions",
        "attestations",
        "id",
        "check",
        "resources",
        "reason",
        "owner",
        "approved_by",
        "expires",
        "compensating_control",
        "statement",
        "date",
        "attested_by",
        "evidence",
    ]
) | st.text(min_size=1, max_size=8)


def _check_controls(folder: Path, data: bytes) -> None:
    path = _write(folder, "controls.yaml", data)
    try:
        controls = load_controls(path)
    except InputError as exc:
        _assert_one_line(exc, path)
    else:
        assert isinstance(controls, ControlsFile)
        for rejected in controls.rejected:
            assert "\n" not in rejected.problem


@FUZZ
@given(st.binary(max_size=2000))
def test_exceptions_loader_arbitrary_bytes(folder: Path, data: bytes) -> None:
    _check_controls(folder, data)


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("-:[]{}&*!|>'\"\n #?,abcdemxy0123456789.%@\t")), max_size=300))
def test_exceptions_loader_yaml_like_text(folder: Path, text: str) -> None:
    _check_controls(folder, text.encode("utf-8"))


ENTRY = st.dictionaries(CONTROL_KEYS, _values(CONTROL_KEYS), max_size=8)


@FUZZ
@given(
    st.dictionaries(CONTROL_KEYS, st.one_of(st.lists(ENTRY | SCALARS, max_size=4), _values(CONTROL_KEYS)), max_size=3)
)
def test_exceptions_loader_structured(folder: Path, document: dict[str, Any]) -> None:
    _check_controls(folder, yaml.safe_dump(document, allow_unicode=True).encode("utf-8"))


# ------------------------------------------------------------------------------------------------ profiles (YAML)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["name", "title", "description", "extends", "basis", "thresholds", "checks"])
        | st.text(max_size=6),
        _values(st.sampled_from(["inactive_days", "admin_count_min", "disabled", "severity", "plugins"])),
        max_size=6,
    )
)
def test_profile_loader_structured(folder: Path, document: dict[str, Any]) -> None:
    path = _write(folder, "profile.yaml", yaml.safe_dump(document, allow_unicode=True).encode("utf-8"))
    try:
        profile = load_profile(str(path))
    except InputError as exc:
        assert str(exc).strip()
    else:
        assert isinstance(profile, Profile)


# ------------------------------------------------------------------------------------------------ credential report

#: the report's columns without the key regions/services and the certificates (the cells the parser reads)
HEADER = [c for c in CREDENTIAL_REPORT_COLUMNS if not c.endswith(("_region", "_service")) and not c.startswith("cert_")]
CELLS = st.one_of(
    st.sampled_from(
        [
            "N/A",
            "no_information",
            "not_supported",
            "",
            "true",
            "false",
            "TRUE",
            "<root_account>",
            "2026-01-01T00:00:00+00:00",
            "2026-02-30T00:00:00+00:00",
            "2026-01-01T00:00:00+25:00",
            "9999-12-31T23:59:59Z",
            "0001-01-01",
            "arn:aws:iam::111122223333:user/alice",
        ]
    ),
    st.text(max_size=20),
)


def _check_report(content: bytes) -> None:
    try:
        root, users = parse_credential_report(content)
    except CredentialReportError as exc:
        assert str(exc).strip()
    else:
        assert root is None or isinstance(root.mfa_active, bool)
        assert all(user.user for user in users)


@FUZZ
@given(st.binary(max_size=3000))
def test_credential_report_arbitrary_bytes(content: bytes) -> None:
    _check_report(content)


@FUZZ
@given(
    st.lists(st.sampled_from(HEADER) | st.text(max_size=8), min_size=0, max_size=16) | st.just(HEADER),
    st.lists(st.lists(CELLS, max_size=16), max_size=8),
    st.sampled_from(["\r\n", "\n", "\r"]),
    st.booleans(),
)
def test_credential_report_structured(header: list[str], rows: list[list[str]], newline: str, bom: bool) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    content = buffer.getvalue().encode("utf-8")
    _check_report((b"\xef\xbb\xbf" if bom else b"") + content)


def test_credential_report_oversized_field_is_a_parse_error() -> None:
    """A cell over the csv module's field limit (131072 characters) is a CredentialReportError, not csv.Error."""
    content = (",".join(HEADER) + "\n" + '"' + "x" * 200_000 + '"' + ",a" * (len(HEADER) - 1) + "\n").encode()
    with pytest.raises(CredentialReportError, match="not valid CSV"):
        parse_credential_report(content)


# ------------------------------------------------------------------------------------------------ evidence packs


@pytest.fixture(scope="module")
def good_pack(folder: Path) -> bytes:
    key = Ed25519PrivateKey.generate()
    files = {"report.json": b'{"organisation_id": "acme"}' * 50, PACK_PUBLIC_KEY: public_pem(key.public_key())}
    manifest = {
        "format": PACK_FORMAT,
        "files": [{"path": n, "sha256": hashlib.sha256(b).hexdigest(), "size": len(b)} for n, b in files.items()],
    }
    files[MANIFEST] = canonical_json(manifest)
    files[SIGNATURE] = key.sign(files[MANIFEST])
    write_zip(files, folder / "good.zip", (2026, 1, 1, 0, 0, 0))
    return (folder / "good.zip").read_bytes()


@FUZZ
@given(st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)), min_size=1, max_size=8))
def test_pack_verifier_damaged_packs(folder: Path, good_pack: bytes, flips: list[tuple[int, int]]) -> None:
    """A good pack with bytes overwritten anywhere (headers, sizes, compressed data): verification fails or
    the pack is reported unreadable, never an unexpected exception."""
    data = bytearray(good_pack)
    for position, value in flips:
        data[position % len(data)] = value
    path = _write(folder, "damaged.zip", bytes(data))
    try:
        result = verify_pack(path)
    except EvidenceError as exc:
        assert "\n" not in str(exc)
    else:  # a flip in a byte nobody checks (a timestamp, the attributes) may still verify
        assert all("\n" not in problem for problem in result.problems)
