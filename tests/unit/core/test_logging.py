"""Secrets never reach logs: structlog events and stdlib records (urllib3, msal) are redacted alike."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import structlog

from hygiene.logsetup import configure, register_secret

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJlLWNhbmFyeQ"


@pytest.fixture(autouse=True)
def _reset_logging() -> None:
    yield
    configure("warning")


def test_redaction_in_file_and_console(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log_file = tmp_path / "hygiene.log"
    configure("debug", log_file)
    register_secret("canary-env-secret-123")
    structlog.get_logger("hygiene.test").info(
        "token acquired",
        client_secret="s3cr3t-value",
        headers={"Authorization": f"Bearer {JWT}"},
        note="the secret canary-env-secret-123 must not show",
    )
    logging.getLogger("urllib3.connectionpool").debug('GET /download?sig=abc123&x=1 "Authorization: Bearer %s"', JWT)
    try:
        raise RuntimeError("failed with canary-env-secret-123")
    except RuntimeError:
        structlog.get_logger("hygiene.test").exception("boom")
    text = log_file.read_text() + capsys.readouterr().err
    for leaked in ("s3cr3t-value", JWT, "canary-env-secret-123", "abc123"):
        assert leaked not in text, leaked
    assert text.count("[REDACTED]") >= 5
    assert '"event": "token acquired"' in text  # JSON lines in the file
    assert oct(log_file.stat().st_mode & 0o777) == "0o600"


def test_database_url_passwords_are_scrubbed(tmp_path: Path) -> None:
    """A history URL in a log line (``HYGIENE_DATABASE_URL`` is not named like a secret): no password."""
    from hygiene.logsetup import redact_text

    line = redact_text(
        "store postgresql://hygiene:Tr0ub4dor-s3cret@db:5432/h and postgresql://db/h?password=Zx9-s3cret"
    )
    assert "Tr0ub4dor" not in line and "Zx9" not in line
    assert "@db:5432/h" in line and "https://host:443/a@b" in redact_text("https://host:443/a@b")


def test_environment_secrets_are_scrubbed_but_not_their_file_paths_or_plain_words() -> None:
    from hygiene.logsetup import redact_text, register_environment_secrets

    register_environment_secrets(
        {
            "ACME_API_TOKEN": "tok-7f3a9c1e5b",
            "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/canary",
            "GOOGLE_CREDENTIALS_FILE": "/etc/hygiene/google-sa.json",
            "FEATURE_TOKEN_CACHE": "enabled",
            "HOME": "/root/not-a-secret",
        }
    )
    text = redact_text(
        "tok-7f3a9c1e5b wJalrXUtnFEMI/K7MDENG/canary /etc/hygiene/google-sa.json enabled /root/not-a-secret"
    )
    assert text == "[REDACTED] [REDACTED] /etc/hygiene/google-sa.json enabled /root/not-a-secret"


def test_secrets_registered_while_other_threads_redact() -> None:
    """A fleet's scans register their secrets (keys, assumed-role sessions) while other scans redact raw answers:
    redaction never fails on a registry that changes under it (it raised 'Set changed size during iteration' in
    the 500-organisation benchmark), and every secret registered before a redaction is scrubbed by it."""
    import threading

    from hygiene.logsetup import redact_bytes

    stop = threading.Event()
    failures: list[BaseException] = []

    def redact_forever() -> None:
        body = b'{"note": "nothing secret here"}' * 50
        while not stop.is_set():
            try:
                redact_bytes(body)
            except BaseException as exc:
                failures.append(exc)
                return

    readers = [threading.Thread(target=redact_forever) for _ in range(4)]
    for reader in readers:
        reader.start()
    try:
        for i in range(3000):
            register_secret(f"fleet-secret-{i:05d}-value")
            if i % 500 == 0:
                assert f"fleet-secret-{i:05d}-value".encode() not in redact_bytes(
                    f"a fleet-secret-{i:05d}-value b".encode()
                )
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert failures == []


def test_a_secret_containing_another_is_scrubbed_whole_and_expired_sessions_are_forgotten() -> None:
    from datetime import UTC, datetime, timedelta

    from hygiene import logsetup
    from hygiene.logsetup import redact_text

    register_secret("short-secret")
    register_secret("short-secret-and-its-longer-form")
    assert redact_text("x short-secret-and-its-longer-form y") == "x [REDACTED] y"  # no '-and-its-longer-form' left
    # an assumed role's session (one hour): scrubbed until it expires and a grace hour has passed, then forgotten
    register_secret("session-token-expired-long-ago", datetime.now(UTC) - timedelta(hours=3))
    register_secret("session-token-live", datetime.now(UTC) + timedelta(hours=1))
    register_secret("another-to-trigger-pruning")
    assert "session-token-live" in logsetup._known_secrets
    assert "session-token-expired-long-ago" not in logsetup._known_secrets
    register_secret("session-token-recently-expired", datetime.now(UTC) - timedelta(minutes=5))
    assert redact_text("session-token-recently-expired") == "[REDACTED]"  # within the grace hour
    register_secret("short-secret", datetime.now(UTC) - timedelta(hours=3))  # a lasting secret stays lasting
    assert "short-secret" in logsetup._known_secrets
