"""The layers of the package, checked from the source (parsed with ``ast``, never imported).

Every module of ``hygiene`` and of the built-in pack ``checks/`` is parsed; every import (at module level, inside a
function or under ``if TYPE_CHECKING:``) becomes an edge of the module graph, ``from x import y`` resolving to the
module ``x.y`` when that is a module. The test fails on

- an import cycle between modules (the cycle is printed);
- an upward import: a module importing a module of a higher layer (:data:`LAYERS`, lowest first; modules of one
  layer may import each other);
- the sandbox and the product mixing: the sandbox imports nothing of the product, and only :data:`SANDBOX_USERS`
  import the sandbox;
- a vendor SDK imported outside :data:`VENDOR_SDK_USERS`;
- a function-local import of a module of the package outside the command-line package (``hygiene.cli``) and
  :data:`LOCAL_IMPORTS`: a function-local import is for start-up time only, never to hide a cycle.

``docs/architecture.md`` shows the same table.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

#: lowest first; a module belongs to the longest entry it equals or starts with (``entry.``); the root package
#: ``hygiene`` (its ``__init__``: the version only) is matched exactly
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "foundation",
        (
            "hygiene",
            "hygiene.paths",
            "hygiene.errors",
            "hygiene.yamlio",
            "hygiene.logsetup",
            "hygiene.perf",
            "hygiene.safetext",
            "hygiene.atomic",
            "hygiene.strict",
            "hygiene.taxonomy",
            "hygiene.figures",
            "hygiene.schedule",
            "hygiene.limits",
        ),
    ),
    ("model", ("hygiene.model", "hygiene.snapshot_io")),
    # reasoning over the model (who MFA covers, AWS gaps, stale accounts), shared by checks and by sources deciding
    # what else to read; checks reach their data through CheckContext, so checklib depends on the model only
    ("domain", ("hygiene.checklib",)),
    ("policy", ("hygiene.policy", "hygiene.frameworks")),
    ("config", ("hygiene.config",)),
    ("sources", ("hygiene.sources",)),
    ("checks", ("hygiene.checkapi", "checks")),
    (
        "engine",
        (
            "hygiene.results",
            "hygiene.scoring",
            "hygiene.registry",
            "hygiene.engine",
            "hygiene.permissions",
            "hygiene.selection",
        ),
    ),
    # every renderer is in hygiene.reports (one module per format), with the plain models it takes in
    # hygiene.reports.interface: the views and packs that compute them are above it
    ("outputs", ("hygiene.reports", "hygiene.history", "hygiene.notify")),
    ("views", ("hygiene.answers", "hygiene.frameworks.views")),
    ("packs", ("hygiene.evidence", "hygiene.portfolio")),
    ("pipeline", ("hygiene.scan",)),
    ("runners", ("hygiene.agent", "hygiene.demo", "hygiene.fleet")),
    ("cli", ("hygiene.cli",)),
)

#: apart from the layers: local fakes of the vendors, importing nothing of the product
SANDBOX = "hygiene_sandbox"
#: the product modules that may import the sandbox: the demo wiring that runs it
SANDBOX_USERS = frozenset({"hygiene.demo"})

#: vendor SDKs (top-level import names)
VENDOR_SDKS = frozenset(
    {
        "boto3",
        "botocore",
        "googleapiclient",
        "google",
        "google_auth_httplib2",
        "httplib2",
        "msal",
        "requests",
        "moto",
        "azure",
        "dns",  # dnspython: the email platform's resolver
    }
)
#: module prefix -> the SDKs it may import
VENDOR_SDK_USERS: Mapping[str, frozenset[str]] = {
    "hygiene.sources": VENDOR_SDKS - {"moto"},
    SANDBOX: VENDOR_SDKS,
    "hygiene.notify.channels": frozenset({"requests"}),  # the webhook sender
}

#: (importer, imported) function-local imports of the package, each with its reason: start-up time only
LOCAL_IMPORTS: Mapping[tuple[str, str], str] = {
    ("hygiene.demo", "hygiene_sandbox.aws"): "moto is an optional extra: the demo says how to install it",
    ("hygiene_sandbox.hostile", "hygiene_sandbox.aws.northwind"): "moto is an optional extra (the AWS sandbox)",
}


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    local: bool  # inside a function (or a class body's method)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def discover(root: Path) -> dict[str, Path]:
    files = sorted((root / "hygiene").rglob("*.py")) + sorted((root / "checks").glob("*.py"))
    sandbox = sorted((root / "sandbox" / SANDBOX).rglob("*.py"))  # the sandbox distribution, sandbox/ in the repo
    return {module_name(p, root): p for p in files} | {module_name(p, root / "sandbox"): p for p in sandbox}


def _targets(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool, known: Container[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = importer.split(".") if is_package else importer.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    out = []
    for alias in node.names:
        candidate = f"{prefix}.{alias.name}"
        out.append(candidate if candidate in known else prefix)
    return out


def imports_of(source: str, importer: str, is_package: bool, known: Container[str]) -> list[Import]:
    tree = ast.parse(source)
    found: list[Import] = []

    def visit(node: ast.AST, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                for target in _targets(child, importer, is_package, known):
                    found.append(Import(importer, target, child.lineno, local))
            visit(child, local or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))

    visit(tree, False)
    return found


def collect(root: Path) -> tuple[set[str], list[Import]]:
    modules = discover(root)
    edges: list[Import] = []
    for name, path in modules.items():
        edges += imports_of(path.read_text(encoding="utf-8"), name, path.name == "__init__.py", modules)
    return set(modules), edges


def internal(edges: Iterable[Import], modules: set[str]) -> list[Import]:
    """Imports of a module of the package (``import hygiene.x`` of a package resolves to the package), one per
    (importer, imported, line)."""
    return list(dict.fromkeys(e for e in edges if e.imported in modules and e.imported != e.importer))


def find_cycles(modules: set[str], edges: Iterable[Import]) -> list[list[str]]:
    """Strongly connected components of more than one module, each as one cycle through it (Tarjan)."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for e in edges:
        graph.setdefault(e.importer, set()).add(e.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def strongconnect(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return [_cycle_in(sorted(c), graph) for c in components]


def _cycle_in(component: list[str], graph: Mapping[str, set[str]]) -> list[str]:
    """One cycle through the first module of a strongly connected component (breadth first, shortest)."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & members):
            if w == start:
                return [*paths[v], start]
            if w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    return component  # pragma: no cover - a component always has a cycle


def layer_of(module: str, layers: tuple[tuple[str, tuple[str, ...]], ...] = LAYERS) -> int | None:
    best: tuple[int, int] | None = None  # (length of the entry, layer)
    for rank, (_, entries) in enumerate(layers):
        for entry in entries:
            matches = module == entry or (entry != "hygiene" and module.startswith(entry + "."))
            if matches and (best is None or len(entry) > best[0]):
                best = (len(entry), rank)
    return None if best is None else best[1]


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def in_sandbox(module: str) -> bool:
    return _within(module, SANDBOX)


def upward_imports(edges: Iterable[Import], layers: tuple[tuple[str, tuple[str, ...]], ...] = LAYERS) -> list[str]:
    problems = []
    for e in edges:
        if in_sandbox(e.importer) or in_sandbox(e.imported):
            continue
        low, high = layer_of(e.importer, layers), layer_of(e.imported, layers)
        if low is None or high is None:
            continue  # reported by test_every_module_has_a_layer
        if high > low:
            problems.append(f"{e.importer} ({layers[low][0]}) imports {e.imported} ({layers[high][0]}), line {e.line}")
    return problems


def sandbox_mixing(edges: Iterable[Import]) -> list[str]:
    problems = []
    for e in edges:
        if in_sandbox(e.importer) and not in_sandbox(e.imported):
            problems.append(f"the sandbox module {e.importer} imports the product module {e.imported}, line {e.line}")
        elif in_sandbox(e.imported) and not in_sandbox(e.importer) and e.importer not in SANDBOX_USERS:
            problems.append(f"{e.importer} imports the sandbox ({e.imported}), line {e.line}")
    return problems


def sdk_users(edges: Iterable[Import]) -> list[str]:
    problems = []
    for e in edges:
        sdk = e.imported.split(".")[0]
        if sdk not in VENDOR_SDKS:
            continue
        users = (sdks for prefix, sdks in VENDOR_SDK_USERS.items() if _within(e.importer, prefix))
        allowed = frozenset[str]().union(*users)
        if sdk not in allowed:
            problems.append(f"{e.importer} imports the vendor SDK {e.imported}, line {e.line}")
    return problems


def is_cli(module: str) -> bool:
    """The command-line wiring: the package ``hygiene.cli`` and its command modules."""
    return _within(module, "hygiene.cli")


def unexplained_local_imports(edges: Iterable[Import], modules: set[str]) -> list[str]:
    return [
        f"{e.importer} imports {e.imported} inside a function, line {e.line}"
        for e in internal(edges, modules)
        if e.local and not is_cli(e.importer) and (e.importer, e.imported) not in LOCAL_IMPORTS
    ]


@pytest.fixture(scope="module")
def graph() -> tuple[set[str], list[Import]]:
    return collect(ROOT)


def test_every_module_has_a_layer(graph: tuple[set[str], list[Import]]) -> None:
    modules, _ = graph
    assert modules, "no modules found"
    missing = sorted(m for m in modules if not in_sandbox(m) and layer_of(m) is None)
    assert not missing, f"modules missing from tests/unit/core/test_layers.py LAYERS: {missing}"
    stale = sorted(e for _, entries in LAYERS for e in entries if not any(_within(m, e) for m in modules))
    assert not stale, f"LAYERS entries that match no module (remove them): {stale}"


def test_no_import_cycles(graph: tuple[set[str], list[Import]]) -> None:
    modules, edges = graph
    cycles = find_cycles(modules, internal(edges, modules))
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_upward_imports(graph: tuple[set[str], list[Import]]) -> None:
    modules, edges = graph
    problems = upward_imports(internal(edges, modules))
    assert not problems, "upward imports:\n" + "\n".join(problems)


def test_sandbox_stands_apart(graph: tuple[set[str], list[Import]]) -> None:
    modules, edges = graph
    problems = sandbox_mixing(internal(edges, modules))
    assert not problems, "\n".join(problems)


def test_vendor_sdks_only_in_sources_and_sandbox(graph: tuple[set[str], list[Import]]) -> None:
    _, edges = graph
    problems = sdk_users(edges)
    assert not problems, "\n".join(problems)


def test_function_local_imports_are_for_start_up_time_only(graph: tuple[set[str], list[Import]]) -> None:
    modules, edges = graph
    problems = unexplained_local_imports(edges, modules)
    assert not problems, "function-local imports not in LOCAL_IMPORTS:\n" + "\n".join(problems)
    stale = sorted(set(LOCAL_IMPORTS) - {(e.importer, e.imported) for e in internal(edges, modules) if e.local})
    assert not stale, f"LOCAL_IMPORTS entries that no longer occur (remove them): {stale}"


# -- the checker itself can fail ----------------------------------------------------------------------------------


def _synthetic(tmp_path: Path, files: Mapping[str, str]) -> tuple[set[str], list[Import]]:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (tmp_path / "checks").mkdir(exist_ok=True)
    return collect(tmp_path)


def test_checker_reports_a_cycle_hidden_in_a_function(tmp_path: Path) -> None:
    modules, edges = _synthetic(
        tmp_path,
        {
            "hygiene/__init__.py": "",
            "hygiene/registry.py": "def f():\n    from hygiene.frameworks import load\n",
            "hygiene/frameworks/__init__.py": "from hygiene import registry\n",
            "hygiene/history/__init__.py": "",
            "hygiene/history/store.py": "from .schema import migrate\n",
            "hygiene/history/schema.py": "def g():\n    from . import store\n",
        },
    )
    cycles = find_cycles(modules, internal(edges, modules))
    assert sorted(cycles) == [
        ["hygiene.frameworks", "hygiene.registry", "hygiene.frameworks"],
        ["hygiene.history.schema", "hygiene.history.store", "hygiene.history.schema"],
    ]


def test_checker_reports_upward_imports_sdks_and_the_sandbox(tmp_path: Path) -> None:
    modules, edges = _synthetic(
        tmp_path,
        {
            "hygiene/__init__.py": "",
            "hygiene/config.py": "def formats():\n    from hygiene.reports import FORMATS\n",
            "hygiene/reports/__init__.py": "FORMATS = {}\n",
            "hygiene/model.py": "import boto3\nfrom hygiene_sandbox import northwind\n",
            "sandbox/hygiene_sandbox/__init__.py": "",
            "sandbox/hygiene_sandbox/northwind.py": "from hygiene.model import Snapshot\n",
        },
    )
    edges_in = internal(edges, modules)
    assert upward_imports(edges_in) == ["hygiene.config (config) imports hygiene.reports (outputs), line 2"]
    assert sdk_users(edges) == ["hygiene.model imports the vendor SDK boto3, line 1"]
    assert sandbox_mixing(edges_in) == [
        "hygiene.model imports the sandbox (hygiene_sandbox.northwind), line 2",
        "the sandbox module hygiene_sandbox.northwind imports the product module hygiene.model, line 1",
    ]
    assert unexplained_local_imports(edges, modules) == [
        "hygiene.config imports hygiene.reports inside a function, line 2"
    ]
    assert layer_of("hygiene.frameworks.views") > layer_of("hygiene.frameworks")  # type: ignore[operator]
    assert layer_of("hygiene.unknown") is None


# -- what an offline command loads --------------------------------------------------------------------------------

_HEAVY = ("boto3", "botocore", "googleapiclient", "google.auth", "msal", "moto", "azure", "dns", "hygiene_sandbox")


def _loaded_after(statement: str) -> set[str]:
    probe = f"import sys\n{statement}\nprint('\\n'.join(m for m in {_HEAVY!r} if m in sys.modules))\n"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(done.stdout.split())


@pytest.mark.parametrize(
    "statement",
    [
        "import hygiene.evidence.pack",
        "import hygiene.permissions",
        "import hygiene.frameworks",
        "import hygiene.checklib.m365",
        "import hygiene.checklib.email",
        "import hygiene.config",
        "import hygiene.cli",  # hygiene --help
        # the platform registry and every platform's catalogue: a source (and its SDK) loads only to scan
        "import hygiene.sources.platforms",
        "import hygiene.scan",
    ],
)
def test_offline_modules_load_no_vendor_sdk(statement: str) -> None:
    assert _loaded_after(statement) == set()
