"""A fake Azure Resource Manager: the subscription list and Azure Resource Graph, on the sandbox's port, behind
the same fake identity platform (a token for ``{sandbox}/.default``).

- ``GET /subscriptions?api-version=2022-12-01``: the subscriptions the app holds Reader on, ``nextLink`` paging.
- ``POST /providers/Microsoft.ResourceGraph/resources?api-version=2022-10-01`` with a ``QueryRequest``: only the
  query shape the Azure source sends is answered (``<table> | where type =~ '…' or … | project …``); ``join``,
  ``union``, ``summarize`` and anything else is refused with Resource Graph's ``BadRequest``/``InvalidQuery``
  error. Rows only from readable subscriptions in the request's scope; ``options.$top`` (1 to 1000) and
  ``$skipToken`` honoured (pages of at most the scenario's ``page_limit``), ``totalRecords``/``count``/
  ``resultTruncated``; the throttling headers ``x-ms-user-quota-remaining`` / ``x-ms-user-quota-resets-after``.

Errors use ARM's envelope ``{"error": {"code", "message", "details"?}}`` and its ``x-ms-request-id``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from hygiene_sandbox.azure_scenario import TABLES, AzureScenario
from hygiene_sandbox.expectation import JsonDict
from hygiene_sandbox.identity import TokenStore
from hygiene_sandbox.wire import Reply, json_reply, new_request_id

GRAPH_PATH = "/providers/microsoft.resourcegraph/resources"
SUBSCRIPTIONS_PATH = "/subscriptions"
GRAPH_API = "2022-10-01"
SUBSCRIPTIONS_API = "2022-12-01"
#: Resource Graph's per-user quota: queries per window (the documented example: 15 in 5 seconds); a scenario may
#: set its own (``AzureScenario.quota``)
QUOTA = 15
QUOTA_WINDOW_SECONDS = 5.0

_WHERE = re.compile(r"^where\s+type\s*=~\s*'([^']+)'((?:\s+or\s+type\s*=~\s*'[^']+')*)$", re.IGNORECASE)
_TYPE = re.compile(r"type\s*=~\s*'([^']+)'", re.IGNORECASE)
_COLUMN = re.compile(r"^(?:([A-Za-z_][A-Za-z0-9_]*)\s*=\s*)?([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)$")


class QueryError(Exception):
    pass


def parse_query(query: str) -> tuple[str, set[str], list[tuple[str, list[str]]]]:
    """(table, types, [(column, path)]) of ``<table> | where type =~ 'a' or … | project c, alias = a.b, …``; a
    :class:`QueryError` for any other shape."""
    stages = [s.strip() for s in query.split("|")]
    if len(stages) != 3 or stages[0].lower() not in TABLES:
        raise QueryError("expected '<table> | where … | project …' over one table")
    where = _WHERE.match(stages[1])
    if where is None:
        raise QueryError("only 'where type =~ …' filters joined by 'or' are served")
    types = {t.lower() for t in _TYPE.findall(stages[1])}
    if not stages[2].lower().startswith("project "):
        raise QueryError("expected a final 'project'")
    columns = []
    for part in stages[2][len("project ") :].split(","):
        match = _COLUMN.match(part.strip())
        if match is None:
            raise QueryError(f"cannot project {part.strip()!r}")
        path = match.group(2).split(".")
        columns.append((match.group(1) or path[-1], path))
    return stages[0].lower(), types, columns


def _pick(row: JsonDict, path: list[str]) -> Any:
    value: Any = row
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def arm_error(status: int, code: str, message: str, details: list[JsonDict] | None = None) -> Reply:
    error: JsonDict = {"code": code, "message": message}
    if details:
        error["details"] = details
    return json_reply(status, {"error": error}, headers={"x-ms-request-id": new_request_id()})


def _version_error(params: dict[str, str], supported: str) -> Reply:
    given = params.get("api-version", "")
    return arm_error(
        400,
        "InvalidApiVersionParameter",
        f"The api-version '{given}' is invalid. The supported version is '{supported}'.",
    )


class AzureArm:
    def __init__(self, scenario: AzureScenario | None, base_url: str, tokens: TokenStore) -> None:
        self.scenario = scenario
        self.base_url = base_url
        self.tokens = tokens
        self.queries = 0
        self.throttled = 0
        self._window_start = float("-inf")
        self._spent = 0
        #: query and scope digest -> its rows, computed at the first page
        self._results: dict[str, list[JsonDict]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def handles(path: str) -> bool:
        lowered = path.lower()
        return lowered == SUBSCRIPTIONS_PATH or lowered.startswith((SUBSCRIPTIONS_PATH + "/", "/providers/"))

    def fault_reply(self, status: int, retry_after: int | None) -> Reply:
        reply = arm_error(status, "TooManyRequests" if status == 429 else "ServerError", "Injected fault.")
        if retry_after is not None:
            reply.headers["Retry-After"] = str(retry_after)
        return reply

    def handle(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Reply:
        lowered = path.lower()
        if self.scenario is None:
            return arm_error(404, "NotFound", f"Nothing is served at '{path}'.")
        denied = self._authorise(headers)
        if denied is not None:
            return denied
        params = dict(parse_qsl(query, keep_blank_values=True))
        if lowered == SUBSCRIPTIONS_PATH and method == "GET":
            return self._subscriptions(params)
        if lowered == GRAPH_PATH and method == "POST":
            return self._graph(params, body)
        if method != "GET":
            return arm_error(405, "MethodNotAllowed", f"The sandbox is read-only: {method} is refused.")
        return arm_error(
            404, "NotFound", f"The sandbox serves no resource at '{path}': read it through Resource Graph."
        )

    def _authorise(self, headers: Mapping[str, str]) -> Reply | None:
        auth = headers.get("authorization", "")
        token = self.tokens.lookup(auth[7:]) if auth.startswith("Bearer ") else None
        if token is None:
            return arm_error(
                401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
            )
        if token.expires_at <= self.tokens.now():
            return arm_error(401, "ExpiredAuthenticationToken", "The access token expiry UTC time is in the past.")
        assert self.scenario is not None
        if token.tenant_id.lower() != self.scenario.tenant_id.lower():
            return arm_error(401, "InvalidAuthenticationTokenTenant", "The access token is from the wrong issuer.")
        return None

    def _spend_quota(self) -> tuple[int, str]:
        """(queries left in the window after this one, -1 when over quota; time until the window resets). As the
        throttling guidance describes it: a window opens with the first query, and when it has passed the whole
        quota is back."""
        now = time.monotonic()
        with self._lock:
            quota, seconds = (
                (self.scenario.quota, self.scenario.quota_window_seconds)
                if self.scenario is not None
                else (QUOTA, QUOTA_WINDOW_SECONDS)
            )
            if now - self._window_start >= seconds:
                self._window_start, self._spent = now, 0
            over = self._spent >= quota
            if not over:
                self._spent += 1
                self.queries += 1
            left = seconds - (now - self._window_start)
            remaining = -1 if over else quota - self._spent
        return remaining, f"00:00:{min(59, math.ceil(left)):02d}"

    # -- GET /subscriptions ------------------------------------------------------------------------------------
    def _subscriptions(self, params: dict[str, str]) -> Reply:
        assert self.scenario is not None
        if params.get("api-version") != SUBSCRIPTIONS_API:
            return _version_error(params, SUBSCRIPTIONS_API)
        listed = [s.arm(self.scenario.tenant_id) for s in self.scenario.subscriptions if s.reader]
        size = self.scenario.subscription_page_size
        try:
            start = int(params.get("$skiptoken", "0"))
        except ValueError:
            return arm_error(400, "InvalidSkipToken", "The $skiptoken is not valid.")
        page: JsonDict = {"value": listed[start : start + size]}
        if start + size < len(listed):
            following = urlencode({"api-version": SUBSCRIPTIONS_API, "$skiptoken": str(start + size)})
            # a hostile or misrouted answer may point the next page at another host (the source must refuse it)
            origin = self.scenario.subscription_next_link_origin or self.base_url
            page["nextLink"] = f"{origin}{SUBSCRIPTIONS_PATH}?{following}"
        return json_reply(200, page, headers={"x-ms-request-id": new_request_id()})

    # -- POST Resource Graph -----------------------------------------------------------------------------------
    def _graph(self, params: dict[str, str], body: bytes) -> Reply:
        assert self.scenario is not None
        if params.get("api-version") != GRAPH_API:
            return _version_error(params, GRAPH_API)
        try:
            request = json.loads(body or b"{}")
            query = request["query"]
            options = request.get("options") or {}
            scope = [str(s).lower() for s in request.get("subscriptions") or []]
            top = int(options.get("$top", 100))
        except (ValueError, KeyError, TypeError):
            return arm_error(400, "BadRequest", "The request content was invalid and could not be deserialized.")
        if not 1 <= top <= 1000 or options.get("resultFormat", "objectArray") != "objectArray":
            return arm_error(400, "BadRequest", "options: $top must be 1 to 1000 and resultFormat objectArray.")
        try:
            table, types, columns = parse_query(str(query))
        except QueryError as exc:
            return arm_error(
                400,
                "BadRequest",
                "Please provide below info when asking for support: timestamp = sandbox, correlationId = sandbox.",
                [
                    {
                        "code": "InvalidQuery",
                        "message": "Query is invalid. Please refer to the documentation for the Azure Resource Graph "
                        "service and fix the query before retrying.",
                    },
                    {"code": "UnsupportedQuery", "message": f"The sandbox serves only the source's queries: {exc}"},
                ],
            )
        digest = hashlib.sha256(json.dumps([query, sorted(scope)]).encode()).hexdigest()[:16]
        rows = self._results.get(digest)
        if rows is None:  # every page of a query reads the same result, as Resource Graph's paging does
            readable = self.scenario.readable() & set(scope)
            rows = [
                {name: _pick(row, path) for name, path in columns}
                for row in self.scenario.tables.get(table, [])
                if str(row.get("type", "")).lower() in types and str(row.get("subscriptionId", "")).lower() in readable
            ]
            self._results[digest] = rows
        start = 0
        if options.get("$skipToken"):
            try:
                token = json.loads(base64.urlsafe_b64decode(str(options["$skipToken"]).encode()))
                if token["q"] != digest:
                    raise ValueError("another query")
                start = int(token["o"])
            except (ValueError, KeyError, TypeError):
                return arm_error(400, "BadRequest", "The $skipToken is invalid for this query and scope.")
        remaining, resets = self._spend_quota()
        if remaining < 0:
            self.throttled += 1
            reply = arm_error(429, "RateLimiting", "Please provide below info when asking for support: throttled.")
            reply.headers.update(
                {"x-ms-user-quota-remaining": "0", "x-ms-user-quota-resets-after": resets, "Retry-After": "1"}
            )
            return reply
        size = min(top, self.scenario.page_limit)
        data = rows[start : start + size]
        page: JsonDict = {
            "totalRecords": len(rows),
            "count": len(data),
            "data": data,
            "facets": [],
            "resultTruncated": "false",
        }
        if start + size < len(rows):
            page["$skipToken"] = base64.urlsafe_b64encode(
                json.dumps({"q": digest, "o": start + size}).encode()
            ).decode()
        return json_reply(
            200,
            page,
            headers={
                "x-ms-request-id": new_request_id(),
                "x-ms-user-quota-remaining": str(remaining),
                "x-ms-user-quota-resets-after": resets,
            },
        )
