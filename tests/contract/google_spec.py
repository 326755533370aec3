"""Google's published API descriptions, as the judge of the sandbox and of ``tests/googlefake.py``.

The descriptions are the discovery documents bundled with google-api-python-client (the very files the source
builds its clients from: ``googleapiclient.discovery_cache.get_static_doc``), read at test time, and, for error
bodies, the ``google.rpc`` protos of googleapis-common-protos. Nothing here is copied from them that can be read
from them; this module is independent of ``hygiene_sandbox.google_api`` (its own ``fields`` parser, its own
schema walk), so that a misunderstanding shared by the sandbox and the source cannot pass.

What is checked (see docs/vendor-facts.md, section "contracts"):

- a request: its path matches one discovery method (``httpMethod`` + ``servicePath`` + ``flatPath``/``path``),
  every query parameter is a ``location: query`` parameter of that method or a standard parameter (the document's
  top-level ``parameters``), enum parameters take a declared value, integers are integers within
  ``minimum``/``maximum``, booleans are ``true``/``false``, required parameters are present, and the ``fields``
  mask (partial-response syntax ``a,b/c,d(e,f)``, ``*``) names only properties of the response schema;
- a response: every property is declared by the schema (``additionalProperties`` honoured, ``$ref`` followed),
  JSON types are right (``format: int64``/``uint64`` as a decimal string, ``date-time``/``google-datetime`` as
  RFC 3339, ``date`` as ``YYYY-MM-DD``, ``int32`` in range), values of an ``enum`` are declared, and with a
  ``fields`` mask nothing outside the mask is returned;
- an error body: Google's JSON error shape (https://cloud.google.com/apis/design/errors#http_mapping):
  ``{"error": {"code", "message", "status", "errors"?: [{"message", "domain", "reason", ...}], "details"?}}``,
  ``status`` a ``google.rpc.Code`` name consistent with the HTTP status, each ``details`` entry a known
  ``google.rpc`` type with only its declared fields.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from googleapiclient import discovery_cache

JsonDict = dict[str, Any]

#: the APIs the source reads (hygiene/sources/google.py), by (name, version)
APIS: tuple[tuple[str, str], ...] = (("admin", "directory_v1"), ("cloudidentity", "v1"))


@functools.cache
def document(api: str, version: str) -> JsonDict:
    """The bundled discovery document (what ``build(..., static_discovery=True)`` and the source read)."""
    text = discovery_cache.get_static_doc(api, version)
    assert text is not None, f"google-api-python-client bundles no discovery document for {api} {version}"
    loaded = json.loads(text)
    assert isinstance(loaded, dict)
    return loaded


@dataclass(frozen=True)
class Method:
    api: str
    version: str
    id: str
    http_method: str
    #: ``servicePath`` + ``flatPath`` as a regular expression over the request path (no leading slash)
    pattern: re.Pattern[str]
    description: JsonDict

    @property
    def doc(self) -> JsonDict:
        return document(self.api, self.version)

    @property
    def response_schema(self) -> JsonDict | None:
        ref = (self.description.get("response") or {}).get("$ref")
        return {"$ref": ref} if ref else None


def _methods(resources: Mapping[str, Any]) -> Iterator[JsonDict]:
    for resource in resources.values():
        yield from (resource.get("methods") or {}).values()
        yield from _methods(resource.get("resources") or {})


def _template(path: str) -> re.Pattern[str]:
    out, pos = "", 0
    for match in re.finditer(r"\{(\+?)([^}]+)\}", path):
        out += re.escape(path[pos : match.start()])
        out += "(.+)" if match.group(1) else "([^/]+)"
        pos = match.end()
    return re.compile("^" + out + re.escape(path[pos:]) + "$")


@functools.cache
def methods() -> tuple[Method, ...]:
    found = []
    for api, version in APIS:
        doc = document(api, version)
        base = str(doc.get("servicePath") or "")
        for method in _methods(doc.get("resources") or {}):
            template = str(method.get("flatPath") or method["path"])
            found.append(
                Method(api, version, str(method["id"]), str(method["httpMethod"]), _template(base + template), method)
            )
    return tuple(found)


def find_method(http_method: str, path: str) -> Method:
    """The discovery method a request path (as sent, without scheme and host) is for."""
    bare = path.split("?", 1)[0].lstrip("/")
    matches = [m for m in methods() if m.http_method == http_method and m.pattern.match(bare)]
    if not matches:
        raise ContractError(f"{http_method} /{bare}: no method of {[a for a, _ in APIS]} has this path")
    # a literal segment beats a template variable: prefer the longest literal pattern
    return max(matches, key=lambda m: len(re.sub(r"\([^)]*\)", "", m.pattern.pattern)))


class ContractError(AssertionError):
    pass


# -- requests ---------------------------------------------------------------------------------------------------


def check_request(http_method: str, target: str) -> list[str]:
    """Problems with a request (path with query string) against its discovery method; [] when none."""
    try:
        method = find_method(http_method, target)
    except ContractError as exc:
        return [str(exc)]
    problems: list[str] = []
    declared: Mapping[str, JsonDict] = method.description.get("parameters") or {}
    standard: Mapping[str, JsonDict] = method.doc.get("parameters") or {}
    query = parse_qsl(target.partition("?")[2], keep_blank_values=True)
    seen = {name for name, _ in query}
    where = method.id
    for name, value in query:
        spec = declared.get(name) or standard.get(name)
        if spec is None:
            problems.append(f"{where}: query parameter {name!r} is not declared")
            continue
        if spec.get("location", "query") != "query":
            problems.append(f"{where}: {name!r} is a {spec.get('location')} parameter, sent in the query")
            continue
        problems += [f"{where}: parameter {p}" for p in _scalar_problems(name, spec, value)]
        if name == "fields" and method.response_schema is not None:
            try:
                tree = parse_fields(value)
            except ContractError as exc:
                problems.append(f"{where}: fields mask {value!r} does not parse ({exc})")
                continue
            problems += [f"{where}: fields {p}" for p in mask_problems(tree, method.response_schema, method.doc)]
    for name, spec in declared.items():
        if spec.get("required") and spec.get("location") == "query" and name not in seen:
            problems.append(f"{where}: required query parameter {name!r} is missing")
    return problems


def _scalar_problems(name: str, spec: Mapping[str, Any], value: str) -> list[str]:
    kind = spec.get("type")
    problems = []
    if "enum" in spec and value not in spec["enum"]:
        problems.append(f"{name}={value!r} is not one of {spec['enum']}")
    if kind == "integer":
        try:
            number = int(value)
        except ValueError:
            return [f"{name}={value!r} is not an integer"]
        if "minimum" in spec and number < int(spec["minimum"]):
            problems.append(f"{name}={number} is below the minimum {spec['minimum']}")
        if "maximum" in spec and number > int(spec["maximum"]):
            problems.append(f"{name}={number} is above the maximum {spec['maximum']}")
    elif kind == "boolean" and value not in ("true", "false"):
        problems.append(f"{name}={value!r} is not a boolean")
    return problems


# -- partial responses ------------------------------------------------------------------------------------------

#: a field mask as a tree: name -> sub-mask, None for "the whole value"
Mask = dict[str, "Mask | None"]
_TOKEN = re.compile(r"\s*(\*|[A-Za-z_$@][\w$@.-]*|[,/()])")


def parse_fields(text: str) -> Mask:
    """Parse Google's partial-response syntax (https://developers.google.com/workspace/admin/directory/v1/guides/
    performance#partial-response): ``a,b``, ``a/b/c``, ``a(b,c)``, ``*``, nested freely."""
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ContractError(f"unexpected {text[pos:]!r}")
        tokens.append(match.group(1))
        pos = match.end()
    index = 0

    def take(expected: str | None = None) -> str:
        nonlocal index
        if index >= len(tokens):
            raise ContractError("unexpected end")
        token = tokens[index]
        if expected is not None and token != expected:
            raise ContractError(f"expected {expected!r}, got {token!r}")
        index += 1
        return token

    def peek() -> str | None:
        return tokens[index] if index < len(tokens) else None

    def selection() -> Mask:
        mask: Mask = {}
        while True:
            _merge(mask, path())
            if peek() != ",":
                return mask
            take(",")

    def path() -> Mask:
        name = take()
        if name in ",/()":
            raise ContractError(f"a field name expected, got {name!r}")
        sub: Mask | None = None
        if peek() == "/":
            take("/")
            sub = path()
        elif peek() == "(":
            take("(")
            sub = selection()
            take(")")
        return {name: sub}

    if not tokens:
        raise ContractError("empty")
    result = selection()
    if index != len(tokens):
        raise ContractError(f"trailing {tokens[index:]}")
    return result


def _merge(into: Mask, other: Mask) -> None:
    for key, sub in other.items():
        if key not in into:
            into[key] = sub
        elif into[key] is None or sub is None:
            into[key] = None
        else:
            current = into[key]
            assert current is not None
            _merge(current, sub)


def resolve(schema: Mapping[str, Any], doc: JsonDict) -> JsonDict:
    seen = set()
    while "$ref" in schema:
        ref = str(schema["$ref"])
        if ref in seen or ref not in doc["schemas"]:
            raise ContractError(f"$ref {ref!r} does not resolve")
        seen.add(ref)
        schema = doc["schemas"][ref]
    return dict(schema)


def _object_schema(schema: Mapping[str, Any], doc: JsonDict) -> JsonDict:
    """Step through arrays to the schema of their items."""
    schema = resolve(schema, doc)
    while schema.get("type") == "array":
        schema = resolve(schema.get("items") or {}, doc)
    return schema


def mask_problems(mask: Mask, schema: Mapping[str, Any], doc: JsonDict, prefix: str = "") -> list[str]:
    """Names of a fields mask the response schema does not declare."""
    target = _object_schema(schema, doc)
    properties: Mapping[str, Any] = target.get("properties") or {}
    extra = target.get("additionalProperties")
    problems = []
    for name, sub in mask.items():
        if name == "*":
            if sub is not None and (properties or extra):
                for child in [*properties.values(), *([extra] if extra else [])]:
                    problems += mask_problems(sub, child, doc, prefix + "*/")
            continue
        if name in properties:
            child = properties[name]
        elif extra is not None:
            child = extra
        else:
            problems.append(f"{prefix}{name!r} is not a property of {target.get('id', 'the response')}")
            continue
        if sub is None:
            continue
        inner = _object_schema(child, doc)
        if inner.get("type") == "any":
            continue
        if inner.get("type") != "object" and "properties" not in inner:
            problems.append(f"{prefix}{name}/{next(iter(sub))}: {name!r} is a {inner.get('type')}, it has no fields")
            continue
        problems += mask_problems(sub, child, doc, f"{prefix}{name}/")
    return problems


def outside_mask(value: Any, mask: Mask | None, where: str = "") -> list[str]:
    """Properties of a response that its fields mask did not select (Google returns only what was asked)."""
    if mask is None:
        return []
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in outside_mask(item, mask, f"{where}[{i}]")]
    if not isinstance(value, dict):
        return []
    problems = []
    for key, item in value.items():
        if key in mask:
            problems += outside_mask(item, mask[key], f"{where}.{key}")
        elif "*" in mask:
            problems += outside_mask(item, mask["*"], f"{where}.{key}")
        else:
            problems.append(f"{where}.{key} was not selected by the fields mask")
    return problems


# -- responses --------------------------------------------------------------------------------------------------

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INT = re.compile(r"^-?\d+$")
_DURATION = re.compile(r"^-?\d+(\.\d{1,9})?s$")


def _string_problems(value: str, schema: Mapping[str, Any]) -> list[str]:
    fmt = schema.get("format")
    if fmt in ("int64", "uint64") and not _INT.match(value):
        return [f"{value!r} is not a decimal {fmt}"]
    if fmt == "uint64" and value.startswith("-"):
        return [f"{value!r} is negative for a uint64"]
    if fmt in ("date-time", "google-datetime"):
        if not _RFC3339.match(value):
            return [f"{value!r} is not an RFC 3339 {fmt}"]
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return [f"{value!r} is not a valid {fmt}"]
    if fmt == "date" and not _DATE.match(value):
        return [f"{value!r} is not a date (YYYY-MM-DD)"]
    if fmt == "google-duration" and not _DURATION.match(value):
        return [f"{value!r} is not a google-duration"]
    return []


def check_value(value: Any, schema: Mapping[str, Any], doc: JsonDict, where: str = "$") -> list[str]:
    """Problems with a JSON value against a discovery schema (``$ref`` followed); [] when none."""
    try:
        schema = resolve(schema, doc)
    except ContractError as exc:
        return [f"{where}: {exc}"]
    kind = schema.get("type")
    if kind == "any" or (kind is None and "properties" not in schema):
        return []
    if value is None:
        return [f"{where}: null where the schema says {kind}"]
    problems: list[str] = []
    if kind == "object" or (kind is None and "properties" in schema):
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__} where the schema says object"]
        properties: Mapping[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                problems += check_value(item, properties[key], doc, f"{where}.{key}")
            elif extra is not None:
                problems += check_value(item, extra, doc, f"{where}[{key!r}]")
            else:
                problems.append(f"{where}.{key}: not a property of {schema.get('id', 'this object')}")
        return problems
    if kind == "array":
        if not isinstance(value, list):
            return [f"{where}: {type(value).__name__} where the schema says array"]
        for index, item in enumerate(value):
            problems += check_value(item, schema.get("items") or {}, doc, f"{where}[{index}]")
        return problems
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: {type(value).__name__} {value!r} where the schema says string"]
        if "enum" in schema and value not in schema["enum"]:
            problems.append(f"{where}: {value!r} is not one of {schema['enum']}")
        return problems + [f"{where}: {p}" for p in _string_problems(value, schema)]
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{where}: {type(value).__name__} {value!r} where the schema says integer"]
        if schema.get("format") == "int32" and not -(2**31) <= value < 2**31:
            problems.append(f"{where}: {value} is out of int32 range")
        if schema.get("format") == "uint32" and not 0 <= value < 2**32:
            problems.append(f"{where}: {value} is out of uint32 range")
        return problems
    if kind == "number":
        if not isinstance(value, int | float) or isinstance(value, bool):
            return [f"{where}: {type(value).__name__} {value!r} where the schema says number"]
        return []
    if kind == "boolean":
        if not isinstance(value, bool):
            return [f"{where}: {type(value).__name__} {value!r} where the schema says boolean"]
        return []
    return [f"{where}: the schema's type {kind!r} is not understood by the contract"]


def check_response(http_method: str, target: str, body: Any) -> list[str]:
    """Problems with a successful response body of a request: schema, and the fields mask it was asked with."""
    method = find_method(http_method, target)
    schema = method.response_schema
    if schema is None:
        return [] if body in (None, {}, "") else [f"{method.id}: a body where the method declares no response"]
    problems = check_value(body, schema, method.doc, method.id)
    fields = dict(parse_qsl(target.partition("?")[2], keep_blank_values=True)).get("fields")
    if fields:
        problems += [f"{method.id}{p}" for p in outside_mask(body, parse_fields(fields))]
    return problems


# -- errors -----------------------------------------------------------------------------------------------------


@functools.cache
def rpc_codes() -> dict[str, int]:
    """``google.rpc.Code``: name -> number (googleapis-common-protos, google/rpc/code.proto)."""
    from google.rpc import code_pb2

    return {name: int(number) for name, number in code_pb2.Code.items()}


#: HTTP status of each ``google.rpc.Code`` (the "HTTP Mapping" of every value in google/rpc/code.proto and the
#: table at https://cloud.google.com/apis/design/errors#handling_errors)
HTTP_OF_CODE = {
    "OK": 200,
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 401,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400,
    "ABORTED": 409,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DATA_LOSS": 500,
}
#: the members of one entry of the legacy ``errors`` list (the Directory API's ``errors[].reason``...:
#: https://developers.google.com/workspace/admin/directory/v1/limits, https://cloud.google.com/apis/design/errors)
_ERROR_ITEM = {"message", "domain", "reason", "location", "locationType", "extendedHelp", "sendReport", "debugInfo"}


@functools.cache
def _detail_fields() -> dict[str, set[str]]:
    """``@type`` -> JSON field names of the ``google.rpc`` error detail messages (google/rpc/error_details.proto)."""
    from google.rpc import error_details_pb2

    found = {}
    for message in error_details_pb2.DESCRIPTOR.message_types_by_name.values():
        found[f"type.googleapis.com/{message.full_name}"] = {f.json_name for f in message.fields}
    return found


def check_error(status: int, body: Any) -> list[str]:
    """Problems with an API error body against Google's error shape; [] when none."""
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return [f"error body {body!r} is not {{'error': {{...}}}}"]
    error = body["error"]
    problems = []
    unknown = set(error) - {"code", "message", "status", "errors", "details"}
    if unknown:
        problems.append(f"error: undeclared members {sorted(unknown)}")
    if error.get("code") != status:
        problems.append(f"error.code {error.get('code')!r} is not the HTTP status {status}")
    if not isinstance(error.get("message"), str):
        problems.append("error.message is missing or not a string")
    name = error.get("status")
    codes = rpc_codes()
    if name not in codes:
        problems.append(f"error.status {name!r} is not a google.rpc.Code ({sorted(codes)})")
    elif HTTP_OF_CODE[str(name)] != status and status in HTTP_OF_CODE.values():
        problems.append(f"error.status {name} maps to HTTP {HTTP_OF_CODE[str(name)]}, not {status}")
    for index, item in enumerate(error.get("errors") or []):
        if not isinstance(item, dict):
            problems.append(f"error.errors[{index}] is not an object")
            continue
        extra = set(item) - _ERROR_ITEM
        if extra:
            problems.append(f"error.errors[{index}]: undeclared members {sorted(extra)}")
        for key in ("message", "domain", "reason"):
            if not isinstance(item.get(key), str):
                problems.append(f"error.errors[{index}].{key} is missing or not a string")
    details = _detail_fields()
    for index, detail in enumerate(error.get("details") or []):
        kind = detail.get("@type") if isinstance(detail, dict) else None
        if kind not in details:
            problems.append(f"error.details[{index}]: @type {kind!r} is not a google.rpc error detail")
            continue
        extra = set(detail) - details[str(kind)] - {"@type"}
        if extra:
            problems.append(f"error.details[{index}] ({kind}): undeclared fields {sorted(extra)}")
    return problems
