"""The builder of scenarios written as data (``hygiene_sandbox.scenario_data``): strict, times relative to now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from hygiene_sandbox.aws.scenario import AccessKey, Account, AwsScenario, IamUser, Vault
from hygiene_sandbox.scenario_data import ScenarioDataError, build, build_rows, resolve_time

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_times_are_relative_to_now_as_the_code_computes_them() -> None:
    assert resolve_time({"days_ago": 3}, NOW, "t") == NOW - timedelta(days=3)
    assert resolve_time({"days_ago": 3, "hours_ago": 1}, NOW, "t") == NOW - timedelta(days=3, hours=1)
    assert resolve_time({"hours_ago": 0.5}, NOW, "t") == NOW - timedelta(minutes=30)
    assert resolve_time({"days_ago": -10}, NOW, "t") == NOW + timedelta(days=10)


def test_nested_dataclasses_lists_and_defaults() -> None:
    data = {
        "name": "alice",
        "created": {"days_ago": 100},
        "access_keys": [
            {"created": {"days_ago": 50}, "last_used": None},
            {"active": False, "created": {"days_ago": 9}},
        ],
    }
    user = build(IamUser, data, NOW)
    assert user == IamUser(
        name="alice",
        created=NOW - timedelta(days=100),
        access_keys=[
            AccessKey(created=NOW - timedelta(days=50)),
            AccessKey(active=False, created=NOW - timedelta(days=9)),
        ],
    )


def test_given_fields_are_the_callers() -> None:
    data = {"name": "s", "management_account_id": "123456789012"}
    scenario = build(AwsScenario, data, NOW, given={"now": NOW})
    assert scenario.now == NOW and scenario.accounts == []
    with pytest.raises(ScenarioDataError, match="takes no now"):
        build(AwsScenario, {**data, "now": {"days_ago": 1}}, NOW, given={"now": NOW})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "v", "region": "eu-west-2", "lockd": True}, r"Vault takes no lockd"),
        ({"name": "v"}, r"Vault needs region"),
        ({"name": "v", "region": "eu-west-2", "recovery_points": "7"}, r"recovery_points: '7' is not of type int"),
        ({"name": "v", "region": "eu-west-2", "locked": 1}, r"locked: 1 is not of type bool"),
        ({"name": "v", "region": "eu-west-2", "vault_type": "VAULT"}, r"vault_type: one of BACKUP_VAULT"),
        ({"name": "v", "region": "eu-west-2", "lock_date": "2026-01-01"}, r"lock_date: a time is \{days_ago"),
        ({"name": "v", "region": "eu-west-2", "lock_date": {"weeks_ago": 1}}, r"lock_date: a time is"),
    ],
)
def test_the_data_is_checked_strictly(data: dict[str, object], message: str) -> None:
    with pytest.raises(ScenarioDataError, match=message):
        build(Vault, data, NOW)


def test_an_error_says_where_in_the_file() -> None:
    data = {"account_id": "123456789012", "name": "a", "email": "e", "created": {"days_ago": 1}}
    bad = {**data, "users": [{"name": "u", "created": {"days_ago": 1}}, {"name": 7, "created": {"days_ago": 1}}]}
    with pytest.raises(ScenarioDataError, match=r"accounts\[0\]\.users\[1\]\.name: 7 is not of type str"):
        build(Account, bad, NOW, where="accounts[0]")


@dataclass(frozen=True)
class _Row:
    name: str
    synced: float
    methods: tuple[str, ...] = ()
    until: date | None = None


def test_tables_without_times_tuples_and_dates() -> None:
    row = build(_Row, {"name": "pc", "synced": 3, "methods": ["push"], "until": date(2031, 6, 30)})
    assert row == _Row("pc", 3.0, ("push",), date(2031, 6, 30))
    assert isinstance(row.synced, float)  # a whole number in a float column, as float() read the text tables
    with pytest.raises(ScenarioDataError, match=r"until: a date"):
        build(_Row, {"name": "pc", "synced": 1, "until": "2031-06-30"})
    with pytest.raises(ScenarioDataError, match=r"created: a time, but no now"):
        build(IamUser, {"name": "u", "created": {"days_ago": 1}})


def test_a_table_of_rows() -> None:
    table = {"columns": ["name", "synced"], "rows": [["a", 1], ["b", 0.5]]}
    assert build_rows(_Row, table, "t") == (_Row("a", 1.0), _Row("b", 0.5))
    with pytest.raises(ScenarioDataError, match=r"t\.rows\[1\]: 2 cells \(name, synced\)"):
        build_rows(_Row, {"columns": ["name", "synced"], "rows": [["a", 1], ["b", 0.5, "x"]]}, "t")
