"""Credentials checked offline, per platform (``PlatformSpec.check_credentials``), through ``hygiene config
validate``: what certainly cannot work is exit 2 with one line naming the key; what may work is left to the scan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from hygiene.cli import main

ORG = '[organisation]\nid = "acme"\nname = "Acme"\n\n'
M365 = '[sources.m365]\ntenant_id = "t"\nclient_id = "c"\n'
#: the Entra app sections: Microsoft 365 and Azure check the same credential, each under its own key
ENTRA = {"m365": M365, "azure": '[sources.azure]\ntenant_id = "t"\nclient_id = "c"\n'}
CANARY = "canary-secret-value-0123456789"


def key_and_certificate(password: bytes | None = None) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hygiene test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


def validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, env: dict[str, str]) -> tuple[int, str]:
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True, exist_ok=True)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_SHARED_CREDENTIALS_FILE", raising=False)
    monkeypatch.setenv("HOME", str(home))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "acme.toml"
    config.write_text(ORG + text)
    result = CliRunner().invoke(main, ["config", "validate", str(config)])
    return result.exit_code, result.output


AWS_FILES = {
    "credentials": "[base]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = " + CANARY + "\n"
    "[halfkey]\naws_access_key_id = AKIAEXAMPLE\n",
    "config": "[profile audit]\nrole_arn = arn:aws:iam::123456789012:role/Audit\nsource_profile = base\n"
    "[profile orphan]\nrole_arn = arn:aws:iam::123456789012:role/Audit\nsource_profile = gone\n"
    "[profile sourceless]\nrole_arn = arn:aws:iam::123456789012:role/Audit\n"
    "[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Audit\n"
    "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n",
}


@pytest.mark.parametrize(
    ("section", "env", "problem"),
    [
        ('profile = "base"', {}, None),
        ('profile = "audit"', {}, None),
        ('profile = "sso"', {}, None),
        ("", {}, None),  # the default chain: an instance role, SSO... only the scan can tell
        ("", {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": CANARY}, None),
        ("", {"AWS_PROFILE": "base"}, None),
        ('profile = "ghost"', {}, "sources.aws.profile: AWS profile 'ghost' is not defined"),
        ('profile = "corp"', {}, "sources.aws.profile: AWS profile 'corp' is not defined"),  # an sso-session
        ('profile = "halfkey"', {}, "AWS profile 'halfkey' has aws_access_key_id but no aws_secret_access_key"),
        ('profile = "sourceless"', {}, "AWS profile 'sourceless' has role_arn but none of source_profile"),
        ('profile = "orphan"', {}, "AWS profile 'orphan' names source_profile 'gone', which is not defined"),
        ("", {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"}, "AWS_SECRET_ACCESS_KEY: not set although AWS_ACCESS_KEY_ID is"),
        ("", {"AWS_PROFILE": "ghost"}, "AWS_PROFILE (environment): AWS profile 'ghost' is not defined"),
    ],
)
def test_aws_profiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, section: str, env: dict[str, str], problem: str | None
) -> None:
    for name, content in AWS_FILES.items():
        (tmp_path / "home" / ".aws").mkdir(parents=True, exist_ok=True)
        (tmp_path / "home" / ".aws" / name).write_text(content)
    code, output = validate(tmp_path, monkeypatch, f'[sources.aws]\nregions = ["eu-west-2"]\n{section}\n', env)
    assert CANARY not in output
    if problem is None:
        assert code == 0 and "valid" in output, output
    else:
        assert code == 2 and problem in output and len(output.strip().splitlines()) == 1, output


@pytest.mark.parametrize(
    ("pem", "problem"),
    [
        ("key+cert", None),
        ("encrypted+cert", "the private key in {file} is encrypted"),
        ("cert", "{file} holds no usable private key"),
        ("key", "{file} holds no certificate"),
        ("empty", "{file} holds no usable private key"),
    ],
)
@pytest.mark.parametrize("section", sorted(ENTRA))
def test_entra_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, section: str, pem: str, problem: str | None
) -> None:
    key, cert = key_and_certificate()
    encrypted, _ = key_and_certificate(b"a password")
    parts = {"key": key, "cert": cert, "encrypted": encrypted}
    file = tmp_path / "app.pem"
    file.write_text("".join(parts[p] for p in pem.split("+") if p in parts) if pem != "empty" else "")
    file.chmod(0o600)
    code, output = validate(tmp_path, monkeypatch, ENTRA[section] + f'certificate_file = "{file.name}"\n', {})
    assert key.splitlines()[5] not in output and encrypted.splitlines()[5] not in output
    if problem is None:
        assert code == 0 and "valid" in output, output
    else:
        expected = f"sources.{section}.certificate_file: " + problem.format(file=file)
        assert code == 2 and expected in " ".join(output.split()), output


@pytest.mark.parametrize(("value", "problem"), [(CANARY, None), ("", "is not set"), ("  ", "is empty")])
@pytest.mark.parametrize("section", sorted(ENTRA))
def test_entra_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, section: str, value: str, problem: str | None
) -> None:
    env = {"ACME_SECRET": value} if value else {}
    monkeypatch.delenv("ACME_SECRET", raising=False)
    code, output = validate(tmp_path, monkeypatch, ENTRA[section] + 'client_secret_env = "ACME_SECRET"\n', env)
    assert CANARY not in output
    if problem is None:
        assert code == 0, output
    else:
        expected = f"sources.{section}.client_secret_env: environment variable ACME_SECRET {problem}"
        assert code == 2 and expected in output
