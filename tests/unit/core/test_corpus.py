"""The bad-input corpus (tests/unit/core/corpus/, listed in cases.yaml): every malformed config, profile,
exceptions file, snapshot and evidence pack goes through the real CLI and must give the documented exit code,
one error line naming the file and the problem, no traceback, and write nothing (outside the output folder, if any).

Files that are better made than committed (huge files, other encodings, devices, FIFOs, symlinks, zip packs) are
generated once per session into ``gen/`` of a private copy of the corpus.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import stat
import struct
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import hygiene.snapshot_io
from hygiene.cli import main
from hygiene.evidence.keys import public_pem
from hygiene.evidence.pack import MANIFEST, PACK_FORMAT, PACK_PUBLIC_KEY, SIGNATURE, canonical_json

CORPUS = Path(__file__).parent / "corpus"
CASES: list[dict[str, Any]] = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
#: the snapshot size limit during these tests, so that a gzip bomb is small to make
SNAPSHOT_LIMIT = 1024 * 1024
DEEP = 100_000

# ------------------------------------------------------------------------------------------------ generators


def _good_config() -> str:
    return (CORPUS / "config" / "good.toml").read_text(encoding="utf-8")


def _good_snapshot() -> str:
    return (CORPUS / "snapshot" / "good.json").read_text(encoding="utf-8")


def _zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": on purpose
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, body in entries:
                archive.writestr(name, body)


def _pack_entries(key: Ed25519PrivateKey, report: bytes | None = None) -> dict[str, bytes]:
    files = {
        "report.json": report or json.dumps({"organisation_id": "acme", "padding": "x" * 4000}).encode(),
        PACK_PUBLIC_KEY: public_pem(key.public_key()),
    }
    manifest = {
        "format": PACK_FORMAT,
        "organisation_id": "acme",
        "scan_id": "acme-corpus",
        "audience": "insurer",
        "files": [{"path": n, "sha256": _sha256(b), "size": len(b)} for n, b in sorted(files.items())],
    }
    files[MANIFEST] = canonical_json(manifest)
    files[SIGNATURE] = key.sign(files[MANIFEST])
    return files


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _patch_headers(path: Path, name: str, *, flags: int | None = None, method: int | None = None) -> None:
    """Rewrite the general-purpose flags and/or the compression method of entry ``name`` in both its local and
    its central directory header (what a hand-crafted hostile zip would carry)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        local = archive.getinfo(name).header_offset
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        (name_len,) = struct.unpack_from("<H", data, central + 28)
        if bytes(data[central + 46 : central + 46 + name_len]) == name.encode():
            break
        central = data.find(b"PK\x01\x02", central + 4)
    assert central >= 0
    for offset, flag_at, method_at in ((local, 6, 8), (central, 8, 10)):
        if flags is not None:
            struct.pack_into("<H", data, offset + flag_at, flags)
        if method is not None:
            struct.pack_into("<H", data, offset + method_at, method)
    path.write_bytes(bytes(data))


def _generate(gen: Path) -> None:
    gen.mkdir()
    config = _good_config()
    # config: size, encodings, nesting, devices, FIFOs, symlink loops
    (gen / "config-huge.toml").write_text(config + "# " + "x" * (1024 * 1024) + "\n", encoding="utf-8")
    (gen / "config-utf16.toml").write_bytes(config.encode("utf-16"))
    (gen / "config-utf16-no-bom.toml").write_bytes(config.encode("utf-16-le"))
    (gen / "config-latin1.toml").write_bytes(config.replace("Acme Ltd", "Café Ltd").encode("latin-1"))
    (gen / "config-deep.toml").write_text("a = " + "[" * DEEP + "]" * DEEP + "\n", encoding="utf-8")
    (gen / "config-dev-zero.toml").symlink_to("/dev/zero")
    os.mkfifo(gen / "config-fifo.toml")
    (gen / "config-symlink-loop.toml").symlink_to("config-symlink-loop.toml")
    # profiles and exceptions files
    profile = (CORPUS / "profile" / "good.yaml").read_text(encoding="utf-8")
    (gen / "profile-huge.yaml").write_text(profile + "# " + "x" * (2 * 1024 * 1024) + "\n", encoding="utf-8")
    (gen / "profile-latin1.yaml").write_bytes("name: café\ntitle: Café\n".encode("latin-1"))
    (gen / "profile-utf16.yaml").write_bytes(profile.encode("utf-16"))
    (gen / "profile-deep.yaml").write_text("name: x\ntitle: " + "[" * DEEP + "]" * DEEP + "\n", encoding="utf-8")
    (gen / "exceptions-utf16.yaml").write_bytes("exceptions: []\n".encode("utf-16"))
    (gen / "exceptions-huge.yaml").write_text("exceptions: []\n# " + "x" * (2 * 1024 * 1024), encoding="utf-8")
    (gen / "exceptions-deep.yaml").write_text("exceptions: " + "[" * DEEP + "]" * DEEP + "\n", encoding="utf-8")
    # snapshots
    snapshot = gzip.compress(_good_snapshot().encode())
    (gen / "snapshot-truncated.json.gz").write_bytes(snapshot[: len(snapshot) // 2])
    (gen / "snapshot-corrupt.json.gz").write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 64)
    (gen / "snapshot-bomb.json.gz").write_bytes(gzip.compress(b" " * (SNAPSHOT_LIMIT + 1) + b"{}"))
    (gen / "snapshot-deep.json").write_text("[" * DEEP + "]" * DEEP, encoding="utf-8")
    (gen / "snapshot-latin1.json").write_bytes(_good_snapshot().replace("Acme", "Café").encode("latin-1"))
    (gen / "snapshot-dev-zero.json.gz").symlink_to("/dev/zero")
    # evidence packs: a good one (the control), then hostile and damaged variants
    key = Ed25519PrivateKey.generate()
    (gen / "pack-key.pub.pem").write_bytes(public_pem(key.public_key()))
    (gen / "other.pub.pem").write_bytes(public_pem(Ed25519PrivateKey.generate().public_key()))
    good = _pack_entries(key)
    _zip(gen / "pack-good.zip", list(good.items()))
    (gen / "pack-truncated.zip").write_bytes((gen / "pack-good.zip").read_bytes()[:200])
    (gen / "pack-dev-zero.zip").symlink_to("/dev/zero")
    (gen / "key-dev-zero.pem").symlink_to("/dev/zero")
    _zip(gen / "pack-traversal.zip", [*good.items(), ("../../evil.sh", b"#!/bin/sh\necho pwned\n")])
    _zip(gen / "pack-absolute.zip", [*good.items(), ("/etc/cron.d/evil", b"* * * * * root echo pwned\n")])
    _zip(gen / "pack-backslash.zip", [*good.items(), ("..\\..\\evil.bat", b"echo pwned\r\n")])
    link = zipfile.ZipInfo("report.json")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    _zip(gen / "pack-symlink.zip", [(n, b) for n, b in good.items() if n != "report.json"] + [(link, b"/etc/passwd")])
    _zip(gen / "pack-duplicate.zip", [*good.items(), ("report.json", b"{}")])
    _zip(gen / "pack-tampered.zip", [*{**good, "report.json": b'{"organisation_id": "someone-else"}'}.items()])
    _zip(gen / "pack-extra-file.zip", [*good.items(), ("extra.txt", b"not in the manifest")])
    _zip(gen / "pack-no-signature.zip", [(n, b) for n, b in good.items() if n != SIGNATURE])
    _zip(gen / "pack-manifest-not-json.zip", [*{**good, MANIFEST: b"{not json"}.items()])
    infinite = b'{"files": [{"path": "report.json", "sha256": "00", "size": Infinity}]}'
    _zip(gen / "pack-manifest-infinite-size.zip", [*{**good, MANIFEST: infinite}.items()])
    wrong_types = b'{"files": {"path": "report.json"}, "format": 1}'
    _zip(gen / "pack-manifest-wrong-types.zip", [*{**good, MANIFEST: wrong_types}.items()])
    corrupt = gen / "pack-corrupt-entry.zip"
    _zip(corrupt, list(good.items()))
    with zipfile.ZipFile(corrupt) as archive:
        info = archive.getinfo("report.json")
    data = bytearray(corrupt.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start : start + info.compress_size] = b"\xff" * info.compress_size
    corrupt.write_bytes(bytes(data))
    encrypted = gen / "pack-encrypted-entry.zip"
    _zip(encrypted, list(good.items()))
    _patch_headers(encrypted, "report.json", flags=0x1)
    unknown = gen / "pack-unknown-compression.zip"
    _zip(unknown, list(good.items()))
    _patch_headers(unknown, "report.json", method=77)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the corpus with the generated cases in gen/."""
    copy = tmp_path_factory.mktemp("corpus") / "corpus"
    shutil.copytree(CORPUS, copy)
    # key files as a user keeps them (0600): git checks them out 0644, which adds a permission warning line
    for key in (copy / "credentials").iterdir():
        key.chmod(0o600)
    _generate(copy / "gen")
    return copy


# ------------------------------------------------------------------------------------------------ the runs


def _tree(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every entry under ``root`` (symlinks not followed): type+mode, size and mtime."""
    found: dict[str, tuple[int, int, int]] = {}
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(folder, name)
            info = path.lstat()
            found[str(path.relative_to(root))] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return found


def _expand(value: str, corpus: Path, file: Path, out: Path) -> str:
    return value.replace("{file}", str(file)).replace("{corpus}", str(corpus)).replace("{out}", str(out))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_corpus_case(case: dict[str, Any], corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = corpus / case["file"]
    assert file.is_symlink() or file.exists(), f"{case['id']}: {file} missing from the corpus"
    work, home, data, out = tmp_path / "work", tmp_path / "home", tmp_path / "data", tmp_path / "out"
    for folder in (work, home, data):
        folder.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("HYGIENE_DATA_DIR", str(data))
    monkeypatch.setattr(hygiene.snapshot_io, "MAX_SNAPSHOT_BYTES", SNAPSHOT_LIMIT)
    args = [_expand(a, corpus, file, out) for a in case["run"]]
    before_tmp, before_corpus = _tree(tmp_path), _tree(corpus)

    result = CliRunner().invoke(main, args, catch_exceptions=False)

    stdout, stderr = result.stdout, result.stderr
    context = f"{case['id']}: exit {result.exit_code}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    assert result.exit_code == case["exit"], context
    assert "Traceback" not in stdout + stderr, context
    lines = [line for line in stderr.splitlines() if line.strip()]
    if case["exit"] == 2:
        assert len(lines) == 1 and lines[0].startswith("error: "), context
        for expected in case["expect"]:
            assert expected in lines[0], f"{expected!r} not in the error line\n{context}"
    elif case["exit"] == 1:
        assert all(line.startswith("note: ") for line in lines), context
        summary = stdout.strip().splitlines()[-1]
        assert "verification FAILED" in summary and file.name in summary, context
        for expected in case["expect"]:
            assert expected in stdout, f"{expected!r} not in the output\n{context}"
    else:
        warned = [line for line in lines if line.startswith("warning: ")]
        assert len(warned) == case.get("warnings", 0) == len(lines), context
        for expected in case["expect"]:
            assert expected in stdout + stderr, f"{expected!r} not in the output\n{context}"

    # nothing written anywhere but the output folder (and nothing at all for input errors)
    after_tmp = {k: v for k, v in _tree(tmp_path).items() if k != "out" and not k.startswith("out/")}
    assert after_tmp == before_tmp, context
    assert _tree(corpus) == before_corpus, context
    if case["exit"] != 0:
        assert not out.exists(), context


def test_every_corpus_file_is_a_case(corpus: Path) -> None:
    """A file added to the corpus without a line in cases.yaml (or the other way round) is a mistake."""
    used = {c["file"] for c in CASES} | {
        part.replace("{corpus}/", "") for c in CASES for part in c["run"] if part.startswith("{corpus}/")
    }
    on_disk = {
        str(p.relative_to(corpus))
        for p in corpus.rglob("*")
        if (p.is_file() or p.is_symlink() or stat.S_ISFIFO(p.lstat().st_mode))
        and p.parent != corpus
        and p.suffix != ".md"
    }
    referenced_by_configs = {
        "profile/billion-laughs.yaml",
        "exceptions/billion-laughs.yaml",
        "profile/wrong-type.yaml",
        "exceptions/bad-entries.yaml",
        # shared files the include cases include
        "config/_shared.toml",
        "config/_loop.toml",
        "config/_unknown-key.toml",
        "config/_names-organisation.toml",
    }
    assert on_disk - used - referenced_by_configs == set()
    assert used - on_disk == set()
    assert len({c["id"] for c in CASES}) == len(CASES)


def test_readme_lists_every_case() -> None:
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert [c["id"] for c in CASES if f"| `{c['id']}` |" not in readme] == []


SUBPROCESS_CASES = ["config-deep", "profile-billion-laughs", "exceptions-invalid-date", "snapshot-deep", "pack-symlink"]


@pytest.mark.parametrize("case_id", SUBPROCESS_CASES)
def test_corpus_case_in_a_real_process(case_id: str, corpus: Path, tmp_path: Path) -> None:
    """The same through a real interpreter, where an uncaught exception would print its traceback."""
    case = next(c for c in CASES if c["id"] == case_id)
    file = corpus / case["file"]
    env = {**os.environ, "HOME": str(tmp_path), "HYGIENE_DATA_DIR": str(tmp_path / "data"), "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "hygiene.cli", *(_expand(a, corpus, file, tmp_path / "out") for a in case["run"])],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == case["exit"], proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    if case["exit"] == 2:
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: "), proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_agent_with_only_bad_configs(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`hygiene agent CONFIG_DIR` skips each bad config with a log line naming it, then exits 2 in one line."""
    folder = tmp_path / "configs"
    folder.mkdir()
    for name in ("config/wrong-type.toml", "config/unknown-key.toml", "gen/config-deep.toml", "gen/config-utf16.toml"):
        shutil.copyfile(corpus / name, folder / Path(name).name)
    (folder / "zero.toml").symlink_to("/dev/zero")
    monkeypatch.setenv("HYGIENE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["agent", str(folder)], catch_exceptions=False)
    assert result.exit_code == 2, result.output + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == f"error: {folder}: no valid organisation config (*.toml) to schedule"
    for name in ("wrong-type.toml", "unknown-key.toml", "config-deep.toml", "config-utf16.toml", "zero.toml"):
        assert any(name in line and "config skipped" in line for line in lines[:-1]), name
