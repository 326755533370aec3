"""Verify an evidence pack without extracting it: entry names are checked (no absolute paths, no ``..``, no
symlinks), every file's SHA-256 and size against manifest.json, nothing missing or extra, and the Ed25519
signature of manifest.json."""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hygiene.evidence.keys import EvidenceError, fingerprint, load_public_key
from hygiene.evidence.pack import MANIFEST, PACK_PUBLIC_KEY, SIGNATURE
from hygiene.safetext import inert
from hygiene.yamlio import read_bytes_limited

#: a pack is small; refuse to read anything that claims to be bigger than this (zip bombs)
MAX_ENTRY_BYTES = 2 * 1024**3
#: what reading an entry raises for damaged data (zlib.error, a CRC), an encrypted entry (RuntimeError) or an
#: unsupported compression method (NotImplementedError, a RuntimeError)
_ENTRY_READ_ERRORS = (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, zlib.error)
#: a PEM public key is a few hundred bytes
MAX_KEY_BYTES = 64 * 1024


@dataclass
class VerifyResult:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    manifest: dict[str, object] = field(default_factory=dict)
    key_fingerprint: str | None = None
    key_source: str = "pack"

    @property
    def ok(self) -> bool:
        return not self.problems


def unsafe_name(name: str) -> str | None:
    """Why an entry name is unsafe (absolute, drive-qualified, backslashes, ``..``), or None."""
    if not name or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if "\\" in name:
        return "backslash in the path"
    if any(part == ".." for part in PurePosixPath(name).parts):
        return "path traversal ('..')"
    return None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def verify_pack(path: Path, key_path: Path | None = None) -> VerifyResult:
    """Verify the pack at ``path``. Entry names in a pack are untrusted text (a damaged or forged zip can name an
    entry with a newline or an escape sequence): every problem and note is made one inert line."""
    result = _verify(path, key_path)
    result.problems = [inert(problem) for problem in result.problems]
    result.notes = [inert(note) for note in result.notes]
    return result


def _verify(path: Path, key_path: Path | None = None) -> VerifyResult:
    """Raises :class:`EvidenceError` for input that cannot be read at all (exit 2); otherwise returns the
    problems found (none means the pack verifies)."""
    result = VerifyResult()
    trusted: Ed25519PublicKey | None = None
    if key_path is not None:
        trusted = load_public_key(read_bytes_limited(key_path, MAX_KEY_BYTES, "public key"), str(key_path))
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise EvidenceError(f"{path}: cannot read the pack ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        raise EvidenceError(f"{path}: the pack is not a regular file")
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, EOFError, ValueError, NotImplementedError, zipfile.BadZipFile) as exc:
        raise EvidenceError(f"{path}: not a readable zip file ({_one_line(exc)})") from None
    with archive:
        infos = archive.infolist()
        names: list[str] = []
        for info in infos:
            why = unsafe_name(info.filename)
            if why is None and _is_symlink(info):
                why = "symbolic link"
            if why is not None:
                result.problems.append(f"{info.filename}: rejected entry ({why})")
            elif info.is_dir():
                result.problems.append(f"{info.filename}: unexpected directory entry")
            else:
                names.append(info.filename)
        if result.problems:
            return result
        duplicates = sorted({n for n in names if names.count(n) > 1})
        for name in duplicates:
            result.problems.append(f"{name}: appears more than once in the zip")
        if duplicates:
            return result

        def read(name: str) -> bytes:
            info = archive.getinfo(name)
            if info.file_size > MAX_ENTRY_BYTES:
                raise EvidenceError(f"{path}: entry {name} is implausibly large")
            try:
                return archive.read(info)
            except _ENTRY_READ_ERRORS as exc:
                raise EvidenceError(f"{path}: cannot read entry {name} ({_one_line(exc)})") from None

        for required in (MANIFEST, SIGNATURE):
            if required not in names:
                result.problems.append(f"{required}: missing from the pack")
        if result.problems:
            return result
        manifest_bytes = read(MANIFEST)
        try:
            manifest = json.loads(manifest_bytes)
            listed = {str(f["path"]): (str(f["sha256"]), int(f["size"])) for f in manifest["files"]}
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
            raise EvidenceError(f"{path}: manifest.json is not a readable manifest ({_one_line(exc)})") from None
        result.manifest = manifest

        for name, (digest, size) in sorted(listed.items()):
            if unsafe_name(name) is not None:
                result.problems.append(f"{name}: unsafe path in the manifest")
            elif name not in names:
                result.problems.append(f"{name}: missing (listed in the manifest)")
            else:
                body = read(name)
                if len(body) != size:
                    result.problems.append(f"{name}: size {len(body)} differs from the manifest's {size}")
                if hashlib.sha256(body).hexdigest() != digest:
                    result.problems.append(f"{name}: SHA-256 differs from the manifest (modified)")
        for name in sorted(set(names) - set(listed) - {MANIFEST, SIGNATURE}):
            result.problems.append(f"{name}: extra file, not listed in the manifest")

        pack_key: Ed25519PublicKey | None = None
        if PACK_PUBLIC_KEY in names:
            try:
                pack_key = load_public_key(read(PACK_PUBLIC_KEY), PACK_PUBLIC_KEY)
            except EvidenceError as exc:
                result.problems.append(str(exc))
        if trusted is not None:
            key, result.key_source = trusted, str(key_path)
            if pack_key is not None and fingerprint(pack_key) != fingerprint(trusted):
                result.notes.append(f"the key inside the pack is not the key given with --key ({key_path})")
        elif pack_key is not None:
            key, result.key_source = pack_key, "pack"
            result.notes.append(
                "verified only against the key inside the pack: this proves the files are intact, not who made the "
                "pack; verify with --key and the issuer's public key (or compare the fingerprint below with theirs)"
            )
        else:
            result.problems.append(
                f"{PACK_PUBLIC_KEY}: missing from the pack and no --key given: cannot check the signature"
            )
            return result
        result.key_fingerprint = fingerprint(key)
        try:
            key.verify(read(SIGNATURE), manifest_bytes)
        except InvalidSignature:
            result.problems.append(
                f"{SIGNATURE}: the signature does not match manifest.json with the key from {result.key_source} "
                f"(SHA-256 {result.key_fingerprint})"
            )
    return result
