"""Logging: readable lines on the console, JSON lines in a log file, secrets redacted everywhere.

stdlib loggers (urllib3, msal) are routed through the same processors via ``ProcessorFormatter`` with the
redaction step in ``foreign_pre_chain`` too, or their records would bypass it (urllib3 debug lines carry
URLs). Exceptions are rendered as plain tracebacks: rich's renderer can show local variables, secrets included.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from collections.abc import Mapping, MutableMapping
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog

from hygiene.atomic import private_dir

_SECRET_KEYS = re.compile(r"(?i)(secret|token|password|passwd|assertion|authorization|private_key|credential|api_key)")
_SECRET_VALUES = [
    re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),  # JWTs
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"(?i)(client_secret|client_assertion|access_token|refresh_token|sig|password)=[^&\s\"']+"),
    # the password of a URL (a database URL: postgresql://user:PASSWORD@host/db); the host and user stay readable
    re.compile(r"(?<=://)[^/:@\s]*:[^@\s/]*(?=@)"),
    # AWS (botocore debug lines): SigV4 Authorization headers, access key ids, session tokens, credentials in
    # STS answers (XML and JSON)
    re.compile(r"AWS4-HMAC-SHA256 Credential=[^\s,'\"]+(, ?SignedHeaders=[^\s,'\"]+)?(, ?Signature=[0-9a-f]+)?"),
    re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"),
    re.compile(r"(?i)(x-amz-security-token['\"]?\s*[:=]\s*b?['\"]?)[^'\"\s,}&]+"),
    re.compile(r"<(SecretAccessKey|SessionToken)>[^<]*</(SecretAccessKey|SessionToken)>"),
    re.compile(r"(?i)[\"']?(secret_?access_?key|session_?token|aws_session_token)[\"']?\s*[:=]\s*[\"'][^\"']*[\"']"),
]
#: credentials in raw vendor answers kept under raw/ (STS AssumeRole, token endpoints): the element or the value
_BODY_SECRETS = [
    (re.compile(rb"<Credentials>.*?</Credentials>", re.S), rb"<Credentials>[REDACTED]</Credentials>"),
    (re.compile(rb"<(SecretAccessKey|SessionToken)>[^<]*</(SecretAccessKey|SessionToken)>"), rb"<\1>[REDACTED]</\1>"),
    (
        re.compile(
            rb'("(?:SecretAccessKey|SessionToken|secretAccessKey|sessionToken|access_token|refresh_token|id_token'
            rb'|client_secret|private_key|password)"\s*:\s*)"(?:[^"\\]|\\.)*"'
        ),
        rb'\1"[REDACTED]"',
    ),
]
#: environment variables whose values are secrets, by name
_SECRET_ENV_NAMES = re.compile(r"(?i)(secret|token|password|passwd|private_key|api_key|credential)")
_NOT_SECRET_ENV_NAMES = re.compile(r"(?i)_(file|path|dir|name)$")
#: a temporary secret is still scrubbed this long after it expires (a late log line, a slow scan's raw answer)
EXPIRED_SECRET_GRACE_S = 3600.0
#: secret value -> when it may be forgotten (epoch seconds), None: never
_secret_expiry: dict[str, float | None] = {}
_secrets_lock = threading.Lock()
#: the values to scrub, longest first (a secret that contains another is replaced whole); replaced as a whole
#: under the lock and read without it: a fleet's scans register secrets while others redact
_known_secrets: tuple[str, ...] = ()


def register_secret(value: str | None, expires: datetime | None = None) -> None:
    """Remember a secret value (read from the environment or a key file) so it is scrubbed wherever it shows.
    ``expires``: a temporary credential's end (an assumed role's session), after which (and a grace hour) it is
    forgotten: a long-running agent assumes roles in every scan and would otherwise scan every log line and raw
    answer for every session it ever had."""
    global _known_secrets
    if not value or len(value) < 6:
        return
    until = expires.timestamp() + EXPIRED_SECRET_GRACE_S if expires is not None else None
    with _secrets_lock:
        now = time.time()
        if value in _secret_expiry:
            known = _secret_expiry[value]
            until = None if known is None or until is None else max(known, until)
        _secret_expiry[value] = until
        for old in [secret for secret, end in _secret_expiry.items() if end is not None and end < now]:
            del _secret_expiry[old]
        _known_secrets = tuple(sorted(_secret_expiry, key=len, reverse=True))


def forget_secrets(values: list[str]) -> None:
    """Stop scrubbing ``values``: temporary secrets whose user has finished with them (an assumed role's session
    at the end of its scan). A value also registered for good stays (it was registered without an expiry)."""
    global _known_secrets
    with _secrets_lock:
        for value in values:
            if value in _secret_expiry and _secret_expiry[value] is not None:
                del _secret_expiry[value]
        _known_secrets = tuple(sorted(_secret_expiry, key=len, reverse=True))


def register_environment_secrets(environ: Mapping[str, str]) -> None:
    """Remember the values of environment variables named like secrets (AWS_SECRET_ACCESS_KEY, *_TOKEN...)."""
    for name, value in environ.items():
        # not a secret: where one is kept (…_FILE, …_PATH, …_DIR) or a plain word such as "enabled" (scrubbing
        # it would blank that word in every log line)
        if not _SECRET_ENV_NAMES.search(name) or _NOT_SECRET_ENV_NAMES.search(name) or value.isalpha():
            continue
        register_secret(value)


def redact_bytes(body: bytes) -> bytes:
    """A raw vendor answer without the credentials some carry (STS sessions, tokens) or any registered secret."""
    for pattern, replacement in _BODY_SECRETS:
        body = pattern.sub(replacement, body)
    for secret in _known_secrets:  # the tuple of this moment: registering replaces it, never changes it
        encoded = secret.encode("utf-8", "replace")
        if encoded in body:
            body = body.replace(encoded, b"[REDACTED]")
    return body


def redact_text(text: str) -> str:
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, "[REDACTED]")
    for pattern in _SECRET_VALUES:
        text = pattern.sub("[REDACTED]", text)
    return text


def _redact_value(key: str, value: Any) -> Any:
    if _SECRET_KEYS.search(key) and value not in (None, "", False):
        return "[REDACTED]"
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, v) for v in value]
    return value


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key in ("event", "exception", "exc_info"):
            if isinstance(event_dict[key], str):
                event_dict[key] = redact_text(event_dict[key])
            continue
        event_dict[key] = _redact_value(key, event_dict[key])
    return event_dict


def _render_exception_then_redact(logger: Any, name: str, event_dict: MutableMapping[str, Any]) -> Any:
    event_dict = structlog.processors.format_exc_info(logger, name, event_dict)
    return redact(logger, name, event_dict)


def configure(level: str = "info", log_file: Path | None = None, console: bool = True) -> None:
    numeric = getattr(logging, level.upper(), logging.INFO)
    register_environment_secrets(os.environ)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _render_exception_then_redact,
    ]
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(numeric)
    if console:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                foreign_pre_chain=shared,
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.dev.ConsoleRenderer(
                        colors=sys.stderr.isatty() and "NO_COLOR" not in os.environ,
                        exception_formatter=structlog.dev.plain_traceback,
                    ),
                ],
            )
        )
        root.addHandler(handler)
    if log_file is not None:
        private_dir(log_file.parent)
        # created 0600 before the handler opens it; appended to, never replaced: not atomic_write
        fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(fd)
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                foreign_pre_chain=shared,
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.JSONRenderer(),
                ],
            )
        )
        root.addHandler(file_handler)
    # chatty third-party loggers: keep them at warning unless debugging
    for noisy in ("urllib3", "msal", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if numeric <= logging.DEBUG else logging.WARNING)
