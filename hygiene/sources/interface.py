"""The one small interface every platform source implements.

A source does all I/O for its platform: it authenticates, reads (never writes), normalises vendor data into
the snapshot model, records every raw response for evidence, and reports per dataset what it could not
collect and why. Nothing else in hygiene talks to a vendor API.
"""

from __future__ import annotations

import json
import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from hygiene.logsetup import redact_bytes
from hygiene.model import DatasetState, ReasonKind, Snapshot, SourceRun, SourceStatus

_SECRET_QUERY = re.compile(r"(?i)(access_token|client_secret|client_assertion|code|sig|signature|token)=[^&\s]+")


#: a JSON escape of a UTF-16 surrogate: the only way a JSON text can carry a lone surrogate into Python
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89abcdefABCDEF][0-9a-fA-F]{2}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def vendor_json(content: bytes) -> Any:
    """Parse a vendor's JSON answer with its text normalised for the snapshot.

    A valid JSON text may escape a lone surrogate (``"\\ud800"``), which Python decodes into a string that no
    UTF-8 encoder accepts: one such device name used to abort the whole scan when the snapshot was written.
    Lone surrogates become U+FFFD here (the raw bytes are kept as received under ``raw/``). Paired surrogates
    are joined by the JSON decoder, so only answers that carry a surrogate escape are walked at all.
    """
    return normalised_text(json.loads(content), content)


def normalised_text(data: Any, wire: bytes) -> Any:
    """``data`` parsed from the JSON text ``wire`` (or its ASCII re-encoding) with lone surrogates replaced;
    walked only when ``wire`` carries a surrogate escape at all."""
    return replace_lone_surrogates(data) if _ESCAPED_SURROGATE.search(wire) else data


def replace_lone_surrogates(node: Any) -> Any:
    """``node`` with every lone UTF-16 surrogate in its strings (keys too) replaced by U+FFFD."""
    if isinstance(node, str):
        return _LONE_SURROGATE.sub("\ufffd", node)
    if isinstance(node, list):
        return [replace_lone_surrogates(v) for v in node]
    if isinstance(node, dict):
        return {replace_lone_surrogates(k): replace_lone_surrogates(v) for k, v in node.items()}
    return node


def parse_timestamp(value: Any, never_until_year: int = 1) -> datetime | None:
    """An ISO 8601 timestamp from a vendor, as an aware UTC datetime; None for empty, unparsable or "never".

    Vendors write "never" as an epoch: Graph uses 0001-01-01 or 1601-01-01, Google 1970-01-01. Timestamps in
    or before ``never_until_year`` are treated as absent.
    """
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return None if parsed.year <= never_until_year else parsed


def scrub_url(url: str) -> str:
    """Remove credentials that some download URLs carry in their query string."""
    return _SECRET_QUERY.sub(lambda m: f"{m.group(1)}=REDACTED", url)


#: told as a platform is read (a progress display, the log): ``(platform, None, n)`` after each response (``n`` so
#: far); ``(platform, dataset, n)`` when a dataset, or one more part of it (AWS: an account and region), has been read
#: (``n``: its records, or for AWS its parts, so far). Called from the sources' threads.
ReadProgress = Callable[[str, str | None, int], None]


class RawRecorder:
    """Keeps each raw vendor response as a file under ``raw/<platform>/`` (or counts them, without a folder), and
    tells ``progress`` of each response and of each dataset the source reports read (:meth:`dataset_read`).

    Files are written as they arrive so a large tenant never holds every page in memory.
    """

    def __init__(self, folder: Path | None, platform: str, progress: ReadProgress | None = None) -> None:
        self.folder = folder / platform if folder is not None else None
        self.platform = platform
        self.progress = progress
        self._lock = threading.Lock()
        self._count = 0
        if self.folder is not None:
            # raw/ too, not only raw/<platform>/: mkdir(parents=True) would make it with the umask's mode
            self.folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.folder.mkdir(exist_ok=True, mode=0o700)

    def record(self, method: str, url: str, status: int, body: bytes, content_type: str = "") -> None:
        with self._lock:
            self._count += 1
            number = self._count
        if self.progress is not None:
            self.progress(self.platform, None, number)
        if self.folder is None:
            return
        slug = re.sub(r"[^A-Za-z0-9]+", "-", url.split("://", 1)[-1].split("?", 1)[0])[-80:].strip("-")
        meta = {
            "method": method,
            "url": scrub_url(url),
            "status": status,
            "content_type": content_type,
            "received_at": datetime.now(UTC).isoformat(),
        }
        stem = self.folder / f"{number:06d}-{slug}"
        fd = os.open(f"{stem}.meta.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(meta, fh)
        suffix = ".json" if "json" in content_type or body[:1] in (b"{", b"[") else ".txt"
        fd = os.open(f"{stem}{suffix}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as bfh:
            bfh.write(redact_bytes(body))

    def dataset_read(self, dataset: str, count: int) -> None:
        """The source has read ``dataset`` (or one more part of it): ``count`` records (or parts) so far."""
        if self.progress is not None:
            self.progress(self.platform, dataset, count)

    @property
    def count(self) -> int:
        return self._count


@dataclass
class Unavailable(Exception):
    kind: ReasonKind
    reason: str
    needs: tuple[str, ...] = ()
    endpoint: str | None = None

    def state(self) -> DatasetState:
        return DatasetState(
            available=False, reason_kind=self.kind, reason=self.reason, needs=list(self.needs), endpoint=self.endpoint
        )


DataT = TypeVar("DataT", bound=BaseModel)


@dataclass
class Collected(Generic[DataT]):
    """What one platform's source hands the scan: the run (per dataset: collected or why not, requests, scope) and
    the platform's part of the snapshot (``Snapshot.<platform>``, a model of ``hygiene.model``)."""

    run: SourceRun
    data: DataT


#: a key or certificate file is a few kilobytes: anything larger is not one (and is not read whole)
MAX_KEY_FILE_BYTES = 1024 * 1024


class CredentialError(ValueError):
    """A credential that cannot work, found offline: ``str()`` is ``config key: problem``, one line, never the
    secret (``PlatformSpec.check_credentials`` returns these lines; the sources raise their own errors from it)."""


def read_key_file(path: Path, key: str, what: str) -> bytes:
    """The bytes of the key file ``path`` named by the config key ``key`` (``what`` it should be, for the
    message), at most :data:`MAX_KEY_FILE_BYTES`."""
    try:
        with open(path, "rb") as handle:
            content = handle.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise CredentialError(f"{key}: cannot read {path}: {exc.strerror or exc}") from None
    if len(content) > MAX_KEY_FILE_BYTES:
        raise CredentialError(f"{key}: {path} is larger than 1 MiB: not {what}")
    return content


#: the reason of a dataset a partial scan did not read
NOT_SELECTED = "not selected: no check of this partial scan needs it"


def not_selected() -> DatasetState:
    """The state of a dataset that a partial scan (``hygiene scan --checks``) did not read."""
    return DatasetState(available=False, selected=False, reason_kind=ReasonKind.NOT_COLLECTED, reason=NOT_SELECTED)


class Source(ABC, Generic[DataT]):
    """One platform's reader. Built by its :class:`PlatformSpec` from the config section and the environment
    (where secrets may be read from); ``collect`` reads what the checks need."""

    platform: str

    @abstractmethod
    def collect(self, raw: RawRecorder, datasets: frozenset[str] | None = None) -> Collected[DataT]:
        """Read ``datasets`` (None: every dataset of the platform; the set is closed under
        :attr:`DatasetSpec.reads_with`, see :meth:`PlatformSpec.closure`), each other dataset's state being
        :func:`not_selected`, and nothing for them is requested. Never raises for vendor errors: they become
        dataset states."""

    def read_after(self, snapshot: Snapshot) -> None:
        """Called by the scan just before :meth:`collect` with the snapshot the platforms before it in the scan
        order filled: a platform that reads what others collected (:attr:`PlatformSpec.reads_from`; the email
        platform: their verified domains) takes it here. Default: nothing."""

    @staticmethod
    def summarise_status(datasets: dict[str, DatasetState]) -> SourceStatus:
        """``error`` when no dataset the scan selected could be read (the platform was not read at all), ``ok``
        when all of them were, else ``partial``."""
        read = [d for d in datasets.values() if d.selected]
        if read and all(not d.available for d in read):
            return "error"
        return "ok" if all(d.available for d in read) else "partial"


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset a platform reads: what ``hygiene permissions``, the evidence packs and the source itself say
    about it. Plain data: reading it loads no vendor SDK."""

    #: ``<platform>.<name>``, as checks name it in ``requires``
    name: str
    #: what it is, for people
    what: str
    #: what must be granted to read it: Graph application permissions, OAuth scopes, IAM actions
    needs: tuple[str, ...]
    #: the licence or product it needs, when one does
    licence: str | None = None
    #: the scan is complete without it (read when granted)
    optional: bool = False
    #: the datasets it is read with or after and cannot be read without (the registration fallback needs the
    #: users): a scan that selects it reads them too
    reads_with: tuple[str, ...] = ()

    @property
    def note(self) -> str | None:
        """The licence it needs, or that it is optional: one line for people."""
        return self.licence or ("optional: the scan is complete without it" if self.optional else None)


@dataclass(frozen=True)
class OcsfCloud:
    """How an OCSF finding names the platform's account (https://schema.ocsf.io, object ``cloud``, ``account``):
    ``cloud.provider``, ``account.type_id`` and its caption, and the key of ``SourceRun.scope`` holding the account's
    id (empty: none)."""

    provider: str
    account_type_id: int
    account_type: str
    scope_key: str = ""


@dataclass(frozen=True)
class PlatformSpec:
    """Everything the rest of hygiene knows about a platform without loading its vendor SDK: its name (the snapshot
    field, the config section ``[sources.<name>]``, the prefix of its dataset and check ids), its datasets, how to
    grant read access, and where its source class lives (imported only when a scan reads the platform)."""

    name: str
    title: str
    datasets: tuple[DatasetSpec, ...]
    #: ``module:Class`` of the :class:`Source`, built with ``(config_section, environ=...)``
    source: str
    #: the ``hygiene permissions`` text for this platform: how to grant access, then what to grant
    grant: Callable[[PlatformSpec], list[str]]
    #: how OCSF findings name the platform's cloud account (type 99 "Other" when OCSF has no type for it)
    ocsf: OcsfCloud
    #: ``module:function`` checking the section's credentials offline (before any request): called with
    #: ``(config_section, environ)``, it returns one ``key: problem`` line per problem (never a secret's value);
    #: its module loads no vendor SDK
    credentials: str | None = None
    #: the grant as a document to apply, where the vendor takes one (AWS: the IAM policy), for `permissions --json`
    grant_document: Callable[[], dict[str, object]] | None = None
    #: the fields of the config section naming the credential (and the vendor endpoint): organisations whose
    #: sections agree on them share the vendor's throttling, so their scans share one concurrency limit
    credential_fields: tuple[str, ...] = ()
    #: datasets of other platforms (scanned before it) that its source reads from the snapshot: a partial scan that
    #: reads this platform reads them too, where their platform is configured
    reads_from: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for dataset in self.datasets:
            if not dataset.name.startswith(self.name + "."):
                raise ValueError(f"dataset {dataset.name} is not named {self.name}.<name>")

    @property
    def by_name(self) -> Mapping[str, DatasetSpec]:
        return {d.name: d for d in self.datasets}

    def closure(self, datasets: Iterable[str]) -> frozenset[str]:
        """``datasets`` (of this platform) and every dataset they are read with (:attr:`DatasetSpec.reads_with`)."""
        chosen: set[str] = set()
        pending = list(datasets)
        while pending:
            name = pending.pop()
            if name not in chosen:
                chosen.add(name)
                spec = self.by_name.get(name)
                pending.extend(spec.reads_with if spec else ())
        return frozenset(chosen)

    def check_credentials(self, config: Any, environ: Mapping[str, str]) -> list[str]:
        """Problems with the credentials of the section ``config``, one line each, found without any request."""
        if self.credentials is None:
            return []
        module, _, name = self.credentials.partition(":")
        problems = getattr(import_module(module), name)(config, environ)
        return [str(p) for p in problems]

    def credential_key(self, config: Any) -> tuple[str, ...]:
        """What identifies the credential of the section ``config`` to the vendor (see :attr:`credential_fields`);
        without credential fields, each section is its own."""
        if not self.credential_fields:
            return (self.name, f"section-{id(config)}")
        return (self.name, *(str(getattr(config, field, None)) for field in self.credential_fields))

    def needs(self) -> list[str]:
        """Every distinct grant the datasets need, in order (a note after a space, e.g. "(fallback)", dropped)."""
        seen: dict[str, None] = {}
        for dataset in self.datasets:
            for need in dataset.needs:
                seen.setdefault(need.split(" ")[0], None)
        return list(seen)

    def open(self, config: Any, environ: dict[str, str] | None = None) -> Source[Any]:
        """The platform's source for its config section; its module (and vendor SDK) is imported here."""
        module, _, name = self.source.partition(":")
        source_class = getattr(import_module(module), name)
        source = source_class(config, environ=environ)
        assert isinstance(source, Source)
        return source
