"""Scenarios as data: a YAML file shipped inside the sandbox package, built into the scenario's dataclasses.

The builder is generic: it walks the target dataclass's fields (their type hints) and builds each value from
the mapping of the same name, recursively through nested dataclasses, lists, tuples, sets and mappings. It is strict,
so a typo in the data fails loudly instead of falling back to a default: an unknown key, a missing required
field, a scalar of the wrong type (``"2023"`` written as ``2023``) or a value outside a ``Literal`` is an error
naming where in the file it is.

Times are relative to the scenario's ``now``, as the hand-written scenarios compute them: a ``datetime`` field
takes ``{days_ago: D, hours_ago: H}`` (either may be left out; negative values lie in the future) and resolves
to ``now - timedelta(days=D, hours=H)``. A ``date`` field takes an absolute ISO date (``2031-06-30``, unquoted).
Tables of plain "days ago" numbers (the people and devices of a tenant) need no ``now``.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

__all__ = ["ScenarioDataError", "build", "build_rows", "load_data", "resolve_time"]

T = TypeVar("T")

#: the keys of a relative time
TIME_KEYS = frozenset({"days_ago", "hours_ago"})


class ScenarioDataError(ValueError):
    """The data does not describe the dataclass it is built into."""


def load_data(package: str, name: str) -> dict[str, Any]:
    """The parsed YAML file ``name`` (a ``/``-separated path) shipped in ``package``, e.g.
    ``load_data("hygiene_sandbox.aws", "data/northwind.yaml")``."""
    text = resources.files(package).joinpath(*name.split("/")).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ScenarioDataError(f"{package}/{name}: the top level is not a mapping")
    return data


def resolve_time(value: object, now: datetime, where: str) -> datetime:
    """``{days_ago: D, hours_ago: H}`` as ``now - timedelta(days=D, hours=H)`` (``now`` in UTC)."""
    if not isinstance(value, dict) or not value or not set(value) <= TIME_KEYS:
        raise ScenarioDataError(f"{where}: a time is {{days_ago: D, hours_ago: H}}, not {value!r}")
    for key, amount in value.items():
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            raise ScenarioDataError(f"{where}.{key}: a number, not {amount!r}")
    base = now if now.tzinfo is UTC else now.astimezone(UTC)
    return base - timedelta(days=value.get("days_ago", 0.0), hours=value.get("hours_ago", 0.0))


def build(
    cls: type[T],
    data: object,
    now: datetime | None = None,
    *,
    where: str = "",
    given: Mapping[str, Any] | None = None,
) -> T:
    """An instance of the dataclass ``cls`` from ``data``, its times relative to ``now`` (a table without times
    needs none); the ``given`` fields are the caller's (the data may not set them)."""
    given = given or {}
    if not isinstance(data, dict):
        raise ScenarioDataError(f"{where or cls.__name__}: a mapping for {cls.__name__}, not {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields)) + sorted(set(data) & set(given))
    if unknown:
        raise ScenarioDataError(f"{where or cls.__name__}: {cls.__name__} takes no {', '.join(unknown)}")
    hints = _hints(cls)
    values = dict(given)
    for name, value in data.items():
        values[name] = _value(hints[name], value, now, f"{where}.{name}" if where else name)
    missing = [
        f.name
        for f in fields.values()
        if f.name not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ScenarioDataError(f"{where or cls.__name__}: {cls.__name__} needs {', '.join(missing)}")
    return cls(**values)


def build_rows(cls: type[T], table: object, name: str, now: datetime | None = None) -> tuple[T, ...]:
    """The rows of a table written ``{columns: [a, b, ...], rows: [[1, 2, ...], ...]}`` (a compact form for long
    tables of short records), each built into ``cls`` from its column names."""
    if not isinstance(table, dict) or set(table) != {"columns", "rows"}:
        raise ScenarioDataError(f"{name}: a table is {{columns: [...], rows: [[...], ...]}}")
    columns = table["columns"]
    built = []
    for n, row in enumerate(table["rows"]):
        if not isinstance(row, list) or len(row) != len(columns):
            raise ScenarioDataError(f"{name}.rows[{n}]: {len(columns)} cells ({', '.join(columns)}), not {row!r}")
        built.append(build(cls, dict(zip(columns, row, strict=True)), now, where=f"{name}.rows[{n}]"))
    return tuple(built)


#: each dataclass's resolved field types (its annotations are strings under ``from __future__ import annotations``)
_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _value(hint: Any, value: object, now: datetime | None, where: str) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) != 1:
            raise ScenarioDataError(f"{where}: the type {hint} is not supported in scenario data")
        return _value(options[0], value, now, where)
    if hint is datetime:
        if now is None:
            raise ScenarioDataError(f"{where}: a time, but no now to resolve it against")
        return resolve_time(value, now, where)
    if hint is date:
        if type(value) is not date:
            raise ScenarioDataError(f"{where}: a date (2031-06-30), not {value!r}")
        return value  # an absolute date: YAML reads an unquoted ISO date as one
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return build(hint, value, now, where=where)
    if origin is Literal:
        if value not in args:
            raise ScenarioDataError(f"{where}: one of {', '.join(map(str, args))}, not {value!r}")
        return value
    if origin in (list, set) or (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
        if not isinstance(value, list):
            raise ScenarioDataError(f"{where}: a list, not {value!r}")
        items = [_value(args[0], item, now, f"{where}[{n}]") for n, item in enumerate(value)]
        return set(items) if origin is set else tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ScenarioDataError(f"{where}: a mapping, not {value!r}")
        key_type, item_type = args
        return {_value(key_type, k, now, where): _value(item_type, v, now, f"{where}.{k}") for k, v in value.items()}
    if hint is Any:
        return value
    return _scalar(hint, value, where)


def _scalar(hint: Any, value: object, where: str) -> Any:
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)  # a whole number written without ``.0``
    if hint in (str, int, float, bool) and type(value) is hint:
        return value
    if hint in (str, int, float, bool):
        raise ScenarioDataError(f"{where}: {value!r} is not of type {hint.__name__}")
    raise ScenarioDataError(f"{where}: the type {hint} is not supported in scenario data")
