"""Usage errors are one line on stderr, exit code 2: the bad value, what was expected, where the help is."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from hygiene.cli import main


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["permissions", "--source", "gws"], "'gws' is not one of 'm365', 'google'"),
        (["scan", "x.toml", "--format", "foo"], "choose from json, csv"),
        (["nope"], "No such command 'nope'"),
        (["evidence", "export"], "Missing argument 'ORG'"),
        (["--log-level", "loud", "checks", "list"], "'loud' is not one of"),
    ],
)
def test_a_usage_error_is_one_line(argv: list[str], expected: str) -> None:
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and expected in lines[0] and "--help')" in lines[0]
