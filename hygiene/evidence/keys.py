"""The local keys of the evidence feature, created on first use in ``<data dir>/evidence/``:

- ``signing-key.pem`` (0600): the Ed25519 private key that signs every pack's manifest;
- ``signing-key.pub.pem``: its public key, which recipients use to check a pack's origin;
- ``pseudonym.key`` (0600): the HMAC key that turns resource ids and names into stable pseudonyms.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hygiene.atomic import private_dir
from hygiene.errors import HygieneError

EVIDENCE_DIR = "evidence"
SIGNING_KEY = "signing-key.pem"
PUBLIC_KEY = "signing-key.pub.pem"
PSEUDONYM_KEY = "pseudonym.key"


class EvidenceError(HygieneError):
    """A pack could not be built or read (exit 2)."""


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 from the start (never world-readable, not even briefly). Not
    ``atomic_write``: a key is created once and never replaced (``O_EXCL``: two exports racing cannot swap it)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo, as ``openssl pkey -pubin -outform DER | sha256sum`` gives."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def load_public_key(data: bytes, where: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        detail = " ".join(str(exc).split())[:200]
        raise EvidenceError(f"{where}: not a PEM public key ({detail})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise EvidenceError(f"{where}: not an Ed25519 public key")
    return key


class EvidenceKeys:
    """The signing key pair and the pseudonym key of one data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = Path(data_dir) / EVIDENCE_DIR

    def signing_key(self, *, create: bool = True) -> Ed25519PrivateKey:
        private_path, public_path = self.folder / SIGNING_KEY, self.folder / PUBLIC_KEY
        if not private_path.exists():
            if not create:
                raise EvidenceError(f"no signing key in {self.folder}; export a pack first to create one")
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            _write_private(private_path, pem)
            public_path.write_bytes(public_pem(key.public_key()))
            return key
        try:
            loaded = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise EvidenceError(f"{private_path}: cannot read the signing key ({exc})") from exc
        if not isinstance(loaded, Ed25519PrivateKey):
            raise EvidenceError(f"{private_path}: not an Ed25519 private key")
        if not public_path.exists():
            public_path.write_bytes(public_pem(loaded.public_key()))
        return loaded

    def public_key(self) -> Ed25519PublicKey:
        return self.signing_key(create=False).public_key()

    def pseudonym_key(self) -> bytes:
        path = self.folder / PSEUDONYM_KEY
        if not path.exists():
            _write_private(path, secrets.token_hex(32).encode("ascii"))
        try:
            key = path.read_bytes().strip()
        except OSError as exc:
            raise EvidenceError(f"{path}: cannot read the pseudonym key ({exc})") from exc
        if len(key) < 32:
            raise EvidenceError(f"{path}: the pseudonym key is too short")
        return key


class Pseudonymiser:
    """``res-`` + the first 16 hex digits of HMAC-SHA256(local key, value): stable across scans and packs of
    the same data folder, meaningless without the key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def __call__(self, value: str) -> str:
        return "res-" + hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:16]
