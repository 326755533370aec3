"""AWS's published API descriptions (botocore's ``service-2`` models), as the judge of the sandbox and of
``tests/awsfake.py``.

The models are read at test time from the installed botocore (``botocore.loaders.Loader().load_service_model``),
the same files boto3 serialises the source's requests and parses the answers with. This module does not use the
sandbox's own helpers (``hygiene_sandbox.aws.wire``): a misunderstanding shared by the sandbox and the source
must not pass.

What is checked (docs/vendor-facts.md, section "contracts"):

- a request as the source built it: botocore's own ``ParamValidator`` against the input shape, plus what that
  validator leaves out: ``enum`` values, ``max`` (value and length) and ``min`` of nested members;
- a request as the sandbox received it: the operation is in the model (query/ec2 ``Action`` and ``Version``, json
  ``X-Amz-Target`` and content type, rest-json method + ``requestUri``), and every top-level parameter on the wire
  (form key, JSON body key, query-string key) is a member of the input shape under its wire name;
- a response: parsed with botocore's own parser for the protocol, then walked against the output shape (types,
  ``enum`` values, required members); and the raw body walked too, because the parser drops what the model does
  not know: every JSON key / XML element must be a member under its wire name, with the wire type right;
- an error: botocore's parser reads a code from it, and a JSON error body carries only ``__type``, the message
  and members of the error shape.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote

import botocore.loaders
import botocore.model
import botocore.parsers
import botocore.validate
from botocore.utils import parse_to_aware_datetime

#: a botocore shape (``botocore.model.Shape`` and its subclasses; botocore ships no type hints)
Shape = Any

#: values a service sends that its model's enum leaves out but the model's own documentation string for the member
#: names: ``Instance.Platform`` (enum ``PlatformValues`` = ["Windows"]) is documented "windows for Windows
#: instances; otherwise, it is empty", and EC2 sends ``windows``
DOCUMENTED_VALUES: dict[str, frozenset[str]] = {"PlatformValues": frozenset({"windows"})}


def _enum_ok(shape: Shape, value: str) -> bool:
    return not shape.enum or value in shape.enum or value in DOCUMENTED_VALUES.get(shape.name, frozenset())


@functools.cache
def model(service: str) -> botocore.model.ServiceModel:
    """The botocore model of a service, loaded from the installed botocore's data (``service-2.json``)."""
    return botocore.model.ServiceModel(
        botocore.loaders.Loader().load_service_model(service, "service-2"), service_name=service
    )


def protocol(service: str) -> str:
    return str(model(service).metadata["protocol"])


def operation(service: str, name: str) -> botocore.model.OperationModel | None:
    try:
        return model(service).operation_model(name)
    except botocore.model.OperationNotFoundError:
        return None


# -- values against shapes --------------------------------------------------------------------------------------


def check_value(shape: Shape, value: Any, where: str, *, parsed: bool = True, required: bool = True) -> list[str]:
    """Problems with a Python value against a shape: unknown members, missing required members (``required``),
    types and ``enum`` values. ``parsed``: the value came out of botocore's parser (timestamps are datetimes,
    blobs bytes); else it is what botocore accepts as input (Stubber responses, request parameters)."""
    if value is None:
        return []
    kind = shape.type_name
    problems: list[str] = []
    if kind == "structure":
        if not isinstance(value, Mapping):
            return [f"{where}: {type(value).__name__} where {shape.name} is a structure"]
        for key, item in value.items():
            if key == "ResponseMetadata" and parsed:
                continue
            if key not in shape.members:
                problems.append(f"{where}.{key}: not a member of {shape.name}")
                continue
            problems += check_value(shape.members[key], item, f"{where}.{key}", parsed=parsed, required=required)
        if required:
            problems += [f"{where}.{m}: required member missing" for m in shape.required_members if m not in value]
        return problems
    if kind == "list":
        if not isinstance(value, list | tuple):
            return [f"{where}: {type(value).__name__} where {shape.name} is a list"]
        for index, item in enumerate(value):
            problems += check_value(shape.member, item, f"{where}[{index}]", parsed=parsed, required=required)
        return problems
    if kind == "map":
        if not isinstance(value, Mapping):
            return [f"{where}: {type(value).__name__} where {shape.name} is a map"]
        for key, item in value.items():
            problems += check_value(shape.key, key, f"{where} key", parsed=parsed, required=required)
            problems += check_value(shape.value, item, f"{where}[{key}]", parsed=parsed, required=required)
        return problems
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: {type(value).__name__} {value!r} where {shape.name} is a string"]
        if not _enum_ok(shape, value):
            problems.append(f"{where}: {value!r} is not in {shape.name}'s enum {shape.enum}")
        return problems
    if kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{where}: {type(value).__name__} {value!r} where {shape.name} is an {kind}"]
        return []
    if kind in ("double", "float"):
        if not isinstance(value, int | float) or isinstance(value, bool):
            return [f"{where}: {type(value).__name__} {value!r} where {shape.name} is a {kind}"]
        return []
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: {type(value).__name__} {value!r} where a boolean"]
    if kind == "timestamp":
        if isinstance(value, datetime):
            return []
        if not parsed:
            try:
                parse_to_aware_datetime(value)
                return []
            except (TypeError, ValueError, AttributeError):
                pass
        return [f"{where}: {type(value).__name__} {value!r} where a timestamp"]
    if kind == "blob":
        accepted: tuple[type, ...] = (bytes, bytearray) if parsed else (bytes, bytearray, str)
        return [] if isinstance(value, accepted) else [f"{where}: {type(value).__name__} where a blob"]
    return [f"{where}: shape type {kind!r} is not understood by the contract"]


def constraint_problems(shape: Shape, value: Any, where: str) -> list[str]:
    """What botocore's ParamValidator does not check on input: enum values, ``max``, and nested ``min``."""
    if value is None:
        return []
    kind, meta = shape.type_name, shape.metadata
    problems: list[str] = []
    if kind == "structure" and isinstance(value, Mapping):
        for key, item in value.items():
            if key in shape.members:
                problems += constraint_problems(shape.members[key], item, f"{where}.{key}")
    elif kind == "list" and isinstance(value, list | tuple):
        problems += _bounds(len(value), meta, f"{where} (length)")
        for index, item in enumerate(value):
            problems += constraint_problems(shape.member, item, f"{where}[{index}]")
    elif kind == "map" and isinstance(value, Mapping):
        problems += _bounds(len(value), meta, f"{where} (size)")
        for key, item in value.items():
            problems += constraint_problems(shape.key, key, f"{where} key")
            problems += constraint_problems(shape.value, item, f"{where}[{key}]")
    elif kind == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            problems.append(f"{where}: {value!r} is not in {shape.name}'s enum")
        problems += _bounds(len(value), meta, f"{where} (length)")
    elif kind in ("integer", "long") and isinstance(value, int):
        problems += _bounds(value, meta, where)
    return problems


def _bounds(number: int, meta: Mapping[str, Any], where: str) -> list[str]:
    problems = []
    if "min" in meta and number < meta["min"]:
        problems.append(f"{where}: {number} below the model's min {meta['min']}")
    if "max" in meta and number > meta["max"]:
        problems.append(f"{where}: {number} above the model's max {meta['max']}")
    return problems


def check_params(service: str, name: str, params: Mapping[str, Any]) -> list[str]:
    """A request as the source built it (what boto3 serialises): botocore's validator, then the constraints it
    leaves out."""
    op = operation(service, name)
    if op is None:
        return [f"{service}:{name}: not an operation of the {service} model"]
    if op.input_shape is None:
        return [] if not params else [f"{service}:{name}: parameters for an operation without input"]
    report = botocore.validate.ParamValidator().validate(dict(params), op.input_shape)
    problems = [f"{service}:{name}: {report.generate_report()}"] if report.has_errors() else []
    return problems + constraint_problems(op.input_shape, params, f"{service}:{name}")


# -- requests on the wire ---------------------------------------------------------------------------------------


def _wire_name(member: Shape, name: str, service: str) -> str:
    if protocol(service) == "ec2":
        query_name = member.serialization.get("queryName")
        if query_name:
            return str(query_name)
        location = member.serialization.get("name")
        return str(location[:1].upper() + location[1:]) if location else name
    return str(member.serialization.get("name", name))


def _uri_pattern(uri: str) -> re.Pattern[str]:
    out, pos = "", 0
    for label in re.finditer(r"\{([^}]+)\}", uri):
        out += re.escape(uri[pos : label.start()])
        out += "(.+)" if label.group(1).endswith("+") else "([^/]+)"
        pos = label.end()
    return re.compile("^" + out + re.escape(uri[pos:]) + "$")


def wire_operation(
    service: str, method: str, target: str, headers: Mapping[str, str], body: bytes
) -> tuple[str | None, list[str]]:
    """The modelled operation a request on the wire invokes, and the problems with its parameters."""
    kind = protocol(service)
    meta = model(service).metadata
    path, _, raw_query = target.partition("?")
    query = parse_qs(raw_query, keep_blank_values=True)
    lowered = {k.lower(): v for k, v in headers.items()}
    if kind in ("query", "ec2"):
        form = dict(query)
        form.update(parse_qs(body.decode(), keep_blank_values=True))
        action: str | None = (form.pop("Action", None) or [None])[0]  # type: ignore[list-item]
        version: str | None = (form.pop("Version", None) or [None])[0]  # type: ignore[list-item]
        op = operation(service, action) if action else None
        if op is None:
            return action, [f"{service}: Action {action!r} is not in the model"]
        problems = [] if version == meta["apiVersion"] else [f"{service}:{action}: Version {version!r}"]
        members = op.input_shape.members if op.input_shape is not None else {}
        names = {_wire_name(m, n, service) for n, m in members.items()}
        problems += [
            f"{service}:{action}: form parameter {key!r} is not an input member"
            for key in form
            if key.split(".", 1)[0] not in names
        ]
        return action, problems
    if kind == "json":
        header = lowered.get("x-amz-target", "")
        prefix, _, name = header.partition(".")
        op = operation(service, name) if prefix == meta.get("targetPrefix") else None
        if op is None:
            return None, [f"{service}: X-Amz-Target {header!r} is not an operation of the model"]
        problems = []
        if lowered.get("content-type") != f"application/x-amz-json-{meta.get('jsonVersion', '1.0')}":
            problems.append(f"{service}:{name}: content type {lowered.get('content-type')!r}")
        members = op.input_shape.members if op.input_shape is not None else {}
        wire = {str(m.serialization.get("name", n)) for n, m in members.items()}
        loaded = json.loads(body or b"{}")
        problems += [f"{service}:{name}: body key {k!r} is not an input member" for k in loaded if k not in wire]
        return name, problems
    # rest-json
    found = None
    for name in model(service).operation_names:
        op = model(service).operation_model(name)
        uri = str(op.http.get("requestUri", "/"))
        if op.http.get("method") == method and _uri_pattern(uri.split("?", 1)[0]).match(unquote(path)):
            literal = len(re.sub(r"\{[^}]+\}", "", uri))
            if found is None or literal > found[0]:
                found = (literal, op)
    if found is None:
        return None, [f"{service}: {method} {path} is no requestUri of the model"]
    op = found[1]
    members = op.input_shape.members if op.input_shape is not None else {}
    query_names = {
        str(m.serialization.get("name", n)): n
        for n, m in members.items()
        if m.serialization.get("location") == "querystring"
    }
    problems = [
        f"{service}:{op.name}: query parameter {k!r} is not an input member" for k in query if k not in query_names
    ]
    body_names = {
        str(m.serialization.get("name", n)) for n, m in members.items() if not m.serialization.get("location")
    }
    loaded = json.loads(body) if body.strip() else {}
    problems += [f"{service}:{op.name}: body key {k!r} is not an input member" for k in loaded if k not in body_names]
    return op.name, problems


# -- responses on the wire --------------------------------------------------------------------------------------


def parse(service: str, name: str, status: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """The response as botocore parses it (what the source receives)."""
    op = operation(service, name)
    assert op is not None
    parser = botocore.parsers.create_parser(protocol(service))
    lowered = {k.lower(): v for k, v in headers.items()}
    response = {"status_code": status, "headers": lowered, "body": body, "context": {"operation_name": name}}
    return dict(parser.parse(response, op.output_shape))


def check_response(service: str, name: str, headers: Mapping[str, str], body: bytes) -> list[str]:
    """A 200 answer: botocore's parse walked against the output shape, and the raw body walked too."""
    op = operation(service, name)
    if op is None:
        return [f"{service}:{name}: not an operation of the model"]
    where = f"{service}:{name}"
    try:
        parsed = parse(service, name, 200, headers, body)
    except Exception as exc:
        return [f"{where}: botocore cannot parse the body ({type(exc).__name__}: {exc})"]
    if op.output_shape is None:
        return []
    problems = check_value(op.output_shape, parsed, where, parsed=True)
    kind = protocol(service)
    if kind in ("json", "rest-json"):
        try:
            raw = json.loads(body) if body.strip() else {}
        except ValueError:
            return [*problems, f"{where}: the body is not JSON"]
        problems += raw_json_problems(op.output_shape, raw, where, kind, top=True)
    else:
        problems += raw_xml_problems(op, body, where, kind)
    return problems


_BODYLESS = ("header", "headers", "statusCode", "uri", "querystring")


def raw_json_problems(shape: Shape, value: Any, where: str, kind: str, top: bool = False) -> list[str]:
    """Raw JSON against a shape, by wire name and wire type (timestamps epoch seconds unless the shape says
    ``timestampFormat``; blobs base64)."""
    if value is None:
        return []
    t = shape.type_name
    if t == "structure":
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__} where {shape.name} is an object"]
        members = {
            str(m.serialization.get("name", n)): (n, m)
            for n, m in shape.members.items()
            if not (top and m.serialization.get("location") in _BODYLESS)
        }
        problems = []
        for key, item in value.items():
            if key not in members:
                problems.append(f"{where}.{key}: not a member of {shape.name} (raw body)")
                continue
            problems += raw_json_problems(members[key][1], item, f"{where}.{key}", kind)
        return problems
    if t == "list":
        if not isinstance(value, list):
            return [f"{where}: {type(value).__name__} where a JSON array"]
        return [p for i, v in enumerate(value) for p in raw_json_problems(shape.member, v, f"{where}[{i}]", kind)]
    if t == "map":
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__} where a JSON object (map)"]
        return [
            p
            for k, v in value.items()
            for p in check_value(shape.key, k, f"{where} key")
            + raw_json_problems(shape.value, v, f"{where}[{k}]", kind)
        ]
    if t == "timestamp":
        fmt = shape.serialization.get("timestampFormat")
        if fmt in ("iso8601", "rfc822"):
            return [] if isinstance(value, str) else [f"{where}: {value!r} where an {fmt} string"]
        if isinstance(value, int | float) and not isinstance(value, bool):
            return []
        return [f"{where}: {type(value).__name__} {value!r} where epoch seconds"]
    if t == "blob":
        if not isinstance(value, str):
            return [f"{where}: {type(value).__name__} where a base64 string"]
        try:
            base64.b64decode(value, validate=True)
        except ValueError:
            return [f"{where}: not base64"]
        return []
    return check_value(shape, value, where)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def raw_xml_problems(op: botocore.model.OperationModel, body: bytes, where: str, kind: str) -> list[str]:
    """Raw XML (query and ec2 protocols) against the output shape, element by element."""
    try:
        root = ET.fromstring(body)  # noqa: S314 - the sandbox's own answer, in a test
    except ET.ParseError as exc:
        return [f"{where}: not XML ({exc})"]
    shape = op.output_shape
    if _local(root.tag) != f"{op.name}Response":
        return [f"{where}: root element {_local(root.tag)!r}, not {op.name}Response"]
    if kind == "query":
        wrapper = shape.serialization.get("resultWrapper") if shape is not None else None
        problems = []
        result = None
        for child in root:
            name = _local(child.tag)
            if name == "ResponseMetadata":
                continue
            if wrapper and name == wrapper:
                result = child
            else:
                problems.append(f"{where}: {name!r} is neither {wrapper} nor ResponseMetadata")
        if shape is None or result is None:
            return problems
        return problems + _xml_structure(shape, result, where, kind)
    if shape is None:
        return []
    return _xml_structure(shape, root, where, kind, skip=("requestId",))


def _xml_name(member: Shape, name: str) -> str:
    if member.type_name == "list" and member.serialization.get("flattened"):
        return str(member.serialization.get("name") or member.member.serialization.get("name", name))
    return str(member.serialization.get("name", name))


def _xml_structure(shape: Shape, element: ET.Element, where: str, kind: str, skip: tuple[str, ...] = ()) -> list[str]:
    names = {_xml_name(m, n): (n, m) for n, m in shape.members.items()}
    problems = []
    flattened: dict[str, list[ET.Element]] = {}
    for child in element:
        tag = _local(child.tag)
        if tag in skip:
            continue
        if tag not in names:
            problems.append(f"{where}.{tag}: not a member of {shape.name} (raw XML)")
            continue
        name, member = names[tag]
        if member.type_name == "list" and member.serialization.get("flattened"):
            flattened.setdefault(name, []).append(child)
            continue
        problems += _xml_value(member, child, f"{where}.{name}", kind)
    for name, items in flattened.items():
        problems += [
            p
            for i, c in enumerate(items)
            for p in _xml_value(shape.members[name].member, c, f"{where}.{name}[{i}]", kind)
        ]
    return problems


_XML_INT = re.compile(r"^-?\d+$")


def _xml_value(shape: Shape, element: ET.Element, where: str, kind: str) -> list[str]:
    t = shape.type_name
    if t == "structure":
        return _xml_structure(shape, element, where, kind)
    if t == "list":
        item_name = str(shape.member.serialization.get("name", "member"))
        problems = []
        for index, child in enumerate(element):
            if _local(child.tag) != item_name:
                problems.append(f"{where}: list element {_local(child.tag)!r}, not {item_name!r}")
                continue
            problems += _xml_value(shape.member, child, f"{where}[{index}]", kind)
        return problems
    if t == "map":
        key_name = str(shape.key.serialization.get("name", "key"))
        value_name = str(shape.value.serialization.get("name", "value"))
        problems = []
        for entry in element:
            if _local(entry.tag) != "entry":
                problems.append(f"{where}: map element {_local(entry.tag)!r}, not 'entry'")
                continue
            parts = {_local(c.tag): c for c in entry}
            if set(parts) != {key_name, value_name}:
                problems.append(f"{where}: map entry holds {sorted(parts)}")
                continue
            key = parts[key_name].text or ""
            problems += _xml_value(shape.key, parts[key_name], f"{where} key", kind)
            problems += _xml_value(shape.value, parts[value_name], f"{where}[{key}]", kind)
        return problems
    text = (element.text or "").strip()
    if len(element):
        return [f"{where}: a scalar {shape.name} holds elements"]
    if t == "string":
        return [] if _enum_ok(shape, text) else [f"{where}: {text!r} is not in {shape.name}'s enum"]
    if t in ("integer", "long"):
        return [] if _XML_INT.match(text) else [f"{where}: {text!r} is not an integer"]
    if t == "boolean":
        return [] if text in ("true", "false") else [f"{where}: {text!r} is not a boolean"]
    if t in ("double", "float"):
        try:
            float(text)
        except ValueError:
            return [f"{where}: {text!r} is not a number"]
        return []
    if t == "timestamp":
        try:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return [f"{where}: {text!r} is not an ISO 8601 timestamp"]
        return []
    if t == "blob":
        try:
            base64.b64decode(text, validate=True)
        except ValueError:
            return [f"{where}: not base64"]
        return []
    return [f"{where}: shape type {t!r} is not understood by the contract"]


# -- errors -----------------------------------------------------------------------------------------------------

#: the errors "common to the API actions of all AWS services" (each service's API reference, "Common Errors", e.g.
#: https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/CommonErrors.html,
#: https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html); not in the models
COMMON_ERRORS = frozenset(
    {
        "AccessDeniedException", "ExpiredTokenException", "IncompleteSignature", "InternalFailure", "InvalidAction",
        "InvalidClientTokenId", "InvalidParameterCombination", "InvalidParameterValue", "InvalidQueryParameter",
        "MalformedHttpRequestException", "MalformedQueryString", "MissingAction", "MissingAuthenticationToken",
        "MissingParameter", "NotAuthorized", "OptInRequired", "RequestAbortedException",
        "RequestEntityTooLargeException", "RequestExpired", "RequestTimeoutException", "ServiceUnavailable",
        "ThrottlingException", "UnrecognizedClientException", "UnknownOperationException", "ValidationError",
        "ValidationException",
    }
)  # fmt: skip
#: codes documented outside the models and the common-errors pages: the query protocol's access denial
#: (IAM, STS, RDS: ``AccessDenied``, e.g. https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
#: examples and the IAM troubleshooting guide) and EC2's own common codes
#: (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html)
DOCUMENTED_ERRORS = {
    "query": frozenset({"AccessDenied"}),
    "ec2": frozenset({"UnauthorizedOperation", "RequestLimitExceeded", "Unavailable", "InternalError"}),
}


@functools.cache
def retry_codes(service: str) -> frozenset[str]:
    """The error codes botocore itself retries for a service (``botocore/data/_retry.json``: the general
    throttling codes and the service's own)."""
    data = botocore.loaders.Loader().load_data("_retry")
    codes = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            code = node.get("service_error_code")
            if isinstance(code, str):
                codes.add(code)
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(data.get("definitions"))
    collect((data.get("retry") or {}).get(service))
    return frozenset(codes)


def known_error(service: str, name: str | None, code: str, status: int) -> list[str]:
    """Problems with an error code: it must be an error of the operation in the model (at the model's HTTP
    status), a common error, a retryable code of botocore, or a documented protocol code."""
    op = operation(service, name) if name else None
    for shape in op.error_shapes if op is not None else []:
        error = shape.metadata.get("error") or {}
        if code in (shape.name, error.get("code")):
            expected = error.get("httpStatusCode")
            if expected is not None and int(expected) != status:
                return [f"{service}:{name}: {code} with HTTP {status}; the model says {expected}"]
            return []
    if code in COMMON_ERRORS or code in retry_codes(service) or code in DOCUMENTED_ERRORS.get(protocol(service), ()):
        return []
    return [f"{service}:{name}: error code {code!r} is neither an error of the operation nor a common AWS error"]


def check_error(service: str, name: str | None, status: int, headers: Mapping[str, str], body: bytes) -> list[str]:
    """An error answer: botocore reads a known code from it; JSON errors carry no member the error shape lacks."""
    where = f"{service}:{name or '?'} HTTP {status}"
    op = operation(service, name) if name else None
    parser = botocore.parsers.create_parser(protocol(service))
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        parsed = parser.parse(
            {"status_code": status, "headers": lowered, "body": body, "context": {"operation_name": name or ""}},
            op.output_shape if op is not None else None,
        )
    except Exception as exc:
        return [f"{where}: botocore cannot parse the error ({type(exc).__name__}: {exc})"]
    code = (parsed.get("Error") or {}).get("Code")
    if not code:
        return [f"{where}: botocore reads no error code from {body[:200]!r}"]
    problems = known_error(service, name, str(code), status)
    if protocol(service) not in ("json", "rest-json") or not body.strip():
        return problems
    raw = json.loads(body)
    shapes = {s.name: s for s in model(service).error_shapes}
    members = set(shapes[code].members) if code in shapes else set()
    extra = set(raw) - {"__type", "message", "Message"} - members
    return problems + ([f"{where}: error body members {sorted(extra)} are not in the {code} shape"] if extra else [])
