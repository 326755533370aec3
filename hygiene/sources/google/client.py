"""The Google API client hygiene uses: googleapiclient requests executed with bounded retries (``Retry-After``
honoured, which ``execute(num_retries=…)`` ignores), every response counted and recorded, list methods paged with
repeated page tokens and repeated items handled, and Google's error bodies read into one exception."""

from __future__ import annotations

import functools
import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httplib2
import structlog
from google.auth.exceptions import TransportError
from googleapiclient import discovery_cache
from googleapiclient.errors import HttpError, UnknownApiNameOrVersion

from hygiene.sources.interface import RawRecorder, normalised_text
from hygiene.sources.retry import RetryPolicy, retry_after_seconds

log = structlog.get_logger(__name__)


RATE_LIMIT_REASONS = {"userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded"}


HttpFactory = Callable[[str], Any]


#: googleapiclient completes a discovery document's method descriptions in place the first time a service or a
#: collection is made from it (``_fix_up_parameters``), so with a shared document those are made under this lock;
#: the requests themselves only read it
DISCOVERY_LOCK = threading.Lock()


@functools.cache
def discovery_document(api: str, version: str) -> dict[str, Any]:
    """The discovery document bundled with google-api-python-client (what ``build(static_discovery=True)`` reads),
    parsed once per process. Call under ``DISCOVERY_LOCK``."""
    text = discovery_cache.get_static_doc(api, version)
    if text is None:
        raise UnknownApiNameOrVersion(f"name: {api}  version: {version}")
    document = json.loads(text)
    if not isinstance(document, dict):
        raise UnknownApiNameOrVersion(f"name: {api}  version: {version}: not a discovery document")
    return document


class GoogleApiError(Exception):
    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        uri: str,
        reasons: frozenset[str] = frozenset(),
        info: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"HTTP {status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.uri = uri
        #: every reason the body names (``errors[].reason`` and ErrorInfo ``reason``)
        self.reasons = reasons or frozenset({reason})
        #: the ErrorInfo ``metadata`` (``service``, ``consumer``...): vendor text, never shown unchecked
        self.info = info or {}


@dataclass(frozen=True)
class _ErrorBody:
    reason: str
    message: str
    reasons: frozenset[str]
    info: dict[str, str]


def _error_details(exc: HttpError) -> _ErrorBody:
    """The reasons of a Google error body: ``error.errors[].reason`` (Directory API) and the ``reason`` of
    ``error.details[]`` entries (``google.rpc.ErrorInfo``; One Platform APIs such as Cloud Identity send only
    these), with the ErrorInfo's string metadata."""
    try:
        body = json.loads(exc.content.decode("utf-8", errors="replace"))
        error = body.get("error", {}) if isinstance(body, dict) else {}
    except ValueError:
        return _ErrorBody("", str(exc.resp.reason or ""), frozenset(), {})
    if not isinstance(error, dict):
        return _ErrorBody(str(error), str(body.get("error_description", "")), frozenset({str(error)}), {})
    reasons: list[str] = []
    info: dict[str, str] = {}
    for item in error.get("errors") or []:
        if isinstance(item, dict) and item.get("reason"):
            reasons.append(str(item["reason"]))
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("reason"):
            reasons.append(str(detail["reason"]))
            metadata = detail.get("metadata")
            if isinstance(metadata, dict):
                info.update({str(k): str(v) for k, v in metadata.items() if isinstance(v, str)})
    reason = reasons[0] if reasons else str(error.get("status", ""))
    return _ErrorBody(reason, str(error.get("message", "")), frozenset(reasons), info)


@dataclass
class GoogleClient:
    """Executes googleapiclient requests with bounded retries, counting and recording every response."""

    raw: RawRecorder
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    requests: int = 0
    endpoints: set[str] = field(default_factory=set)

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        return self.retry.delay(attempt, retry_after_seconds(retry_after))

    def execute(self, request: Any) -> dict[str, Any]:
        uri = str(request.uri)
        self.endpoints.add(uri.split("?", 1)[0].split("://", 1)[-1].split("/", 1)[-1])
        for attempt in range(self.retry.max_attempts):
            self.requests += 1
            last = attempt + 1 >= self.retry.max_attempts
            try:
                result = request.execute(num_retries=0)
                if not isinstance(result, dict):
                    raise ValueError(f"a JSON {type(result).__name__}, not an object")
            except HttpError as exc:
                status = int(exc.resp.status)
                details = _error_details(exc)
                reason = details.reason
                self.raw.record("GET", uri, status, exc.content or b"", "application/json")
                throttled = (
                    status == 429 or (status == 403 and bool(details.reasons & RATE_LIMIT_REASONS)) or status >= 500
                )
                if 300 <= status < 400:
                    # redirects are never followed (httplib2's follow_redirects is off): an API answer that sends
                    # the client elsewhere is an error naming where, never the data of another host
                    where = urlsplit(str(exc.resp.get("location") or ""))
                    raise GoogleApiError(
                        status,
                        "Redirect",
                        f"the API answered a redirect to {where.scheme}://{where.hostname or '?'}: not followed",
                        uri,
                    ) from None
                if throttled and not last:
                    delay = self._delay(attempt, exc.resp.get("retry-after"))
                    log.info(
                        "google throttled or failed, retrying", status=status, reason=reason, delay=round(delay, 2)
                    )
                    self.sleep(delay)
                    continue
                raise GoogleApiError(status, reason, details.message, uri, details.reasons, details.info) from None
            except (TimeoutError, httplib2.HttpLib2Error, TransportError, OSError, http.client.HTTPException) as exc:
                if last:
                    raise GoogleApiError(0, "ConnectionFailed", type(exc).__name__, uri) from None
                self.sleep(self._delay(attempt, None))
                continue
            except ValueError:  # a 200 whose body is not JSON (cut short, malformed)
                self.raw.record("GET", uri, 200, b"", "application/json")
                if last:
                    raise GoogleApiError(
                        200,
                        "InvalidJson",
                        f"the response is not valid JSON (truncated or malformed) in {self.retry.max_attempts} "
                        "attempts",
                        uri,
                    ) from None
                self.sleep(self._delay(attempt, None))
                continue
            wire = json.dumps(result).encode("utf-8")  # ASCII: a lone surrogate shows as its escape
            self.raw.record("GET", uri, 200, wire, "application/json")
            return dict(normalised_text(result, wire))
        raise AssertionError("unreachable")  # pragma: no cover

    def pages(self, make_request: Callable[..., Any], key: str, item_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a list method. A page is only yielded once its ``nextPageToken`` is known to be new: a
        page whose token was already used is asked for again (``max_attempts`` times in all), then ``PagingLoop``.
        With ``item_id`` (the field that identifies an item), an item repeated across pages is yielded once."""
        token: str | None = None
        used: set[str] = set()
        ids: set[str] = set()
        while True:
            for attempt in range(self.retry.max_attempts):
                request = make_request(pageToken=token) if token else make_request()
                result = self.execute(request)
                items = result.get(key) or []
                if not isinstance(items, list):
                    raise GoogleApiError(200, "InvalidCollection", f"no '{key}' list in the response", str(request.uri))
                next_token = result.get("nextPageToken") or None
                if next_token is None or (next_token != token and next_token not in used):
                    break
                log.info("google repeated a page token, asking for the page again", key=key)
                if attempt + 1 < self.retry.max_attempts:
                    self.sleep(self._delay(attempt, None))
            else:
                raise GoogleApiError(
                    200,
                    "PagingLoop",
                    f"the service repeated a page token in {self.retry.max_attempts} attempts",
                    str(request.uri),
                )
            for item in items:
                ident = item.get(item_id) if item_id and isinstance(item, dict) else None
                if ident is not None:
                    if str(ident) in ids:
                        log.info("google repeated an item across pages, skipped", key=key)
                        continue
                    ids.add(str(ident))
                yield item
            if next_token is None:
                return
            if token:
                used.add(token)
            token = str(next_token)
