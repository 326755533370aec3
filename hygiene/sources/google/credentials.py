"""The Google Workspace credential, checked offline before any request (``hygiene scan``, ``hygiene config
validate``) and read by the source: a service account's JSON key. Loads no vendor SDK; a problem never quotes
the key."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from hygiene.config import GoogleConfig
from hygiene.sources.interface import CredentialError, read_key_file

KEY = "sources.google.service_account_file"
#: what google-auth needs of a service account key (google.oauth2.service_account.Credentials.from_service_account_info)
REQUIRED_FIELDS = ("private_key", "client_email", "token_uri")


class PrivateKeyError(CredentialError):
    """The key file is a service account key, but its private key cannot be used."""


#: keys already checked in this process, by the SHA-256 of the file's bytes: loading an RSA private key checks the
#: key (tens of milliseconds), and a fleet's scans read the same key again and again (a consultant's one service
#: account delegated in many Workspaces). Bounded; a changed file is a new entry.
_checked: OrderedDict[bytes, dict[str, Any]] = OrderedDict()
_CHECKED_MAX = 64
_checked_lock = threading.Lock()


def service_account_info(path: Path) -> dict[str, Any]:
    """The parsed service account key at ``path``, its fields and private key checked (once per process for the
    same bytes); a fresh dict each call."""
    content = read_key_file(path, KEY, "a service account key")
    digest = hashlib.sha256(content).digest()
    with _checked_lock:
        if digest in _checked:
            _checked.move_to_end(digest)
            return dict(_checked[digest])
    info = _check(path, content)
    with _checked_lock:
        _checked[digest] = dict(info)
        while len(_checked) > _CHECKED_MAX:
            _checked.popitem(last=False)
    return info


def _check(path: Path, content: bytes) -> dict[str, Any]:
    try:
        info = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CredentialError(f"{KEY}: {path} is not JSON: expected a service account's JSON key") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        kind = info.get("type") if isinstance(info, dict) else None
        found = f"its type is {str(kind)[:40]!r}" if isinstance(kind, str) else "it has no type"
        raise CredentialError(
            f'{KEY}: {path} is not a service account key ({found}; expected "service_account": create a JSON '
            "key for the service account in the Google Cloud console)"
        )
    missing = [name for name in REQUIRED_FIELDS if not isinstance(info.get(name), str) or not info[name]]
    if missing:
        raise CredentialError(f"{KEY}: the service account key {path} has no {', '.join(missing)}")
    try:
        serialization.load_pem_private_key(str(info["private_key"]).encode("utf-8"), password=None)
    except (TypeError, ValueError, UnsupportedAlgorithm):
        raise PrivateKeyError(
            f"{KEY}: the private_key in {path} is not a usable PEM private key (create a new JSON key)"
        ) from None
    return info


def check_credentials(config: GoogleConfig, environ: Mapping[str, str]) -> list[str]:
    """The problems with ``[sources.google]``'s key, one ``key: problem`` line each (the environment is not used:
    the key is a file)."""
    del environ
    try:
        service_account_info(config.service_account_file)
    except CredentialError as exc:
        return [str(exc)]
    return []
