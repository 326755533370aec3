"""The tool's own words: what may stay readable in the free text of an insurer or customer pack.

Free text in a report (a finding's detail, a reason, a note, a dataset's error) mixes the tool's sentences
("no successful sign-in for 212 days") with vendor-controlled strings (a device named "Jane Doe home PC", an
org-unit path, a policy name, an AWS account id). An allow-list is the only rule that cannot miss a new kind of
vendor string: a word stays readable in a pseudonymised pack only when the tool itself writes it - it is in a
string literal of the built-in checks, the check helpers, the engine, the sources, the permission tables or the
insurer answer sheet (``answers.py`` and the built-in questionnaires) - or it is a short number (counts, days,
versions, dates). Every other run of words becomes a pseudonym.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from hygiene.paths import builtin_checks_dir, policies_dir

_PACKAGE = Path(__file__).resolve().parents[1]
#: where the tool's own sentences are written (the sandbox is not: its names are tenant data)
_VOCABULARY_SOURCES = (
    "checklib",
    "sources",
    "engine.py",
    "scoring.py",
    "permissions.py",
    "model.py",
    "results.py",
    "answers.py",
)
WORD = re.compile(r"[^\W_]+")


def _files() -> Iterator[Path]:
    yield from sorted(builtin_checks_dir().glob("*.py"))
    for name in _VOCABULARY_SOURCES:
        path = _PACKAGE / name
        yield from sorted(path.glob("*.py")) if path.is_dir() else [path]


@lru_cache(maxsize=1)
def tool_vocabulary() -> frozenset[str]:
    """Every word (case-folded) of every string literal in the tool's own sentence-writing modules."""
    words: set[str] = set()
    for path in _files():
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                words.update(w.casefold() for w in WORD.findall(node.value))
    # the questions the answer sheet asks, and their units
    for path in sorted((policies_dir() / "questionnaires").glob("*.yaml")):
        try:
            words.update(w.casefold() for w in WORD.findall(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return frozenset(words)
