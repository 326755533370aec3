"""Microsoft Graph contract: requests and responses checked against the vendored CSDL extract.

``graph/graph-v1.0.json`` is a trimmed extract of Microsoft's published v1.0 ``$metadata`` (and of the beta
type-mapping files for the one beta call), made by ``graph/extract.py``. :class:`Contract` answers two questions:

- :meth:`Contract.check_request`: does this URL exist (entity sets, singletons, key segments, navigation and
  structural properties, casts, ``$count``, bound functions, ``$batch``), and does every ``$select``, ``$expand``,
  ``$filter`` and ``$orderby`` property exist on the type it addresses?
- :meth:`Contract.check_response`: is every JSON object of the answer an instance of that type: no property the
  type (or the derived type named by ``@odata.type``) does not declare, primitive values of the declared Edm type,
  ``Nullable="false"`` honoured, enum values members of the enum (flags enums: comma-separated members), nested
  complex values and expanded navigation properties checked recursively; errors in Graph's error shape.

Every method returns a list of problems (empty: conforms), so a test can print all of them at once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

EXTRACT = Path(__file__).with_name("graph") / "graph-v1.0.json"
NS = "microsoft.graph."
#: query options Graph understands (https://learn.microsoft.com/graph/query-parameters)
QUERY_OPTIONS = frozenset(
    {"$select", "$expand", "$filter", "$orderby", "$top", "$skip", "$skiptoken", "$count", "$search", "$format"}
)
#: annotations allowed on a collection answer
COLLECTION_KEYS = frozenset({"value", "@odata.context", "@odata.nextLink", "@odata.count", "@odata.deltaLink"})

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
#: Graph's DateTimeOffset: ISO 8601 in UTC with ``Z`` (https://learn.microsoft.com/graph/api/resources/user,
#: "The Timestamp type represents date and time information using ISO 8601 format and is always in UTC time")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{2}:\d{2}(:\d{2}(\.\d{1,12})?)?")
_DURATION = re.compile(r"-?P(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")
_INT_RANGES = {
    "Edm.Byte": (0, 255),
    "Edm.SByte": (-128, 127),
    "Edm.Int16": (-(2**15), 2**15 - 1),
    "Edm.Int32": (-(2**31), 2**31 - 1),
    "Edm.Int64": (-(2**63), 2**63 - 1),
}
_FILTER_WORDS = frozenset(
    {"eq", "ne", "gt", "ge", "lt", "le", "and", "or", "not", "in", "has", "add", "sub", "mul", "div", "mod"}
    | {"true", "false", "null"}
)


@dataclass(frozen=True)
class Target:
    """What a URL addresses: a type (``None`` for a stream, a count or ``$batch``) and whether it is a collection."""

    kind: str  # "resource" | "function" | "count" | "batch" | "primitive"
    type: str | None
    collection: bool
    version: str


def _split_top(text: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` outside parentheses and quotes."""
    parts, depth, quoted, current = [], 0, False, ""
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        if char == sep and depth == 0 and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def _element(type_name: str) -> tuple[str, bool]:
    if type_name.startswith("Collection(") and type_name.endswith(")"):
        return type_name[11:-1], True
    return type_name, False


class Contract:
    def __init__(self, extract: dict[str, Any] | None = None) -> None:
        data = extract if extract is not None else json.loads(EXTRACT.read_text(encoding="utf-8"))
        self.source = data["source"]
        self.container: dict[str, dict[str, str]] = data["container"]
        self.functions: dict[str, dict[str, list[dict[str, Any]]]] = data["functions"]
        self.views = {
            "v1.0": (data["types"], data["enums"]),
            # beta: the few beta types, falling back to v1.0 for their base types
            "beta": ({**data["types"], **data["beta"]["types"]}, {**data["enums"], **data["beta"]["enums"]}),
        }
        self.beta_paths: dict[str, str] = data["beta"]["paths"]

    # -- types -------------------------------------------------------------------------------------------
    def _types(self, version: str) -> dict[str, Any]:
        return self.views[version][0]

    def _enums(self, version: str) -> dict[str, Any]:
        return self.views[version][1]

    def chain(self, name: str, version: str = "v1.0") -> list[str]:
        types = self._types(version)
        chain: list[str] = []
        current: str | None = name
        while current is not None:
            chain.append(current)
            current = types[current].get("base")
        return chain

    def declared(self, name: str, version: str = "v1.0") -> tuple[dict[str, Any], dict[str, Any]]:
        """(properties, navigation properties) of a type, inherited ones included."""
        types = self._types(version)
        properties: dict[str, Any] = {}
        navigation: dict[str, Any] = {}
        for type_name in reversed(self.chain(name, version)):
            properties.update(types[type_name]["properties"])
            navigation.update(types[type_name]["navigation"])
        return properties, navigation

    def is_subtype(self, name: str, base: str, version: str = "v1.0") -> bool:
        return name in self._types(version) and base in self.chain(name, version)

    # -- requests ----------------------------------------------------------------------------------------
    def resolve(self, version: str, path: str) -> Target:
        """The target of a resource path (without the version prefix); raises ``ValueError`` if it is not one."""
        segments = [unquote(s) for s in path.strip("/").split("/") if s]
        if segments == ["$batch"] and version in self.views:
            return Target("batch", None, False, version)
        if version == "beta":
            for pattern, type_name in self.beta_paths.items():
                wanted = pattern.split("/")
                if len(wanted) == len(segments) and all(
                    w in ("{id}", s) for w, s in zip(wanted, segments, strict=True)
                ):
                    return Target("resource", type_name, False, version)
            raise ValueError(f"/beta/{path}: not a beta path in the extract (only {sorted(self.beta_paths)})")
        if version != "v1.0":
            raise ValueError(f"unknown Graph version {version!r}")
        if not segments:
            raise ValueError("empty path")
        types = self._types(version)
        head, rest = segments[0], segments[1:]
        key_in_parens = re.fullmatch(r"(\w+)\((.+)\)", head)
        if key_in_parens:
            head, rest = key_in_parens[1], ["{key}", *rest]
        entry = self.container.get(head)
        if entry is None:
            raise ValueError(f"/{path}: '{head}' is neither an entity set nor a singleton in the extract")
        current, collection = entry["type"], entry["kind"] == "EntitySet"
        for index, segment in enumerate(rest):
            where = f"/{version}/{path} (segment '{segment}' on {current})"
            if segment == "$count":
                if not collection or index != len(rest) - 1:
                    raise ValueError(f"{where}: $count only ends a collection path")
                return Target("count", None, False, version)
            if segment == "$value":
                raise ValueError(f"{where}: $value is not used")
            cast = segment.removeprefix(NS) if segment.startswith(NS) else None
            function = re.fullmatch(r"(?:microsoft\.graph\.)?(\w+)\((.*)\)", segment)
            if cast is not None and "(" not in segment:
                if not self.is_subtype(segment, current, version):
                    raise ValueError(f"{where}: {segment} is not {current} or a type derived from it")
                current = segment
                continue
            if function is not None and not collection:
                overloads = self.functions.get(current, {}).get(function[1])
                if overloads is None:
                    raise ValueError(f"{where}: no function {function[1]} bound to {current}")
                names = {p.split("=", 1)[0].strip() for p in _split_top(function[2])}
                if not any(set(o["parameters"]) == names for o in overloads):
                    raise ValueError(f"{where}: no overload of {function[1]} takes parameters {sorted(names)}")
                if index != len(rest) - 1:
                    raise ValueError(f"{where}: nothing after a function is used")
                return Target("function", None, False, version)
            if collection:
                # a key segment (key-as-segment, https://learn.microsoft.com/graph/query-parameters)
                collection = False
                continue
            properties, navigation = self.declared(current, version)
            if segment in navigation:
                target, collection = _element(navigation[segment])
                if target not in types:
                    raise ValueError(f"{where}: its target {target} is not in the extract (add it to extract.py)")
                current = target
                continue
            if segment in properties:
                target, collection = _element(properties[segment]["type"])
                if target.startswith("Edm.") or target in self._enums(version):
                    if index != len(rest) - 1:
                        raise ValueError(f"{where}: a primitive property ends the path")
                    return Target("primitive", target, collection, version)
                current = target
                continue
            raise ValueError(f"{where}: {current} has no such navigation or structural property")
        return Target("resource", current, collection, version)

    def check_request(self, method: str, url: str, body: Any = None) -> list[str]:
        """Problems with a request the scanner sent (``url``: absolute or ``/v1.0/...``)."""
        split = urlsplit(url)
        version, _, rest = split.path.lstrip("/").partition("/")
        try:
            target = self.resolve(version, rest)
        except ValueError as exc:
            return [f"{method} {split.path}: {exc}"]
        if target.kind == "batch":
            if method != "POST":
                return [f"{method} {split.path}: $batch is POST"]
            problems = []
            for sub in (body or {}).get("requests", []):
                sub_url = str(sub.get("url", ""))
                if sub_url.lower().startswith(("http://", "https://")):
                    problems.append(f"$batch: url {sub_url!r} must be relative to the version (/users/...)")
                    continue
                inner = f"/{version}/{sub_url.lstrip('/')}"
                problems += [f"$batch: {p}" for p in self.check_request(str(sub.get("method")), inner)]
            return problems
        if method != "GET":
            return [f"{method} {split.path}: the scanner is read-only (GET only, POST for $batch)"]
        problems = []
        params = parse_qsl(split.query, keep_blank_values=True)
        for name, value in params:
            if name not in QUERY_OPTIONS:
                problems.append(f"{split.path}: unknown query option {name!r}")
            if name == "$count" and value not in ("true", "false"):
                problems.append(f"{split.path}: $count={value!r}")
            if name in ("$top", "$skip") and not value.isdigit():
                problems.append(f"{split.path}: {name}={value!r}")
        if target.kind != "resource" or target.type is None:
            if any(name in ("$select", "$expand", "$filter", "$orderby") for name, _ in params):
                problems.append(f"{split.path}: query options on a {target.kind}")
            return problems
        query = dict(params)
        problems += [f"{split.path}: {p}" for p in self.check_options(query, target.type, version)]
        return problems

    def check_options(self, query: dict[str, str], type_name: str, version: str = "v1.0") -> list[str]:
        problems: list[str] = []
        properties, navigation = self.declared(type_name, version)
        for name in _split_top(query.get("$select", "")):
            if name not in properties and name not in navigation:
                problems.append(f"$select: {type_name} has no property {name!r}")
        for item in _split_top(query.get("$expand", "")):
            match = re.fullmatch(r"([\w.]+)\s*(?:\((.*)\))?", item)
            if match is None or match[1] not in navigation:
                problems.append(f"$expand: {type_name} has no navigation property {item.split('(')[0]!r}")
                continue
            target, _ = _element(navigation[match[1]])
            if target not in self._types(version):
                problems.append(f"$expand: {match[1]} targets {target}, not in the extract")
                continue
            nested = dict(
                (part.split("=", 1)[0].strip(), part.split("=", 1)[1].strip())
                for part in _split_top(match[2] or "", ";")
                if "=" in part
            )
            problems += [f"$expand={match[1]}: {p}" for p in self.check_options(nested, target, version)]
        if query.get("$filter"):
            problems += [f"$filter: {p}" for p in self._check_expression(query["$filter"], type_name, version)]
        for item in _split_top(query.get("$orderby", "")):
            path = re.sub(r"\s+(asc|desc)$", "", item)
            problems += [f"$orderby: {p}" for p in self._check_path(path, type_name, version, {})]
        return problems

    def _check_path(self, path: str, type_name: str, version: str, variables: dict[str, str]) -> list[str]:
        """A property path (``a/b/c``, or a lambda variable ``x/b``) on ``type_name``."""
        parts = path.split("/")
        current = type_name
        if parts[0] in variables:
            current = variables[parts[0]]
            parts = parts[1:]
        for part in parts:
            if current.startswith("Edm.") or current in self._enums(version):
                return [f"{path}: {current} has no member {part!r}"]
            if current not in self._types(version):
                return [f"{path}: {current} is not in the extract"]
            if part.startswith(NS) and self.is_subtype(part, current, version):
                current = part
                continue
            properties, navigation = self.declared(current, version)
            if part in properties:
                current, _ = _element(properties[part]["type"])
            elif part in navigation:
                current, _ = _element(navigation[part])
            else:
                return [f"{path}: {current} has no property {part!r}"]
        return []

    def _check_expression(self, text: str, type_name: str, version: str) -> list[str]:
        """Every property path in a ``$filter`` expression (literals, operators and functions skipped)."""
        problems: list[str] = []
        tokens = re.findall(
            r"'(?:[^']|'')*'"  # string literals
            r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"  # GUIDs
            r"|\d[\w:.+-]*"  # numbers, dates, date-times
            r"|[A-Za-z_][\w.]*(?:/[A-Za-z_][\w.]*)*/(?:any|all)\(\s*\w+\s*:"  # lambda: path/any(x:
            r"|[A-Za-z_][\w.]*(?:/[A-Za-z_][\w.]*)*"  # property paths, operators, functions
            r"|[(),]|[^\s(),]+",
            text,
        )
        variables: dict[str, str] = {}
        for index, token in enumerate(tokens):
            if token.startswith("'") or token in ("(", ")") or token.lower() in _FILTER_WORDS:
                continue
            if not re.match(r"[A-Za-z_]", token) or _GUID.fullmatch(token):
                continue  # numbers, GUIDs, dates, punctuation
            if index + 1 < len(tokens) and tokens[index + 1] == "(":
                continue  # a function: startswith, endswith, contains, ...
            if index + 1 < len(tokens) and tokens[index + 1].startswith("'") and "." in token:
                continue  # an enum literal microsoft.graph.x'member'
            lambda_ = re.fullmatch(r"(.+)/(any|all)\(\s*(\w+)\s*:", token)
            if lambda_:
                path, variable = lambda_[1], lambda_[3]
                found = self._check_path(path, type_name, version, variables)
                problems += found
                if not found:
                    variables[variable] = self._path_type(path, type_name, version, variables)
                continue
            problems += self._check_path(token, type_name, version, variables)
        return problems

    def _path_type(self, path: str, type_name: str, version: str, variables: dict[str, str]) -> str:
        parts = path.split("/")
        current = type_name
        if parts[0] in variables:
            current, parts = variables[parts[0]], parts[1:]
        for part in parts:
            properties, navigation = self.declared(current, version)
            current, _ = _element(properties[part]["type"] if part in properties else navigation[part])
        return current

    # -- responses ---------------------------------------------------------------------------------------
    def check_response(
        self,
        target: Target,
        status: int,
        body: Any,
        where: str,
        *,
        evolvable: bool = False,
        select: list[str] | None = None,
    ) -> list[str]:
        """``evolvable``: the request asked for evolvable enum members (``Prefer: include-unknown-enum-members``);
        ``select``: the ``$select`` names, each of which every object of the answer carries (null when unset)."""
        problems: list[str] = []
        if status < 400 and select and target.kind == "resource" and isinstance(body, dict):
            items = body.get("value") if target.collection else [body]
            missing = {name for item in items or [] if isinstance(item, dict) for name in select if name not in item}
            if missing:
                problems.append(
                    f"{where}: $select-ed {sorted(missing)} missing from the answer (Graph sends them, null if unset)"
                )
        return problems + self._check_answer(target, status, body, where, evolvable)

    def _check_answer(self, target: Target, status: int, body: Any, where: str, evolvable: bool) -> list[str]:
        if status >= 400:
            return check_error(body, where)
        if target.kind in ("function", "count", "batch") or body is None:
            return []
        if not isinstance(body, dict):
            return [f"{where}: the answer is not a JSON object"]
        if target.kind == "primitive":
            return []
        assert target.type is not None
        if target.collection:
            problems = [f"{where}: {k!r} on a collection answer" for k in body if k not in COLLECTION_KEYS]
            value = body.get("value")
            if not isinstance(value, list):
                return [*problems, f"{where}: a collection answer without a 'value' list"]
            for index, item in enumerate(value):
                problems += self.check_value(
                    item, target.type, False, f"{where}[{index}]", target.version, evolvable=evolvable
                )
            return problems
        return self.check_value(body, target.type, False, where, target.version, evolvable=evolvable)

    def check_value(
        self, value: Any, type_name: str, nullable: bool, where: str, version: str = "v1.0", *, evolvable: bool = False
    ) -> list[str]:
        element, collection = _element(type_name)
        if collection:
            if not isinstance(value, list):
                return [f"{where}: {type_name} must be a JSON array, got {value!r}"]
            problems: list[str] = []
            for index, item in enumerate(value):
                problems += self.check_value(item, element, nullable, f"{where}[{index}]", version, evolvable=evolvable)
            return problems
        if value is None:
            return [] if nullable else [f'{where}: null, but the property is Nullable="false"']
        if element.startswith("Edm."):
            return _check_primitive(value, element, where)
        enums = self._enums(version)
        if element in enums:
            return _check_enum(value, element, enums[element], where, evolvable)
        return self._check_object(value, element, where, version, evolvable)

    def _check_object(self, value: Any, type_name: str, where: str, version: str, evolvable: bool) -> list[str]:
        types = self._types(version)
        if not isinstance(value, dict):
            return [f"{where}: {type_name} must be a JSON object, got {value!r}"]
        if type_name not in types:
            return [f"{where}: {type_name} is not in the extract (add it to tests/contract/graph/extract.py)"]
        actual = type_name
        stated = value.get("@odata.type")
        if stated is not None:
            name = str(stated).removeprefix("#")
            if not str(stated).startswith("#") or name not in types:
                return [f"{where}: @odata.type {stated!r} is not a type in the {version} extract"]
            if not self.is_subtype(name, type_name, version):
                return [f"{where}: @odata.type {stated!r} is not {type_name} or derived from it"]
            actual = name
        info = types[actual]
        problems: list[str] = []
        if info.get("abstract") and stated is None:
            problems.append(f"{where}: {actual} is abstract: the object must say its @odata.type")
        if info.get("partial"):
            return [f"{where}: {actual} is only a path segment in the extract; add it as a root to read it"]
        properties, navigation = self.declared(actual, version)
        for key, item in value.items():
            if key.startswith("@odata.") or ("@odata." in key and key.split("@", 1)[0] in {**properties, **navigation}):
                continue
            if key in properties:
                prop = properties[key]
                if prop["type"] is None:
                    problems.append(f"{where}.{key}: declared on {actual} but not typed in the extract")
                    continue
                problems += self.check_value(
                    item, prop["type"], prop["nullable"], f"{where}.{key}", version, evolvable=evolvable
                )
            elif key in navigation:
                target = navigation[key]
                element, _ = _element(target or "")
                if element not in types:
                    problems.append(f"{where}.{key}: expanded {target}, not in the extract")
                    continue
                problems += self.check_value(item, target, True, f"{where}.{key}", version, evolvable=evolvable)
            elif not info.get("open"):
                problems.append(f"{where}: {actual} declares no property {key!r}")
        return problems


def _check_primitive(value: Any, type_name: str, where: str) -> list[str]:
    bad = [f"{where}: {value!r} is not a valid {type_name}"]
    if type_name == "Edm.String":
        return [] if isinstance(value, str) else bad
    if type_name == "Edm.Boolean":
        return [] if isinstance(value, bool) else bad
    if type_name in _INT_RANGES:
        low, high = _INT_RANGES[type_name]
        return [] if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high else bad
    if type_name in ("Edm.Double", "Edm.Single", "Edm.Decimal"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok or value in ("NaN", "INF", "-INF") else bad
    patterns = {
        "Edm.DateTimeOffset": _DATETIME,
        "Edm.Date": _DATE,
        "Edm.TimeOfDay": _TIME,
        "Edm.Duration": _DURATION,
        "Edm.Guid": _GUID,
        "Edm.Binary": _BASE64,
    }
    if type_name in patterns:
        return [] if isinstance(value, str) and patterns[type_name].fullmatch(value) else bad
    if type_name in ("Edm.Untyped", "Edm.PrimitiveType"):
        return []
    return [f"{where}: {type_name} is not checked here (a JSON body does not carry it)"]


def _check_enum(value: Any, type_name: str, enum: dict[str, Any], where: str, evolvable: bool) -> list[str]:
    """A member of the enum (flags enums: comma-separated members, no spaces: OData JSON Format 4.01 section 7.1,
    ABNF ``enumValue``). Members declared after ``unknownFutureValue`` (evolvable enums) are sent only to clients
    that ask with ``Prefer: include-unknown-enum-members``; others get ``unknownFutureValue``
    (https://learn.microsoft.com/graph/best-practices-concept#handling-future-members-in-evolvable-enumerations)."""
    if not isinstance(value, str):
        return [f"{where}: {type_name} must be a string, got {value!r}"]
    members = enum["members"]
    parts = value.split(",") if enum["flags"] else [value]
    unknown = [p for p in parts if p not in members]
    if unknown:
        return [f"{where}: {value!r} is not a member of {type_name} ({', '.join(members)})"]
    if "unknownFutureValue" in members and not evolvable:
        sentinel = members.index("unknownFutureValue")
        late = [p for p in parts if members.index(p) > sentinel]
        if late:
            return [
                f"{where}: {', '.join(late)} follows unknownFutureValue in {type_name}: Graph sends it only with "
                "'Prefer: include-unknown-enum-members' (else 'unknownFutureValue')"
            ]
    return []


def check_error(body: Any, where: str) -> list[str]:
    """Graph's error shape (https://learn.microsoft.com/graph/errors): ``{"error": {"code", "message",
    "innerError"?, "details"?}}``; code and message are strings, code not empty."""
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return [f"{where}: an error body must be {{'error': {{...}}}}, got {body!r}"]
    error = body["error"]
    problems = []
    if not isinstance(error.get("code"), str) or not error["code"]:
        problems.append(f"{where}: error.code must be a non-empty string, got {error.get('code')!r}")
    if not isinstance(error.get("message"), str):
        problems.append(f"{where}: error.message must be a string, got {error.get('message')!r}")
    extra = set(error) - {"code", "message", "innerError", "details", "target"}
    if extra:
        problems.append(f"{where}: error has members Graph does not send: {sorted(extra)}")
    if "innerError" in error and not isinstance(error["innerError"], dict):
        problems.append(f"{where}: error.innerError must be an object")
    if "details" in error and not isinstance(error["details"], list):
        problems.append(f"{where}: error.details must be an array")
    return problems
