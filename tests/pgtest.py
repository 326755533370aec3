"""A real PostgreSQL server for the tests: one per test session, a fresh database per test.

The binaries: ``HYGIENE_TEST_PG_BIN`` (a folder holding ``initdb`` and ``postgres``), else Debian's
(``/usr/lib/postgresql/<newest>/bin``), else the ``pgserver`` wheel's (the dev extra). ``initdb`` and ``postgres``
refuse to run as root, so under root (containers, CI) the server runs as the ``postgres`` user, else ``nobody``,
in a temporary folder it owns; as a normal user it runs as that user. It listens on 127.0.0.1 on a free port,
password-checked (SCRAM), so that the tests use a URL with a password as users write it.

``HYGIENE_TEST_POSTGRES_URL`` (a superuser URL, e.g. a CI service container) is used instead of starting one.
No server: the PostgreSQL tests fail with the reason under ``CI=true`` and are skipped with it elsewhere.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

BIN_ENV = "HYGIENE_TEST_PG_BIN"
URL_ENV = "HYGIENE_TEST_POSTGRES_URL"
DEBIAN_ROOT = Path("/usr/lib/postgresql")
START_TIMEOUT_S = 60
#: prctl(2)'s option: the signal a process gets when its parent dies (Linux)
PR_SET_PDEATHSIG = 1
#: a server folder older than this with no live server is a killed run's, removed at the next start
STALE_AFTER_S = 600
#: speed over durability: a test database is thrown away (a crash-safety test of our own writes does not depend on
#: the server's fsync; it kills the client, not the server)
FAST = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200")


class NoServer(Exception):
    """No PostgreSQL server could be started; the message says why and what would fix it."""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def find_binaries() -> Path:
    """The folder of ``initdb`` and ``postgres``: the env override, Debian's newest, else pgserver's."""
    override = os.environ.get(BIN_ENV, "").strip()
    candidates: list[Path] = [Path(override)] if override else []
    if not override:
        if DEBIAN_ROOT.is_dir():
            versions = [p for p in DEBIAN_ROOT.iterdir() if p.name.isdigit()]
            candidates += [p / "bin" for p in sorted(versions, key=lambda p: int(p.name), reverse=True)]
        # found, not imported: importing pgserver makes a lock folder under XDG_RUNTIME_DIR and warns without one
        spec = importlib.util.find_spec("pgserver")
        if spec is not None and spec.origin is not None:
            candidates.append(Path(spec.origin).parent / "pginstall" / "bin")
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    raise NoServer(
        "no PostgreSQL binaries: install Debian's postgresql package or the dev extra (pgserver), set "
        f"{BIN_ENV}=<folder of initdb and postgres>, or {URL_ENV}=postgresql://superuser:password@host:port/postgres"
    )


def server_user() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise NoServer("running as root and neither a 'postgres' nor a 'nobody' account exists to run the server as")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@dataclass
class Server:
    """A running server (ours or the CI's): its superuser URL; ``stop`` ends only one we started."""

    admin_url: str
    base: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    databases: int = field(default=0)

    def create_database(self) -> str:
        self.databases += 1
        name = f"hygiene_test_{os.getpid()}_{self.databases}_{secrets.token_hex(3)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        return with_database(self.admin_url, name)

    def drop_database(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown: end the sessions, checkpoint, exit
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)


def _die_with_us() -> None:
    """In the server's process before ``exec`` (after it took the server account): the kernel sends it SIGINT (a
    fast shutdown) when the test process ends, however it ends; a run killed with SIGKILL leaves no server."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGINT)


def _remove_stale(account: pwd.struct_passwd | None) -> None:
    """The folders of servers that are gone (a run killed before ``stop``): no live ``postmaster.pid``, untouched
    for ten minutes (a folder being set up by another run is younger)."""
    for base in Path("/tmp" if account is not None else tempfile.gettempdir()).glob("hygiene-pg-*"):
        try:
            if time.time() - base.stat().st_mtime < STALE_AFTER_S:
                continue
            pid_file = base / "data" / "postmaster.pid"
            if pid_file.exists():
                pid = int(pid_file.read_text().split("\n", 1)[0])
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
                if state != "Z":
                    continue  # running
        except (OSError, ValueError, IndexError):
            pass  # no such process (or unreadable): gone
        shutil.rmtree(base, ignore_errors=True)


def _run_as(account: pwd.struct_passwd | None) -> dict[str, Any]:
    """subprocess arguments that run a command as ``account`` (None: as ourselves)."""
    if account is None:
        return {}
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def start_server() -> Server:
    """initdb into a fresh temporary folder and start ``postgres`` on 127.0.0.1; raises NoServer with the reason."""
    external = os.environ.get(URL_ENV, "").strip()
    if external:
        try:
            psycopg.connect(external, connect_timeout=10).close()
        except psycopg.Error as exc:
            raise NoServer(f"{URL_ENV} is set but the server does not answer: {exc}") from None
        return Server(admin_url=external)
    binaries = find_binaries()
    account = server_user()
    _remove_stale(account)
    # under root the server's account must reach its folder: /tmp, whatever TMPDIR says (it may be under /root)
    base = Path(tempfile.mkdtemp(prefix="hygiene-pg-", dir="/tmp" if account is not None else None))
    try:
        return _init_and_start(binaries, account, base)
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise


def _init_and_start(binaries: Path, account: pwd.struct_passwd | None, base: Path) -> Server:
    password = secrets.token_urlsafe(18)
    data = base / "data"
    (base / "pwfile").write_text(password + "\n")
    if account is not None:
        for path in (base, base / "pwfile"):
            os.chown(path, account.pw_uid, account.pw_gid)
    env = {"PATH": f"{binaries}:/usr/bin:/bin", "LC_ALL": "C", "LANG": "C", "TZ": "UTC"}
    initdb = subprocess.run(
        [
            str(binaries / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            f"--pwfile={base / 'pwfile'}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        cwd=base,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        **_run_as(account),
    )
    if initdb.returncode != 0:
        raise NoServer(f"initdb ({binaries}) failed: {(initdb.stderr or initdb.stdout).strip()[-800:]}")
    last_log = ""
    for _attempt in range(5):  # another process may take the free port between our look and the server's bind
        port = free_port()
        log_path = base / f"server-{port}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                # TCP only: no Unix socket (its path has a length limit a deep TMPDIR exceeds)
                [str(binaries / "postgres"), "-D", str(data), "-k", "", "-h", "127.0.0.1", "-p", str(port)]
                + [arg for setting in FAST for arg in ("-c", setting)],
                cwd=base,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C of the test run reaches the server only through stop()
                preexec_fn=_die_with_us if sys.platform == "linux" else None,
                **_run_as(account),
            )
        admin_url = f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"
        deadline = time.monotonic() + START_TIMEOUT_S
        while process.poll() is None and time.monotonic() < deadline:
            try:
                psycopg.connect(admin_url, connect_timeout=5).close()
                return Server(admin_url=admin_url, base=base, process=process)
            except psycopg.OperationalError:
                time.sleep(0.1)
        if process.poll() is None:
            process.kill()
            process.wait()
        last_log = log_path.read_text(errors="replace").strip()[-800:]
        if "already in use" not in last_log and "could not bind" not in last_log:
            break
    raise NoServer(f"postgres ({binaries}) did not start: {last_log or 'no output'}")


# -- fixtures (imported by tests/conftest.py) ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    """The session's server; none: fail under CI=true, skip elsewhere, with the reason."""
    try:
        server = start_server()
    except NoServer as exc:
        message = f"no PostgreSQL server for the tests: {exc}"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: Server) -> Iterator[str]:
    """A fresh, empty database of its own for one test (dropped at the end), as a ``postgresql://`` URL."""
    url = postgres_server.create_database()
    try:
        yield url
    finally:
        postgres_server.drop_database(url)


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
]


@pytest.fixture(params=BACKENDS)
def history_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The history database of one test, on each backend: a SQLite file in a fresh data folder, or a fresh
    PostgreSQL database. It is also ``HYGIENE_DATABASE_URL``, so every command and reader run without
    ``--data-dir`` uses it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'history-data' / 'history.sqlite3'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    monkeypatch.setenv("HYGIENE_DATABASE_URL", url)
    return url
