"""A small Microsoft Graph client: msal tokens, ``@odata.nextLink`` paging, ``$batch``, bounded retries.

Facts it relies on (https://learn.microsoft.com/graph/throttling, /graph/paging, /graph/json-batching):
- throttled responses are 429 (sometimes 503) with ``Retry-After`` in seconds; without it, back off
  exponentially;
- follow ``@odata.nextLink`` verbatim, never build skip tokens;
- ``$batch`` takes at most 20 requests; the envelope is 200 and each sub-response has its own status, so
  throttled sub-requests are retried on their own after their own ``Retry-After``;
- errors look like ``{"error": {"code": ..., "message": ..., "innerError": {...}}}``.

Faults that are retried (bounded by ``RetryPolicy.max_attempts``): 429 and 5xx, connection failures, resets and
bodies cut short, read timeouts, and a 2xx whose body is not JSON (truncated or malformed: never read as an
empty page). A page whose ``@odata.nextLink`` repeats a link already followed is asked for again (a transient
server fault); if it keeps repeating the collection fails (``PagingLoop``) rather than being cut short or read
twice. Items repeated across pages (same ``id``) are yielded once.

Every URL a response hands us is hostile (a compromised proxy, a bug, a forged page): the bearer token only goes
to the configured Graph origin (scheme, host and port), so a ``@odata.nextLink`` elsewhere is a ``OffHostLink``
error naming the host, never followed; redirects are never followed on API calls. The one legitimate redirect,
the usage report's 302 to a pre-authorised download URL (Learn shows ``https://reports.office.com/data/download/…``),
is fetched without the token, and only from the Graph origin or an ``https`` host under ``office.com``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import structlog
from requests.utils import requote_uri

from hygiene.sources.interface import RawRecorder, scrub_url, vendor_json
from hygiene.sources.retry import RetryPolicy, retry_after_seconds

log = structlog.get_logger(__name__)

BATCH_LIMIT = 20
RETRY_STATUSES = {429, 500, 502, 503, 504}
#: transport failures worth another attempt: refused or reset connections, read timeouts, bodies cut short
TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


#: where a usage report's pre-authorised download may be fetched from besides the Graph origin (https only)
REPORT_DOWNLOAD_DOMAINS = ("office.com",)


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL, lower-cased, with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    return scheme, (parts.hostname or "").lower(), port or (443 if scheme == "https" else 80)


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, url: str) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.url = url


class PinnedVerifySession(requests.Session):
    """A session whose ``verify`` is not overridden by REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE.

    requests lets those variables win over ``Session.verify``; with an explicit CA bundle configured (a
    TLS-inspecting proxy, the sandbox) that would silently use the wrong trust store. Proxies from the
    environment are still honoured.
    """

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if isinstance(self.verify, str) and verify in (None, True):
            settings["verify"] = self.verify
        return settings


def make_session(ca_bundle: str | None) -> requests.Session:
    session = PinnedVerifySession()
    if ca_bundle:
        session.verify = ca_bundle
    session.headers["User-Agent"] = "hygiene (read-only security hygiene scanner)"
    return session


def _error_of(status: int, body: Any, url: str) -> GraphError:
    code, message = f"HTTP{status}", ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = str(body["error"].get("code") or code)
        message = str(body["error"].get("message") or "")
    return GraphError(status, code, message, scrub_url(url))


class GraphClient:
    def __init__(
        self,
        graph_url: str,
        token: Callable[[], str],
        session: requests.Session,
        raw: RawRecorder,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base = graph_url.rstrip("/")
        self.origin = origin(self.base)
        self._token = token
        self._session = session
        self._raw = raw
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self.requests = 0
        self.endpoints: set[str] = set()

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        return self._retry.delay(attempt, retry_after)

    def url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        url = path if path.startswith("https://") else f"{self.base}/{path.lstrip('/')}"
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params, safe="$,()'=")
        return url

    def _pinned(self, url: str) -> None:
        """Refuse, before the token is attached, any URL outside the configured Graph origin."""
        scheme, host, port = origin(url)
        if (scheme, host, port) != self.origin:
            where = f"{scheme}://{host}:{port}" if host else repr(url[:80])
            raise GraphError(
                200,
                "OffHostLink",
                f"the response pointed at {where}, not the configured Graph host {self.origin[1]}: not followed "
                "(the token only goes to the configured host)",
                scrub_url(url) if host else "",
            )

    def _send(self, method: str, url: str, body: Any = None) -> requests.Response:
        self._pinned(url)
        for attempt in range(self._retry.max_attempts):
            headers = {"Authorization": f"Bearer {self._token()}", "Accept": "application/json"}
            self.requests += 1
            try:
                response = self._session.request(
                    method, url, headers=headers, json=body, timeout=self._retry.timeout, allow_redirects=False
                )
            except TRANSIENT_ERRORS as exc:
                if attempt + 1 >= self._retry.max_attempts:
                    raise GraphError(0, "ConnectionFailed", type(exc).__name__, scrub_url(url)) from None
                delay = self._delay(attempt, None)
                log.info("graph request failed, retrying", url=scrub_url(url), error=type(exc).__name__, delay=delay)
                self._sleep(delay)
                continue
            self._raw.record(
                method, url, response.status_code, response.content, response.headers.get("Content-Type", "")
            )
            if response.status_code in RETRY_STATUSES and attempt + 1 < self._retry.max_attempts:
                delay = self._delay(attempt, retry_after_seconds(response.headers.get("Retry-After")))
                log.info(
                    "graph throttled or failed, retrying",
                    url=scrub_url(url),
                    status=response.status_code,
                    delay=round(delay, 2),
                )
                self._sleep(delay)
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _json(self, method: str, url: str, body: Any = None) -> Any:
        """The JSON of a successful answer. A 2xx whose body is not JSON (cut short, an HTML error page from a
        gateway) is asked for again, like a 5xx: it is never taken for an empty answer."""
        for attempt in range(self._retry.max_attempts):
            response = self._send(method, url, body)
            try:
                payload = vendor_json(response.content) if response.content else {}
            except ValueError:
                payload = None
            if response.status_code >= 400:
                raise _error_of(response.status_code, payload, url)
            if 300 <= response.status_code < 400:
                # never followed, never read as an (empty) answer: say where it pointed
                where = origin(response.headers.get("Location") or "")
                raise GraphError(
                    response.status_code,
                    "Redirect",
                    f"the API answered a redirect to {where[0]}://{where[1] or '?'}:{where[2]}: not followed",
                    scrub_url(url),
                )
            if payload is not None:
                return payload
            if attempt + 1 >= self._retry.max_attempts:
                break
            delay = self._delay(attempt, None)
            log.info("graph answered with a body that is not JSON, retrying", url=scrub_url(url), delay=delay)
            self._sleep(delay)
        raise GraphError(
            response.status_code,
            "InvalidJson",
            f"the response is not valid JSON (truncated or malformed) in {self._retry.max_attempts} attempts",
            scrub_url(url),
        )

    def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        self.endpoints.add(path.split("?", 1)[0])
        return self._json("GET", self.url(path, params))

    def get_redirect(self, path: str) -> str:
        """GET a report that answers 302 with a short-lived download URL; return that URL."""
        self.endpoints.add(path)
        url = self.url(path)
        response = self._send("GET", url)
        if response.status_code in (301, 302, 303, 307, 308) and response.headers.get("Location"):
            return response.headers["Location"]
        if response.status_code >= 400:
            try:
                payload = response.json()
            except ValueError:
                payload = None
            raise _error_of(response.status_code, payload, url)
        raise GraphError(response.status_code, "NoRedirect", "expected a redirect to the report", scrub_url(url))

    def download(self, url: str) -> bytes:
        """Fetch a pre-authorised download URL (no bearer token: it must not leave Graph), only from the Graph
        origin or an https host under :data:`REPORT_DOWNLOAD_DOMAINS`; redirects from there are not followed."""
        scheme, host, _ = origin(url)
        allowed = origin(url) == self.origin or (
            scheme == "https" and any(host == d or host.endswith("." + d) for d in REPORT_DOWNLOAD_DOMAINS)
        )
        if not allowed:
            raise GraphError(
                302,
                "OffHostLink",
                f"the report download pointed at {scheme}://{host}, which is not a Microsoft report host: not fetched",
                scrub_url(url) if host else "",
            )
        for attempt in range(self._retry.max_attempts):
            self.requests += 1
            try:
                response = self._session.get(url, timeout=self._retry.timeout, allow_redirects=False)
            except TRANSIENT_ERRORS as exc:
                if attempt + 1 >= self._retry.max_attempts:
                    raise GraphError(0, "ConnectionFailed", type(exc).__name__, scrub_url(url)) from None
                self._sleep(self._delay(attempt, None))
                continue
            self._raw.record(
                "GET", url, response.status_code, response.content, response.headers.get("Content-Type", "")
            )
            if response.status_code in RETRY_STATUSES and attempt + 1 < self._retry.max_attempts:
                self._sleep(self._delay(attempt, retry_after_seconds(response.headers.get("Retry-After"))))
                continue
            if response.status_code >= 300:
                what = "redirected again (not followed)" if response.status_code < 400 else "download failed"
                raise GraphError(response.status_code, f"HTTP{response.status_code}", what, scrub_url(url))
            return response.content
        raise AssertionError("unreachable")  # pragma: no cover

    def get_all(
        self, path: str, params: Mapping[str, str] | None = None, max_pages: int = 100_000
    ) -> Iterator[dict[str, Any]]:
        """Every item of a collection, following ``@odata.nextLink`` verbatim.

        A page is only yielded once its link to the next page is known to be new: a page that points back to
        itself or to an earlier page is asked for again (``max_attempts`` times in all), then ``PagingLoop``.
        The next page is requested as soon as its link is known, on a helper thread, so that turning this
        page's items into records overlaps the wait for the next one (the wait is the critical path)."""
        self.endpoints.add(path.split("?", 1)[0])
        url = self.url(path, params)
        followed = {requote_uri(url)}
        ids: set[str] = set()
        pages = 1
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hygiene-graph-page") as prefetch:
            page: Future[tuple[list[Any], str | None]] | None = prefetch.submit(self._page, url, frozenset(followed))
            while page is not None:
                value, next_url = page.result()
                page = None
                if next_url is not None:
                    followed.add(requote_uri(next_url))
                    pages += 1
                    if pages > max_pages:
                        raise GraphError(200, "PagingLoop", f"more than {max_pages} pages", scrub_url(next_url))
                    page = prefetch.submit(self._page, next_url, frozenset(followed))
                for item in value:
                    item_id = item.get("id") if isinstance(item, dict) else None
                    if isinstance(item_id, str):
                        if item_id in ids:
                            log.info("graph repeated an item across pages, skipped", path=path)
                            continue
                        ids.add(item_id)
                    yield item

    def _page(self, url: str, followed: frozenset[str]) -> tuple[list[Any], str | None]:
        """One page's items and its link to the next page (None on the last), asking again while that link
        repeats one already followed."""
        for attempt in range(self._retry.max_attempts):
            payload = self._json("GET", url)
            value = payload.get("value") if isinstance(payload, dict) else None
            if not isinstance(value, list):
                raise GraphError(200, "InvalidCollection", "no 'value' list in the response", scrub_url(url))
            next_link = payload.get("@odata.nextLink")
            next_url = next_link if isinstance(next_link, str) and next_link else None
            if next_url is None or requote_uri(next_url) not in followed:
                return value, next_url
            log.info("graph repeated a page link, asking for the page again", url=scrub_url(url))
            if attempt + 1 < self._retry.max_attempts:
                self._sleep(self._delay(attempt, None))
        raise GraphError(
            200,
            "PagingLoop",
            f"the service repeated a page link in {self._retry.max_attempts} attempts",
            scrub_url(url),
        )

    def batch(self, urls: Sequence[str], version: str = "v1.0") -> dict[str, tuple[int, Any]]:
        """GET many relative URLs through ``$batch`` (≤20 per request); returns url -> (status, body).

        Throttled sub-requests are retried on their own, after the longest ``Retry-After`` they carry.
        """
        results: dict[str, tuple[int, Any]] = {}
        pending = list(dict.fromkeys(urls))
        batch_url = f"{self.base}/{version}/$batch"
        self.endpoints.add(f"/{version}/$batch")
        attempts: dict[str, int] = {}
        while pending:
            chunk, pending = pending[:BATCH_LIMIT], pending[BATCH_LIMIT:]
            body = {"requests": [{"id": str(i), "method": "GET", "url": u} for i, u in enumerate(chunk)]}
            payload = self._json("POST", batch_url, body)
            retry_after = 0.0
            for sub in payload.get("responses", []):
                try:
                    target = chunk[int(sub.get("id"))]
                except (TypeError, ValueError, IndexError):
                    continue
                status = int(sub.get("status", 0))
                if status in RETRY_STATUSES and attempts.get(target, 0) + 1 < self._retry.max_attempts:
                    attempts[target] = attempts.get(target, 0) + 1
                    pending.append(target)
                    headers = {str(k): str(v) for k, v in (sub.get("headers") or {}).items()}
                    retry_after = max(
                        retry_after,
                        retry_after_seconds(headers.get("Retry-After")) or self._delay(attempts[target], None),
                    )
                    continue
                results[target] = (status, sub.get("body"))
            answered = {
                chunk[int(s["id"])]
                for s in payload.get("responses", [])
                if str(s.get("id", "")).isdigit() and int(s["id"]) < len(chunk)
            }
            for missing in chunk:
                if missing not in answered and missing not in results:
                    results[missing] = (0, {"error": {"code": "MissingBatchResponse", "message": ""}})
            if retry_after and pending:
                self._sleep(retry_after)
        return results
