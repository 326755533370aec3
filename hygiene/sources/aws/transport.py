"""How hygiene talks to AWS through botocore: one shared model loader, bounded timeouts and adaptive retries, a
2xx with an unparsable body turned into a retryable error (botocore would read it as an empty page), paging that
refuses a repeated token, and every response counted and recorded (``RequestCounter``)."""

from __future__ import annotations

import copy
import json
import os
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import boto3
import botocore.client
import botocore.hooks
import botocore.loaders
import botocore.session
import structlog
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from hygiene.sources.interface import RawRecorder, normalised_text

log = structlog.get_logger(__name__)


MAX_ATTEMPTS = 8


#: (connect, read) seconds
TIMEOUTS = (10.0, 60.0)


#: the error code a 2xx answer with an unparsable body is turned into (retried like a 500)
MALFORMED = "MalformedResponse"


_MALFORMED_MESSAGE = "the service answered 2xx with a body that cannot be parsed (truncated or malformed)"


#: what a vendor call can raise (ResponseParserError is not a BotoCoreError)
AWS_ERRORS = (ClientError, BotoCoreError, ResponseParserError)


class PagingLoopError(BotoCoreError):  # type: ignore[misc]
    fmt = "{operation}: the service repeated a page token in {attempts} attempts"


def boto_config(timeouts: tuple[float, float] = TIMEOUTS) -> BotoConfig:
    return BotoConfig(
        retries={"mode": "adaptive", "max_attempts": MAX_ATTEMPTS},
        connect_timeout=timeouts[0],
        read_timeout=timeouts[1],
        user_agent_extra="hygiene-readonly",
        max_pool_connections=16,
    )


def _parsable(protocol: str, body: bytes) -> bool:
    if not body.strip():
        return True
    try:
        if "json" in protocol:
            json.loads(body)
        elif protocol in ("query", "ec2", "rest-xml"):
            ET.fromstring(body)  # noqa: S314 - only checks well-formedness; botocore parses it next
    except (ValueError, ET.ParseError):
        return False
    return True


def _malformed_error(protocol: str) -> bytes:
    if "json" in protocol:
        return json.dumps({"__type": MALFORMED, "message": _MALFORMED_MESSAGE}).encode()
    if protocol == "ec2":
        return (
            f"<Response><Errors><Error><Code>{MALFORMED}</Code><Message>{_MALFORMED_MESSAGE}</Message></Error>"
            "</Errors></Response>"
        ).encode()
    return (
        f"<ErrorResponse><Error><Type>Receiver</Type><Code>{MALFORMED}</Code><Message>{_MALFORMED_MESSAGE}</Message>"
        "</Error></ErrorResponse>"
    ).encode()


def _check_body(response_dict: dict[str, Any], operation_model: Any, **_: Any) -> None:
    """``before-parse``: a 2xx whose body cannot be parsed becomes a ``MalformedResponse`` error answer."""
    status = int(response_dict.get("status_code", 0))
    if not 200 <= status < 300 or operation_model.has_streaming_output:
        return
    protocol = str(operation_model.metadata.get("protocol", ""))
    body = response_dict.get("body") or b""
    if isinstance(body, bytes) and not _parsable(protocol, body):
        log.info("aws answered with an unparsable body, retrying", operation=operation_model.name)
        response_dict["status_code"] = 500
        response_dict["body"] = _malformed_error(protocol)


def _retry_malformed(response: Any = None, **_: Any) -> None:
    """``needs-retry`` (before botocore's own handler): give the malformed answer its 500 so it is retried and,
    once retries are spent, raised as a ClientError."""
    if not response:
        return
    http_response, parsed = response
    if isinstance(parsed, dict) and parsed.get("Error", {}).get("Code") == MALFORMED:
        http_response.status_code = 500


@dataclass
class RequestCounter:
    raw: RawRecorder
    requests: int = 0
    endpoints: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: dataset -> account/region collections that succeeded
    successes: dict[str, int] = field(default_factory=dict)

    def succeeded(self, dataset: str) -> None:
        """One more account (and region) of ``dataset`` read."""
        with self.lock:
            parts = self.successes[dataset] = self.successes.get(dataset, 0) + 1
        self.raw.dataset_read(dataset, parts)

    def attach(self, client: Any) -> Any:
        events = client.meta.events
        events.register("before-send", self._before_send)
        events.register("after-call", self._after_call)
        events.register("before-parse", _check_body)
        service_id = client.meta.service_model.service_id.hyphenize()
        events.register_first(f"needs-retry.{service_id}", _retry_malformed)
        return client

    def _before_send(self, request: Any, **_: Any) -> None:
        with self.lock:
            self.requests += 1

    def _after_call(self, http_response: Any, model: Any, parsed: Any = None, **_: Any) -> None:
        service = model.service_model.endpoint_prefix
        with self.lock:
            self.endpoints.add(f"{service}:{model.name}")
        try:
            body = bytes(http_response.content or b"")
        except AttributeError:  # a response without a raw stream (botocore Stubber)
            body = b""
        if not body and isinstance(parsed, dict):
            body = json.dumps({k: v for k, v in parsed.items() if k != "ResponseMetadata"}, default=str).encode()
        self.raw.record("POST", f"aws://{service}/{model.name}", int(http_response.status_code), body)
        if isinstance(parsed, dict) and body:
            # JSON protocols may carry a lone surrogate escape (a tag value): replaced here, kept as received in raw/
            cleaned = normalised_text(parsed, body)
            if cleaned is not parsed:
                parsed.update(cleaned)


class _SharedLoader(botocore.loaders.Loader):  # type: ignore[misc]
    """botocore's loader (it caches what it parses), locked so that the pool's threads, all starting at once, wait
    for one thread to parse a model instead of each parsing it."""

    def __init__(self) -> None:
        paths = os.environ.get("AWS_DATA_PATH", "")  # as botocore.loaders.create_loader reads it
        super().__init__(extra_search_paths=[os.path.expanduser(p) for p in paths.split(os.pathsep) if p])
        self._lock = threading.RLock()

    def load_service_model(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return super().load_service_model(*args, **kwargs)

    def load_data(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return super().load_data(*args, **kwargs)


#: one model loader for every session: each new boto3 session would otherwise parse the service models (EC2's is
#: megabytes of JSON) again, per account and region, costing seconds and hundreds of MB (docs/benchmarks.md)
_LOADER = _SharedLoader()


class _ClassCachingCreator(botocore.client.ClientCreator):  # type: ignore[misc]
    """botocore's client creator, which builds a new client *class* for every client: a Python function per
    operation (EC2 has about 600) and a ``type()``, a third of a three-platform organisation's CPU in a fleet
    (docs/benchmarks.md). For the sessions of :func:`new_session` (recognised by their shared loader) the class of a
    service is built once per process and reused: it holds only the operations' names and docstrings, all taken from
    the service model ``_LOADER`` keeps; a client's credentials, region, endpoint and event handlers live on the
    instance. Any other session (moto, a user's own boto3) is served by botocore's own code unchanged."""

    _classes: ClassVar[dict[tuple[str, str | None, int], type]] = {}
    _classes_lock: ClassVar[threading.Lock] = threading.Lock()

    def _create_client_class(self, service_name: str, service_model: Any) -> type:
        if self._loader is not _LOADER:
            return super()._create_client_class(service_name, service_model)  # type: ignore[no-any-return]
        # the loader caches the model's dict: its identity changes only if the model is loaded again
        key = (service_name, service_model.api_version, id(service_model._service_description))
        with self._classes_lock:
            found = self._classes.get(key)
            if found is None:
                found = self._classes[key] = super()._create_client_class(service_name, service_model)
        return found


def _install_class_cache() -> None:
    """botocore's session builds its creator through the module attribute ``botocore.client.ClientCreator``: that
    attribute becomes the caching subclass, which defers to botocore for every session that is not ours."""
    if botocore.client.ClientCreator is not _ClassCachingCreator:
        if not issubclass(_ClassCachingCreator, botocore.client.ClientCreator):  # botocore reloaded
            return
        botocore.client.ClientCreator = _ClassCachingCreator


_builtin_hooks: botocore.hooks.HierarchicalEmitter | None = None
_builtin_hooks_lock = threading.Lock()


def _hooks() -> botocore.hooks.HierarchicalEmitter:
    """A copy of botocore's built-in event handlers. A new botocore session registers about 150 of them, checking
    each one's signature with ``inspect`` (a sixth of a fleet scan's AWS CPU for 3-4 sessions per organisation);
    they are module functions, the same for every session, so they are registered once, on a template, and copied
    (botocore copies the same emitter for every client it builds)."""
    global _builtin_hooks
    with _builtin_hooks_lock:
        if _builtin_hooks is None:
            _builtin_hooks = botocore.session.Session()._original_handler
        return copy.copy(_builtin_hooks)


def new_session(**kwargs: Any) -> boto3.Session:
    _install_class_cache()
    core = botocore.session.Session(event_hooks=_hooks(), include_builtin_handlers=False)
    core.register_component("data_loader", _LOADER)
    return boto3.Session(botocore_session=core, **kwargs)


def _tokens(client: Any, operation: str) -> tuple[str, str] | None:
    """(input token, output token) of a paginated operation with one plain token, else None."""
    if not client.can_paginate(operation):
        return ("NextToken", "NextToken")
    config = getattr(client.get_paginator(operation), "_pagination_cfg", None)
    if not isinstance(config, dict):
        return None
    given, returned = config.get("input_token"), config.get("output_token")
    if isinstance(given, str) and isinstance(returned, str) and returned.isidentifier():
        return given, returned
    return None


def pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a paginated operation. A page is only yielded once its next token is known to be new: a page
    whose token was already used is asked for again (``MAX_ATTEMPTS`` times in all), then ``PagingLoopError``."""
    tokens = _tokens(client, operation)
    if tokens is None:  # several tokens: botocore's paginator (it fails on a token repeated twice in a row)
        for page in client.get_paginator(operation).paginate(**kwargs):
            yield from page.get(key, [])
        return
    given, returned = tokens
    call = getattr(client, operation)
    token: str | None = None
    used: set[str] = set()
    while True:
        for _ in range(MAX_ATTEMPTS):
            page = call(**kwargs, **({given: token} if token else {}))
            following = page.get(returned) or None
            if following is None or (following != token and following not in used):
                break
            log.info("aws repeated a page token, asking for the page again", operation=operation)
        else:
            raise PagingLoopError(operation=operation, attempts=MAX_ATTEMPTS)
        yield from page.get(key, [])
        if following is None:
            return
        if token:
            used.add(token)
        token = str(following)
