"""Azure Resource Manager for the Azure source: the subscription list and Azure Resource Graph queries.

The pipeline is pinned rather than left to azure-core's defaults (docs/vendor-facts.md, "Azure"):
- **no redirects**: ``RedirectPolicy.no_redirects()``; a 3xx is a dataset error naming where it pointed;
- **no writes**: the generated client's ``ARMAutoResourceProviderRegistrationPolicy`` (which answers a 409
  ``MissingSubscriptionRegistration`` by registering the resource provider: a write) is left out;
- **retries here**, not in azure-core (``RetryPolicy.no_retries()``): the shared ``hygiene.sources.retry`` policy,
  Retry-After capped, a 2xx body that does not parse retried and then a dataset error;
- **tokens only to the configured origin**: the bearer policy is only in this pipeline, whose requests go to
  ``management_url``; a subscription-list ``nextLink`` to another origin is an ``OffHostLink`` error, not followed;
- **throttling headers honoured**: when ``x-ms-user-quota-remaining`` reaches 0 the next query waits
  ``x-ms-user-quota-resets-after`` (capped like Retry-After).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    DecodeError,
    DeserializationError,
    HttpResponseError,
)
from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import (
    ContentDecodePolicy,
    HeadersPolicy,
    ProxyPolicy,
    RedirectPolicy,
    RequestIdPolicy,
    UserAgentPolicy,
)
from azure.core.pipeline.policies import RetryPolicy as AzureRetryPolicy
from azure.core.rest import HttpRequest
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy
from azure.mgmt.resourcegraph import ResourceGraphClient
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions, ResultFormat
from hygiene import __version__
from hygiene.model import ReasonKind
from hygiene.sources.azure.catalogue import READER
from hygiene.sources.interface import RawRecorder, Unavailable, vendor_json
from hygiene.sources.retry import MAX_RETRY_AFTER_SECONDS, RetryPolicy, retry_after_seconds

RESOURCE_GRAPH_PATH = "/providers/Microsoft.ResourceGraph/resources"
RESOURCE_GRAPH_API = "2022-10-01"
SUBSCRIPTIONS_PATH = "/subscriptions"
SUBSCRIPTIONS_API = "2022-12-01"
#: ``QueryRequestOptions.$top`` maximum in the 2022-10-01 specification
PAGE_SIZE = 1000
#: subscriptions per query (the documented batching of Resource Graph's ``subscriptions`` scope)
SUBSCRIPTIONS_PER_QUERY = 1000
MAX_PAGES = 100_000


def management_scope(management_url: str) -> str:
    """The token scope of Azure Resource Manager at ``management_url`` (``https://management.azure.com/.default``)."""
    return management_url.rstrip("/") + "/.default"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def quota_reset_seconds(value: str | None) -> float | None:
    """``x-ms-user-quota-resets-after`` (``hh:mm:ss``) in seconds, capped; None when absent or malformed."""
    if not value:
        return None
    parts = value.strip().split(":")
    try:
        hours, minutes, seconds = (float(p) for p in parts) if len(parts) == 3 else (0.0, 0.0, float(parts[-1]))
    except ValueError:
        return None
    return min(max(hours * 3600 + minutes * 60 + seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


@dataclass
class _Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def _raw_response(pipeline_response: PipelineResponse[Any, Any], deserialized: Any, headers: Any) -> Any:
    return pipeline_response.http_response


def _pipeline(credential: TokenCredential, scope: str) -> list[Any]:
    return [
        RequestIdPolicy(),
        HeadersPolicy(),
        UserAgentPolicy(base_user_agent=f"hygiene/{__version__}"),
        ProxyPolicy(),
        ContentDecodePolicy(),
        RedirectPolicy.no_redirects(),
        AzureRetryPolicy.no_retries(),
        ARMChallengeAuthenticationPolicy(credential, scope),
    ]


@dataclass
class ArmClient:
    """Reads the subscription list and runs Resource Graph queries, recording every answer under ``raw/azure``."""

    credential: TokenCredential
    management_url: str
    raw: RawRecorder
    ca_bundle: str | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    #: Resource Graph's quota, shared by the tables' threads so that together they never send more than it allows:
    #: queries sent in this window, the number the window allows (None: not known yet; from each answer, its
    #: position plus the quota it reports left), when it resets (``clock`` time), and the windows waited out
    _quota_sent: int = 0
    _quota_allows: int | None = None
    _quota_reset_at: float = 0.0
    _quota_window: int = 0
    _quota_lock: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        base = self.management_url.rstrip("/")
        self.base = base
        transport: dict[str, Any] = {
            "connection_verify": self.ca_bundle or True,
            "connection_timeout": self.policy.timeout[0],
            "read_timeout": self.policy.timeout[1],
        }
        policies = _pipeline(self.credential, management_scope(base))
        # the SDK's default api-version (2021-03-01 in 8.0) is not the one whose contract is pinned here
        self.graph = ResourceGraphClient(
            self.credential, base_url=base, policies=policies, api_version=RESOURCE_GRAPH_API, **transport
        )
        self.arm: ARMPipelineClient[Any, Any] = ARMPipelineClient(base_url=base, policies=policies, **transport)

    def close(self) -> None:
        self.graph.close()
        self.arm.close()

    # -- one request, retried -------------------------------------------------------------------------------
    def _exchange(self, method: str, url: str, send: Callable[[], Any], *, query: bool = False) -> Any:
        """The parsed JSON of a 2xx answer to ``send()``; else :class:`Unavailable` saying why. A Resource Graph
        ``query`` spends the quota."""
        endpoint = urlsplit(url).path
        last = "no answer"
        for attempt in range(self.policy.max_attempts):
            ticket = self._spend_quota() if query else None
            answer = self._send(send, endpoint)
            if isinstance(answer, str):
                last = answer
                if ticket is not None:
                    self._no_answer(ticket)
                self.sleep(self.policy.delay(attempt))
                continue
            self.raw.record(method, url, answer.status, answer.body, answer.headers.get("content-type", ""))
            if ticket is not None:
                self._note_quota(answer.headers, ticket)
            if 200 <= answer.status < 300:
                try:
                    return vendor_json(answer.body)
                except ValueError:
                    last = f"an answer of {len(answer.body)} bytes that is not JSON"
            elif 300 <= answer.status < 400:
                where = answer.headers.get("location", "nowhere")
                raise Unavailable(
                    ReasonKind.ERROR,
                    f"{endpoint} answered {answer.status} redirecting to {where}: redirects are not followed",
                    endpoint=endpoint,
                )
            elif answer.status == 429 or answer.status >= 500:
                last = f"HTTP {answer.status}"
                self.sleep(self.policy.delay(attempt, retry_after_seconds(answer.headers.get("retry-after"))))
                continue
            else:
                raise self._refusal(answer, endpoint)
            self.sleep(self.policy.delay(attempt))
        raise Unavailable(
            ReasonKind.UNREACHABLE if last.startswith(("HTTP 5", "no answer", "connection")) else ReasonKind.ERROR,
            f"{endpoint}: gave up after {self.policy.max_attempts} attempts ({last})",
            endpoint=endpoint,
        )

    def _send(self, send: Callable[[], Any], endpoint: str) -> _Answer | str:
        """The answer, or a string saying why there was none (worth retrying)."""
        try:
            response = send()
        except ClientAuthenticationError as exc:
            response = exc.response
            request = getattr(response, "request", None)
            if response is None or _origin(str(getattr(request, "url", ""))) != _origin(self.base):
                reason = " ".join(str(exc.message or exc).split())[:600]
                raise Unavailable(
                    ReasonKind.PERMISSION,
                    f"no token for Azure Resource Manager: {reason}",
                    (READER,),
                    endpoint=endpoint,
                ) from None
        except HttpResponseError as exc:
            if exc.response is None:
                return f"connection failed ({type(exc).__name__})"
            response = exc.response
        except (DecodeError, DeserializationError) as exc:
            return f"an answer that is not JSON ({type(exc).__name__})"
        except (AzureError, OSError) as exc:
            return f"connection failed ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
        try:
            body = response.read()
        except (AzureError, OSError) as exc:
            return f"connection failed reading the answer ({type(exc).__name__})"
        headers = {k.lower(): v for k, v in response.headers.items()}
        return _Answer(int(response.status_code), headers, body)

    def _spend_quota(self) -> tuple[int, int]:
        """Take one query from the quota and return its ticket: (window, its position in the window). Until an
        answer of the window says what it allows, only one query is in flight (a burst at the start of a window
        could overrun it); when the window allows no more, wait (holding the others) until it resets."""
        with self._quota_lock:
            while True:
                if self._quota_allows is None:
                    if self._quota_sent == 0 or not self._quota_lock.wait(timeout=self.policy.timeout[1]):
                        break  # the first of the window, or no answer in time: go ahead
                elif self._quota_sent < self._quota_allows:
                    break
                else:
                    delay = self._quota_reset_at - self.clock()
                    if delay > 0:
                        self.sleep(min(delay, MAX_RETRY_AFTER_SECONDS))
                    self._quota_window, self._quota_sent, self._quota_allows = self._quota_window + 1, 0, None
            self._quota_sent += 1
            return self._quota_window, self._quota_sent - 1

    def _no_answer(self, ticket: tuple[int, int]) -> None:
        """A query that got no answer (no connection, a body azure-core could not read) tells nothing of the window.
        While the window's limit is unknown only one query is in flight: free its place, so that the retry or the
        next query goes ahead now instead of waiting out the read timeout for an answer that will not come."""
        window, _ = ticket
        with self._quota_lock:
            if window == self._quota_window and self._quota_allows is None and self._quota_sent > 0:
                self._quota_sent -= 1
                self._quota_lock.notify_all()

    def _note_quota(self, headers: dict[str, str], ticket: tuple[int, int]) -> None:
        """Read ``x-ms-user-quota-remaining`` / ``-resets-after`` from the answer to the query of ``ticket``: the
        window allows at most its position + 1 + what it reports left (answers may arrive out of order: the
        smallest wins); answers to queries of an earlier window are ignored. An answer without the headers lifts
        the limit (nothing is known to keep to)."""
        window, position = ticket
        reset = quota_reset_seconds(headers.get("x-ms-user-quota-resets-after"))
        with self._quota_lock:
            if window != self._quota_window:
                return
            try:
                allows = position + 1 + max(int(headers["x-ms-user-quota-remaining"]), 0)
            except (KeyError, ValueError):
                allows = MAX_PAGES * SUBSCRIPTIONS_PER_QUERY
            self._quota_allows = allows if self._quota_allows is None else min(self._quota_allows, allows)
            self._quota_reset_at = self.clock() + (1.0 if reset is None else reset)
            self._quota_lock.notify_all()

    @staticmethod
    def _refusal(answer: _Answer, endpoint: str) -> Unavailable:
        try:
            error = vendor_json(answer.body).get("error") or {}
        except (ValueError, AttributeError):
            error = {}
        code = str(error.get("code") or f"HTTP {answer.status}")
        message = " ".join(str(error.get("message") or "").split())[:600]
        details = [d for d in error.get("details") or [] if isinstance(d, dict)]
        more = "; ".join(f"{d.get('code')}: {d.get('message')}" for d in details)[:600]
        reason = f"{endpoint} refused the request: {code}: {message}" + (f" ({more})" if more else "")
        if answer.status in (401, 403):
            return Unavailable(ReasonKind.PERMISSION, reason, (READER,), endpoint)
        return Unavailable(ReasonKind.ERROR, reason, endpoint=endpoint)

    def _get(self, url: str) -> Any:
        return self.arm.send_request(HttpRequest("GET", url))

    # -- the subscription list ------------------------------------------------------------------------------
    def subscriptions(self) -> list[dict[str, Any]]:
        """Every subscription the app can read (``GET /subscriptions``), following ``nextLink`` on this origin only."""
        url = f"{self.base}{SUBSCRIPTIONS_PATH}?api-version={SUBSCRIPTIONS_API}"
        found: list[dict[str, Any]] = []
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            seen.add(url)
            page = self._exchange("GET", url, partial(self._get, url))
            if not isinstance(page, dict) or not isinstance(page.get("value", []), list):
                raise Unavailable(ReasonKind.ERROR, f"{SUBSCRIPTIONS_PATH}: an answer without a value list")
            found.extend(s for s in page.get("value", []) if isinstance(s, dict))
            link = page.get("nextLink")
            if not link:
                return found
            if not isinstance(link, str) or _origin(link) != _origin(self.base):
                raise Unavailable(
                    ReasonKind.ERROR,
                    f"OffHostLink: the subscription list's nextLink points to {_origin(str(link))}, not "
                    f"{_origin(self.base)}: not followed",
                    endpoint=SUBSCRIPTIONS_PATH,
                )
            if link in seen:
                raise Unavailable(
                    ReasonKind.ERROR, "PagingLoop: the subscription list's nextLink repeats a page already read"
                )
            url = link
        raise Unavailable(ReasonKind.ERROR, f"PagingLoop: more than {MAX_PAGES} pages of subscriptions")

    # -- Resource Graph -------------------------------------------------------------------------------------
    def query(self, query: str, subscriptions: list[str]) -> list[dict[str, Any]]:
        """Every row of ``query`` over ``subscriptions``: pages of ``$top`` 1000 followed by ``$skipToken``.

        A page whose ``$skipToken`` repeats one already used is asked for again (``max_attempts`` times in all),
        then ``PagingLoop``; an answer ``resultTruncated`` without a ``$skipToken``, or fewer rows in all than
        ``totalRecords``, is an error: never a short list."""
        rows: list[dict[str, Any]] = []
        for start in range(0, len(subscriptions), SUBSCRIPTIONS_PER_QUERY):
            rows.extend(self._pages(query, subscriptions[start : start + SUBSCRIPTIONS_PER_QUERY]))
        return rows

    def _pages(self, query: str, scope: list[str]) -> Iterator[dict[str, Any]]:
        url = f"{self.base}{RESOURCE_GRAPH_PATH}?api-version={RESOURCE_GRAPH_API}"
        token: str | None = None
        used: set[str] = set()
        repeats = 0
        read = 0
        total: int | None = None
        for _ in range(MAX_PAGES):
            options = QueryRequestOptions(top=PAGE_SIZE, skip_token=token, result_format=ResultFormat.OBJECT_ARRAY)
            request = QueryRequest(subscriptions=scope, query=query, options=options)
            page = self._exchange("POST", url, partial(self.graph.resources, request, cls=_raw_response), query=True)
            data = page.get("data") if isinstance(page, dict) else None
            if not isinstance(data, list) or not isinstance(page.get("totalRecords"), int):
                raise Unavailable(ReasonKind.ERROR, f"{RESOURCE_GRAPH_PATH}: an answer without data or totalRecords")
            following = page.get("$skipToken")
            if following is not None and (following == token or following in used):
                repeats += 1
                if repeats >= self.policy.max_attempts:
                    raise Unavailable(
                        ReasonKind.ERROR,
                        f"PagingLoop: Resource Graph's $skipToken repeated a page {repeats} times",
                        endpoint=RESOURCE_GRAPH_PATH,
                    )
                continue  # the same page again: its rows are dropped and it is asked for again
            total = page["totalRecords"] if total is None else total
            read += len(data)
            yield from (row for row in data if isinstance(row, dict))
            if not following:
                if page.get("resultTruncated") == "true":
                    raise Unavailable(
                        ReasonKind.ERROR,
                        "Resource Graph truncated the answer (resultTruncated) without a $skipToken",
                        endpoint=RESOURCE_GRAPH_PATH,
                    )
                if read < total:
                    raise Unavailable(
                        ReasonKind.ERROR,
                        f"Resource Graph said {total} records but {read} were read",
                        endpoint=RESOURCE_GRAPH_PATH,
                    )
                return
            if token is not None:
                used.add(token)
            token = str(following)
        raise Unavailable(ReasonKind.ERROR, f"PagingLoop: more than {MAX_PAGES} pages", endpoint=RESOURCE_GRAPH_PATH)
