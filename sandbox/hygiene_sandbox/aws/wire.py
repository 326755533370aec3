"""AWS wire protocols for the sandbox: reading SigV4 scopes, naming the operation of a request, decoding inputs and
encoding outputs and errors in the protocol each service uses.

The botocore service models installed with boto3 (``botocore/data/<service>/<version>/service-2.json``) are the
authority for protocols, operation URIs, member wire names, error codes and output shapes; nothing here is
hand-copied from them that can be read from them.

- query (IAM, STS, RDS) and ec2 (EC2): form-encoded ``Action=...``; XML responses; errors
  ``<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`` (EC2:
  ``<Response><Errors><Error>...</Error></Errors><RequestID/></Response>``);
- json 1.1 (SSM, Organizations): ``X-Amz-Target: <targetPrefix>.<Operation>``; errors ``{"__type": code, ...}``;
- rest-json (Backup): method + URI template; errors name their code in ``X-Amzn-ErrorType``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote
from xml.sax.saxutils import escape

import botocore.session

#: the services the sandbox answers for (SigV4 signing name -> botocore service name; they coincide here)
SERVICES: tuple[str, ...] = ("iam", "sts", "organizations", "ec2", "rds", "backup", "ssm")

_AUTH = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request")
_READ_PREFIXES = ("Describe", "List", "Get", "Lookup", "Search", "BatchGet")

_models_lock = threading.Lock()
_session: Any = None
_models: dict[str, Any] = {}
_routes: dict[str, list[tuple[str, re.Pattern[str], str, int]]] = {}


class Reply(NamedTuple):
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class SigV4Scope(NamedTuple):
    access_key: str
    date: str
    region: str
    service: str


class ServiceError(Exception):
    """An error answer: the code, message and HTTP status a real service would send."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def parse_authorization(header: str | None) -> SigV4Scope | None:
    """The credential scope of a SigV4 ``Authorization`` header (never the signature)."""
    if not header:
        return None
    match = _AUTH.search(header)
    if match is None:
        return None
    return SigV4Scope(*match.groups())


def parse_query_credential(target: str) -> SigV4Scope | None:
    """The credential scope of a presigned request (``X-Amz-Credential`` in the query string)."""
    values = parse_qs(target.partition("?")[2]).get("X-Amz-Credential")
    return parse_authorization(f"Credential={values[0]}") if values else None


def is_read_only(operation: str) -> bool:
    return operation.startswith(_READ_PREFIXES)


def service_model(service: str) -> Any:
    """botocore's ServiceModel for a service (loaded once per process)."""
    global _session
    with _models_lock:
        model = _models.get(service)
        if model is None:
            if _session is None:
                _session = botocore.session.get_session()
            model = _session.get_service_model(service)
            _models[service] = model
        return model


def protocol(service: str) -> str:
    return str(service_model(service).metadata["protocol"])


def preload(services: Iterable[str] = SERVICES) -> None:
    """Load the services' models and URI route tables now (else the first request of each service does)."""
    for service in services:
        if protocol(service).startswith("rest"):
            _route_table(service)


def _route_table(service: str) -> list[tuple[str, re.Pattern[str], str, int]]:
    with _models_lock:
        table = _routes.get(service)
    if table is not None:
        return table
    model = service_model(service)
    built: list[tuple[str, re.Pattern[str], str, int]] = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = str(http.get("requestUri", "/")).split("?", 1)[0]
        pattern = ""
        position = 0
        for label in re.finditer(r"\{([^}]+)\}", uri):
            pattern += re.escape(uri[position : label.start()])
            pattern += "(.+)" if label.group(1).endswith("+") else "([^/]+)"
            position = label.end()
        pattern += re.escape(uri[position:])
        literal = len(re.sub(r"\{[^}]+\}", "", uri))
        built.append((str(http.get("method", "POST")), re.compile(f"^{pattern}$"), name, literal))
    built.sort(key=lambda route: -route[3])  # most specific (longest literal part) first
    with _models_lock:
        _routes[service] = built
    return built


@dataclass
class Call:
    """One decoded request."""

    service: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    operation: str | None = None
    #: the request target as received (path and query string)
    target: str = ""
    #: rest-json URI label values, in template order
    labels: tuple[str, ...] = ()
    form: dict[str, list[str]] = field(default_factory=dict)

    @property
    def protocol(self) -> str:
        return protocol(self.service)


def decode_call(service: str, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Call:
    """Work out the operation a request invokes, per the service's protocol."""
    path, _, raw_query = target.partition("?")
    query = parse_qs(raw_query, keep_blank_values=True)
    call = Call(service=service, method=method, path=path, query=query, headers=headers, body=body, target=target)
    kind = call.protocol
    if kind in ("query", "ec2"):
        form = dict(query)
        if body:
            form.update(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
        call.form = form
        actions = form.get("Action") or []
        call.operation = actions[0] if actions else None
    elif kind == "json":
        target_header = headers.get("X-Amz-Target") or headers.get("x-amz-target") or ""
        prefix = str(service_model(service).metadata.get("targetPrefix", ""))
        if target_header.startswith(prefix + "."):
            call.operation = target_header[len(prefix) + 1 :]
    elif kind == "rest-json":
        for route_method, pattern, name, _ in _route_table(service):
            if route_method != method:
                continue
            match = pattern.match(path)
            if match:
                call.operation = name
                call.labels = tuple(unquote(g) for g in match.groups())
                break
    return call


# -- inputs -----------------------------------------------------------------------------------------------------


def parse_timestamp(value: Any) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    text = str(value).strip()
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _convert(shape: Any, value: Any, where: str) -> Any:
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(value)
        if kind == "boolean":
            return value if isinstance(value, bool) else str(value).lower() == "true"
        if kind == "timestamp":
            return parse_timestamp(value)
    except (TypeError, ValueError):
        raise ServiceError("InvalidParameterValueException", f"Invalid value for {where}: {value!r}") from None
    if kind == "list" and isinstance(value, list):
        return [_convert(shape.member, v, where) for v in value]
    return value


def parse_input(call: Call) -> dict[str, Any]:
    """The operation's input members (model names), from the body and, for rest-json, the URI and query."""
    assert call.operation is not None
    op_model = service_model(call.service).operation_model(call.operation)
    shape = op_model.input_shape
    if shape is None:
        return {}
    kind = call.protocol
    if kind == "json":
        try:
            raw = json.loads(call.body or b"{}")
        except ValueError:
            raise ServiceError("SerializationException", "The request body is not valid JSON") from None
        if not isinstance(raw, dict):
            raise ServiceError("SerializationException", "The request body is not a JSON object")
        return {k: _convert(shape.members[k], v, k) for k, v in raw.items() if k in shape.members}
    if kind != "rest-json":
        return {}
    params: dict[str, Any] = {}
    uri_labels = iter(call.labels)
    body: dict[str, Any] = {}
    if call.body:
        try:
            loaded = json.loads(call.body)
        except ValueError:
            raise ServiceError("SerializationException", "The request body is not valid JSON") from None
        body = loaded if isinstance(loaded, dict) else {}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri":
            value: Any = next(uri_labels, None)
        elif location == "querystring":
            values = call.query.get(wire)
            if not values:
                continue
            value = values if member.type_name == "list" else values[0]
        elif location == "header":
            value = call.headers.get(wire)
        else:
            value = body.get(name)
        if value is None:
            continue
        params[name] = _convert(member, value, wire)
    return params


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def validate_ranges(call: Call, params: Mapping[str, Any]) -> None:
    """Enforce the model's top-level min/max constraints as the service does (botocore only checks minimums).

    The message follows the service framework's validation error
    (``1 validation error detected: Value '...' at 'maxResults' failed to satisfy constraint: ...``)."""
    assert call.operation is not None
    shape = service_model(call.service).operation_model(call.operation).input_shape
    if shape is None:
        return
    errors: list[str] = []
    for name, value in params.items():
        member = shape.members[name]
        meta = member.metadata
        where = _lower_first(name)
        if member.type_name in ("integer", "long") and isinstance(value, int):
            if "max" in meta and value > meta["max"]:
                errors.append(
                    f"Value '{value}' at '{where}' failed to satisfy constraint: "
                    f"Member must have value less than or equal to {meta['max']}"
                )
            if "min" in meta and value < meta["min"]:
                errors.append(
                    f"Value '{value}' at '{where}' failed to satisfy constraint: "
                    f"Member must have value greater than or equal to {meta['min']}"
                )
        elif member.type_name == "list" and isinstance(value, list) and "max" in meta and len(value) > meta["max"]:
            errors.append(
                f"Value '{value}' at '{where}' failed to satisfy constraint: "
                f"Member must have length less than or equal to {meta['max']}"
            )
    if errors:
        count = len(errors)
        raise ServiceError(
            "ValidationException",
            f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(errors),
        )


# -- outputs ----------------------------------------------------------------------------------------------------


def epoch(value: datetime) -> float:
    return round(value.timestamp(), 3)


def iso_z(value: datetime) -> str:
    """The XML protocols' timestamp form: ``2024-05-01T09:30:00Z``."""
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return epoch(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def check_output(service: str, operation: str, data: Mapping[str, Any]) -> None:
    """Raise AssertionError when ``data`` does not fit the operation's output shape: unknown members, missing
    required members, values outside an enum, wrong scalar types. Keeps hand-written responses honest."""
    shape = service_model(service).operation_model(operation).output_shape
    if shape is not None:
        _check(shape, data, operation)


def _check(shape: Any, value: Any, where: str) -> None:
    kind = shape.type_name
    if value is None:
        return
    if kind == "structure":
        if not isinstance(value, Mapping):
            raise AssertionError(f"{where}: expected an object")
        unknown = set(value) - set(shape.members)
        if unknown:
            raise AssertionError(f"{where}: unknown members {sorted(unknown)}")
        missing = [m for m in shape.required_members if value.get(m) is None]
        if missing:
            raise AssertionError(f"{where}: missing required {missing}")
        for name, member in shape.members.items():
            _check(member, value.get(name), f"{where}.{name}")
    elif kind == "list":
        if not isinstance(value, list | tuple):
            raise AssertionError(f"{where}: expected a list")
        for index, item in enumerate(value):
            _check(shape.member, item, f"{where}[{index}]")
    elif kind == "map":
        if not isinstance(value, Mapping):
            raise AssertionError(f"{where}: expected a map")
        for key, item in value.items():
            _check(shape.value, item, f"{where}[{key}]")
    elif kind == "string":
        if not isinstance(value, str):
            raise AssertionError(f"{where}: expected a string")
        if shape.enum and value not in shape.enum:
            raise AssertionError(f"{where}: {value!r} not in {shape.enum}")
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise AssertionError(f"{where}: expected an integer")
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise AssertionError(f"{where}: expected a boolean")
    elif kind == "timestamp" and not isinstance(value, datetime):
        raise AssertionError(f"{where}: expected a datetime")


def request_id() -> str:
    return str(uuid.uuid4())


def json_reply(service: str, data: Mapping[str, Any], status: int = 200) -> Reply:
    kind = protocol(service)
    content_type = (
        "application/x-amz-json-" + str(service_model(service).metadata.get("jsonVersion", "1.1"))
        if kind == "json"
        else "application/json"
    )
    body = json.dumps(_jsonable(dict(data)), separators=(",", ":")).encode()
    return Reply(status, [("Content-Type", content_type), ("x-amzn-RequestId", request_id())], body)


def xml_element(name: str, value: Any) -> str:
    if isinstance(value, datetime):
        text = iso_z(value)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = escape(str(value))
    return f"<{name}>{text}</{name}>"


def query_reply(service: str, operation: str, result: str) -> Reply:
    """A query-protocol success: ``<OpResponse><OpResult>...</OpResult><ResponseMetadata/></OpResponse>``."""
    namespace = service_model(service).metadata.get("xmlNamespace", "")
    rid = request_id()
    body = (
        f'<{operation}Response xmlns="{namespace}">'
        f"<{operation}Result>{result}</{operation}Result>"
        f"<ResponseMetadata><RequestId>{rid}</RequestId></ResponseMetadata>"
        f"</{operation}Response>"
    )
    return Reply(200, [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid)], body.encode())


def ec2_reply(operation: str, body: str) -> Reply:
    """An EC2-protocol success: ``<OpResponse xmlns=...><requestId/>...</OpResponse>`` (no Result wrapper)."""
    namespace = service_model("ec2").metadata.get("xmlNamespace", "")
    rid = request_id()
    text = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{operation}Response xmlns="{namespace}">'
        f"<requestId>{rid}</requestId>{body}</{operation}Response>"
    )
    return Reply(200, [("Content-Type", "text/xml;charset=UTF-8"), ("x-amzn-RequestId", rid)], text.encode())


def _message_key(service: str, code: str) -> str:
    model = service_model(service)
    for shape in model.error_shapes:
        error = shape.metadata.get("error") or {}
        if shape.name == code or error.get("code") == code:
            if "Message" in shape.members:
                return "Message"
            break
    return "message"


def error_reply(service: str, error: ServiceError) -> Reply:
    """An error in the service's protocol."""
    kind = protocol(service)
    rid = request_id()
    if kind == "query":
        namespace = service_model(service).metadata.get("xmlNamespace", "")
        fault = "Sender" if error.status < 500 else "Receiver"
        body = (
            f'<ErrorResponse xmlns="{namespace}"><Error><Type>{fault}</Type>'
            f"{xml_element('Code', error.code)}{xml_element('Message', error.message)}</Error>"
            f"<RequestId>{rid}</RequestId></ErrorResponse>"
        )
        return Reply(error.status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid)], body.encode())
    if kind == "ec2":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
            f"{xml_element('Code', error.code)}{xml_element('Message', error.message)}</Error></Errors>"
            f"<RequestID>{rid}</RequestID></Response>"
        )
        return Reply(error.status, [("Content-Type", "text/xml;charset=UTF-8")], body.encode())
    key = _message_key(service, error.code)
    if kind == "json":
        payload = {"__type": error.code, key: error.message}
        content_type = "application/x-amz-json-" + str(service_model(service).metadata.get("jsonVersion", "1.1"))
        headers = [("Content-Type", content_type), ("x-amzn-RequestId", rid)]
    else:  # rest-json
        payload = {key: error.message}
        headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", rid), ("x-amzn-ErrorType", error.code)]
    return Reply(error.status, headers, json.dumps(payload).encode())


# -- paging -----------------------------------------------------------------------------------------------------


def encode_token(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "f": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, fingerprint: str, error_code: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        raw = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset = int(raw["o"])
        if raw.get("f") != fingerprint or offset < 0:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise ServiceError(error_code, "The nextToken is not valid.") from None
    return offset


def page(
    items: list[Any], params: Mapping[str, Any], *, default: int, fingerprint: str, token_error: str
) -> tuple[list[Any], str | None]:
    """Slice ``items`` by the request's NextToken/MaxResults; the token carries the offset and the filters'
    fingerprint (a token is only valid for the same query)."""
    limit = int(params.get("MaxResults") or default)
    token = params.get("NextToken")
    start = decode_token(str(token), fingerprint, token_error) if token else 0
    chunk = items[start : start + limit]
    following = start + limit
    return chunk, (encode_token(following, fingerprint) if following < len(items) else None)


def fingerprint(params: Mapping[str, Any], ignore: Iterable[str] = ("NextToken", "MaxResults")) -> str:
    skip = set(ignore)
    filtered = {k: v for k, v in params.items() if k not in skip}
    canonical = json.dumps(_jsonable(filtered), sort_keys=True, default=str)
    return hashlib.blake2b(canonical.encode(), digest_size=6).hexdigest()
