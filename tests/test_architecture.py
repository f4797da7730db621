"""The floor plan holds (docs/architecture.md): which riskmap module may import which, read from the source with
``ast`` (nothing is imported), function bodies and ``TYPE_CHECKING`` blocks included.

One graph builder serves every rule: every import is one the module table of docs/architecture.md allows (the
test reads the page: the table is the allow-list), no import cycle inside riskmap, config is a leaf,
engines/readers/writers sit below the pipeline, nothing imports the package root but the CLI, no private name
(nor private module) crosses a module boundary, and no function is longer than 80 lines.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

import pytest

import riskmap

PACKAGE_DIR = Path(riskmap.__file__).parent
ARCHITECTURE = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def module_name(path: Path, root: Path = PACKAGE_DIR, package: str = "riskmap") -> str:
    """``riskmap/config/scoring.py`` -> ``riskmap.config.scoring``; a package's ``__init__.py`` is the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def _from_base(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The module a ``from ... import`` statement imports from, relative imports resolved."""
    if not node.level:
        return node.module or ""
    # relative: from the module's package, one level up per extra dot
    anchor = module.split(".")
    anchor = anchor if is_package else anchor[:-1]
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join([*anchor, node.module] if node.module else anchor)


def _imported(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: set[str]
) -> set[str]:
    """The modules of the package one import statement names (``from pkg import sub`` names ``pkg.sub``)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    base = _from_base(node, module, is_package)
    found = set()
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        found.add(sub if sub in modules else base)
    if "." not in base:
        # ``from riskmap import levels`` reads like a name of the package root: it counts as an import of the root
        # (whose ``__init__`` imports the pipeline), so modules below write ``import riskmap.levels`` instead.
        found.add(base)
    return found


def import_graph(root: Path = PACKAGE_DIR, package: str = "riskmap") -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports, at module level or inside functions (any ``import``).

    Imports under ``if TYPE_CHECKING:`` count too. Edges go to the module named, not to its parent packages
    (whose ``__init__`` Python runs first); importing a name from a package is an edge to the package, or to the
    submodule of that name when there is one. ``import riskmap`` and ``from riskmap import x`` (the package root)
    always count as an edge to the root, submodule or not: the root re-exports the public API and imports the
    pipeline, so anything below the pipeline importing it would be an arrow back up.
    """
    files = {module_name(p, root, package): p for p in sorted(root.rglob("*.py"))}
    modules = set(files)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges |= _imported(node, module, path.name == "__init__.py", modules)
        graph[module] = {m for m in edges if m in modules and m != module}
    return graph


def reachable(graph: dict[str, set[str]], start: set[str]) -> set[str]:
    """Every module imported, directly or not, by the modules in ``start`` (``start`` included)."""
    seen, todo = set(start), list(start)
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _in_config(module: str) -> bool:
    return module == "riskmap.config" or module.startswith("riskmap.config.")


#: What the config package may import of riskmap besides itself: it is a leaf, so every stage can import it.
CONFIG_MAY_IMPORT = {"riskmap.errors", "riskmap.levels", "riskmap.vocabulary", "riskmap.i18n"}


def test_the_graph_sees_module_and_function_level_imports():
    graph = import_graph()
    assert "riskmap.config.scoring" in graph["riskmap.config"]  # from riskmap.config.scoring import ...
    assert "riskmap.methods.lec" in graph["riskmap.methods"]  # from riskmap.methods import lec
    assert "riskmap.config" in graph["riskmap.cli"]  # only inside functions there


def test_relative_imports_are_resolved(tmp_path: Path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .sub import leaf\n", encoding="utf-8")
    (pkg / "sub" / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "sub" / "leaf.py").write_text("def f():\n    from .. import other\n", encoding="utf-8")
    (pkg / "other.py").write_text("import pkg.sub\n", encoding="utf-8")
    graph = import_graph(pkg, "pkg")
    assert graph == {
        "pkg": {"pkg.sub.leaf"},
        "pkg.other": {"pkg.sub"},
        "pkg.sub": set(),
        "pkg.sub.leaf": {"pkg.other", "pkg"},  # ``from .. import other`` names the root
    }


def test_config_is_a_leaf():
    graph = import_graph()
    config_modules = {m for m in graph if _in_config(m)}
    assert {"riskmap.config", "riskmap.config.scoring", "riskmap.config.adjustment"} <= config_modules
    outside = {
        f"{m} imports {target}"
        for m in config_modules
        for target in graph[m]
        if not _in_config(target) and target not in CONFIG_MAY_IMPORT
    }
    assert not outside, sorted(outside)
    # ... and what it imports stays below it: no path from the config back to a stage.
    below = {m for m in reachable(graph, config_modules) if not _in_config(m)}
    assert below <= CONFIG_MAY_IMPORT | {"riskmap._resources"}, sorted(below)


def test_vocabulary_imports_nothing_of_riskmap():
    assert import_graph()["riskmap.vocabulary"] == set()


def test_method_names_of_the_config_are_the_registry():
    from riskmap.config import METHOD_NAMES, MethodName
    from riskmap.methods import METHODS

    assert list(get_args(MethodName)) == list(METHODS) == list(METHOD_NAMES)


def test_every_condition_has_an_evaluator():
    from riskmap.adjust import CONDITION_EVALUATORS
    from riskmap.config import CONDITIONS

    assert set(CONDITION_EVALUATORS) == set(CONDITIONS.values())


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted: every one holds a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = [stack.pop()]
            while group[-1] != module:
                group.append(stack.pop())
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


def test_cycles_are_found(tmp_path: Path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "a.py").write_text("from pkg.b import x\n", encoding="utf-8")
    (pkg / "b.py").write_text("def f():\n    from pkg import c\n", encoding="utf-8")
    (pkg / "c.py").write_text("import pkg.a\n", encoding="utf-8")
    assert import_cycles(import_graph(pkg, "pkg")) == [["pkg.a", "pkg.b", "pkg.c"]]
    (pkg / "c.py").write_text("", encoding="utf-8")
    assert import_cycles(import_graph(pkg, "pkg")) == []


def test_no_import_cycle_inside_riskmap():
    assert import_cycles(import_graph()) == []


#: The only modules that may import the package root ``riskmap`` (it imports the pipeline): none today.
ROOT_IMPORTERS: set[str] = set()


def test_nothing_imports_the_package_root():
    graph = import_graph()
    importers = {m for m, targets in graph.items() if "riskmap" in targets}
    assert importers <= ROOT_IMPORTERS, sorted(importers - ROOT_IMPORTERS)


#: Modules below the pipeline (issue 15): they may import stage modules, never the orchestrator, CLI or root.
BELOW_PIPELINE = [
    "riskmap.engines",
    "riskmap.engines.base",
    "riskmap.engines.memory",
    "riskmap.engines.dask",
    "riskmap.io.project",
    "riskmap.exposure",
    "riskmap.zone_layers",
    "riskmap.outputs.run",
    "riskmap.results",
    "riskmap.stages",
    "riskmap.sensitivity",
]

ABOVE = {"riskmap", "riskmap.pipeline", "riskmap.cli", "riskmap.__main__"}


@pytest.mark.parametrize("module", BELOW_PIPELINE)
def test_below_the_pipeline(module):
    graph = import_graph()
    assert graph[module], module  # the parse found the module's imports
    upward = sorted(reachable(graph, {module}) & ABOVE)
    assert upward == [], f"{module} reaches {upward}: engines, readers and writers sit below the pipeline"


def _private_package(module: str) -> str | None:
    """The package a private module is private to (``riskmap.methods._x`` -> ``riskmap.methods``), else None."""
    parts = module.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.endswith("__"):
            return ".".join(parts[:i])
    return None


def _imported_names(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: set[str]
) -> list[tuple[str, str | None]]:
    """(module, name) per alias of an import: ``from a._b import c`` gives ``("a._b", "c")``, ``import a.b``
    gives ``("a.b", None)``, and ``from a import b`` ``("a.b", None)`` when ``a.b`` is a module."""
    if isinstance(node, ast.Import):
        return [(alias.name, None) for alias in node.names]
    base = _from_base(node, module, is_package)
    return [
        (f"{base}.{a.name}", None) if f"{base}.{a.name}" in modules else (base, a.name) for a in node.names
    ]


def private_imports(root: Path = PACKAGE_DIR, package: str = "riskmap") -> list[str]:
    """``module imports other._name`` for every private name imported from another module of ``package``.

    A private module (``methods/_x.py``) is a private name of its package: only that package (its ``__init__``,
    its modules and subpackages) may import it.
    """
    files = {module_name(p, root, package): p for p in sorted(root.rglob("*.py"))}
    found = []
    for module, path in files.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target, name in _imported_names(node, module, path.name == "__init__.py", set(files)):
                if target.split(".")[0] != package:
                    continue
                private_to = _private_package(target)
                if (
                    private_to is not None
                    and module != private_to
                    and not module.startswith(private_to + ".")
                ):
                    found.append(f"{module} imports {target} (private to {private_to})")
                elif name is not None and name.startswith("_") and not name.endswith("__"):
                    found.append(f"{module} imports {target}.{name}")
    return found


def test_private_names_are_found(tmp_path: Path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "a.py").write_text("def f():\n    from pkg.b import public, _private\n", encoding="utf-8")
    (pkg / "b.py").write_text("from os import _exit\nfrom pkg import __doc__\n", encoding="utf-8")
    assert private_imports(pkg, "pkg") == ["pkg.a imports pkg.b._private"]


def test_private_modules_are_private_to_their_package(tmp_path: Path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    for name in ("__init__.py", "sub/__init__.py", "sub/_helpers.py"):
        (pkg / name).write_text("", encoding="utf-8")
    (pkg / "sub" / "x.py").write_text(
        "from pkg.sub._helpers import h\nfrom . import _helpers\n", encoding="utf-8"
    )
    (pkg / "a.py").write_text("from pkg.sub._helpers import h\n", encoding="utf-8")
    (pkg / "b.py").write_text("def f():\n    import pkg.sub._helpers\n", encoding="utf-8")
    (pkg / "c.py").write_text("from pkg.sub import _helpers\n", encoding="utf-8")
    assert private_imports(pkg, "pkg") == [
        "pkg.a imports pkg.sub._helpers (private to pkg.sub)",
        "pkg.b imports pkg.sub._helpers (private to pkg.sub)",
        "pkg.c imports pkg.sub._helpers (private to pkg.sub)",
    ]


def test_no_private_names_across_modules():
    assert private_imports() == []


# ------------------------------------------------------------------------------ the allow-list of the floor plan

#: The header of the module table in docs/architecture.md, and of the table defining its words (``leaves``).
MODULE_TABLE = "| module | owns | may import (riskmap) |"
WORD_TABLE = "| word | stands for |"


def _table_rows(text: str, header: str) -> list[list[str]]:
    """The body rows of the markdown table whose header row is ``header``, each as its cells."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == header]
    assert len(starts) == 1, f"{len(starts)} tables headed {header!r} in the floor plan (want one)"
    rows = []
    for line in lines[starts[0] + 2 :]:  # the header, then its |---| line
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def _named(token: str, modules: set[str], package: str) -> set[str]:
    """The modules a path names: ``io/`` the package and all its modules, ``io/project.py`` one module,
    ``__init__.py`` the package root."""
    if token.endswith("/"):
        name = ".".join([package, *token.strip("/").split("/")])
        return {m for m in modules if m == name or m.startswith(name + ".")}
    parts = token.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return {".".join([package, *parts])} & modules


@dataclass
class FloorPlan:
    """The module table read: per row (its module cell), the modules it covers and those they may import."""

    covers: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # row -> path -> modules named
    allowed: dict[str, set[str]] = field(default_factory=dict)
    #: What could not be read: a path naming no module, a word the page does not define, a path in two rows.
    problems: list[str] = field(default_factory=list)

    def row_of(self, module: str) -> str | None:
        """The row of ``module``: the one whose path names it most narrowly (``io/project.py`` over ``io/``)."""
        found = [
            (path.count("/") + (not path.endswith("/")), row)
            for row, paths in self.covers.items()
            for path, named in paths.items()
            if module in named
        ]
        return max(found)[1] if found else None


def _paths(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def _may_import(
    cell: str, words: dict[str, set[str]], modules: set[str], package: str, plan: FloorPlan
) -> set[str]:
    """The modules a "may import" cell allows; text in parentheses says why and is not read."""
    allowed: set[str] = set()
    for item in (i.strip() for i in re.sub(r"\([^()]*\)", "", cell).split(",")):
        if item == "anything":
            allowed |= modules
        elif item == "nothing":
            pass
        elif item in words:
            allowed |= words[item]
        elif re.fullmatch(r"`[^`]+`", item) and _named(item.strip("`"), modules, package):
            allowed |= _named(item.strip("`"), modules, package)
        else:
            plan.problems.append(
                f"may import {item!r}: not a module or package of {package}, nor a word defined"
            )
    return allowed


def read_floor_plan(text: str, modules: set[str], package: str = "riskmap") -> FloorPlan:
    """The module table of the floor plan ``text`` as an allow-list over ``modules``."""
    plan = FloorPlan()
    words = {}
    for word, meaning in _table_rows(text, WORD_TABLE):
        words[word] = set().union(*(_named(p, modules, package) for p in _paths(meaning)))
    seen: dict[str, str] = {}
    for module_cell, _owns, may in _table_rows(text, MODULE_TABLE):
        plan.covers[module_cell] = {p: _named(p, modules, package) for p in _paths(module_cell)}
        for path, named in plan.covers[module_cell].items():
            if not named:
                plan.problems.append(f"row {module_cell}: {path} is no module of {package}")
            if path in seen:
                plan.problems.append(f"{path} has two rows: {seen[path]} and {module_cell}")
            seen[path] = module_cell
        plan.allowed[module_cell] = _may_import(may, words, modules, package, plan)
    return plan


def forbidden_imports(graph: dict[str, set[str]], plan: FloorPlan) -> list[str]:
    """Every import the plan does not allow, and every module without a row.

    A module may import the modules of its own row (a package's modules import each other) and those its row's
    "may import" cell names.
    """
    found = []
    for module in sorted(graph):
        row = plan.row_of(module)
        if row is None:
            found.append(f"{module} has no row in the module table")
            continue
        found += [
            f"{module} imports {target}, which the row {row} does not allow"
            for target in sorted(graph[module])
            if plan.row_of(target) != row and target not in plan.allowed[row]
        ]
    return found


def test_the_allow_list_finds_what_the_table_does_not_allow(tmp_path: Path):
    pkg = tmp_path / "pkg"
    (pkg / "io").mkdir(parents=True)
    for name in ("__init__.py", "io/__init__.py", "io/crs.py", "leaf.py", "new.py"):
        (pkg / name).write_text("", encoding="utf-8")
    (pkg / "io" / "project.py").write_text("import pkg.stage\nfrom pkg.io import crs\n", encoding="utf-8")
    (pkg / "io" / "vector.py").write_text("from pkg.io.crs import x\nimport pkg.stage\n", encoding="utf-8")
    (pkg / "stage.py").write_text(
        "import pkg.leaf\ndef f():\n    from pkg.io.project import y\n", encoding="utf-8"
    )
    text = (
        f"{WORD_TABLE}\n|---|---|\n| leaves | `leaf.py` |\n\n{MODULE_TABLE}\n|---|---|---|\n"
        "| `__init__.py` | root | anything |\n| `io/` | readers | leaves |\n"
        "| `io/project.py` | the reader | `stage.py` (why: ignored), `io/`, leaves |\n"
        "| `stage.py` | a stage | leaves, `io/crs.py` |\n| `leaf.py` | a leaf | nothing |\n"
    )
    plan = read_floor_plan(text, set(import_graph(pkg, "pkg")), "pkg")
    assert plan.problems == []
    assert plan.row_of("pkg.io.project") == "`io/project.py`" and plan.row_of("pkg.io.crs") == "`io/`"
    assert forbidden_imports(import_graph(pkg, "pkg"), plan) == [
        "pkg.io.vector imports pkg.stage, which the row `io/` does not allow",
        "pkg.new has no row in the module table",
        "pkg.stage imports pkg.io.project, which the row `stage.py` does not allow",
    ]
    broken = text + "| `gone.py`, `leaf.py` | stale | `io/`, stages |\n"
    assert read_floor_plan(broken, set(import_graph(pkg, "pkg")), "pkg").problems == [
        "row `gone.py`, `leaf.py`: gone.py is no module of pkg",
        "leaf.py has two rows: `leaf.py` and `gone.py`, `leaf.py`",
        "may import 'stages': not a module or package of pkg, nor a word defined",
    ]


def test_the_floor_plan_is_read():
    graph = import_graph()
    plan = read_floor_plan(ARCHITECTURE.read_text(encoding="utf-8"), set(graph))
    assert plan.problems == []
    assert plan.row_of("riskmap.io.project") == "`io/project.py`"
    assert plan.row_of("riskmap.io.crs") == "`io/`"
    assert plan.allowed[plan.row_of("riskmap.columns")] == set()
    assert "riskmap.pipeline" not in plan.allowed[plan.row_of("riskmap.engines.dask")]


def test_imports_follow_the_floor_plan():
    """docs/architecture.md's module table is the allow-list: an import it does not name fails here."""
    graph = import_graph()
    plan = read_floor_plan(ARCHITECTURE.read_text(encoding="utf-8"), set(graph))
    assert forbidden_imports(graph, plan) == []


MAX_FUNCTION_LINES = 80


def long_functions(root: Path = PACKAGE_DIR, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``path:line name (n lines)`` of every function or method longer than ``limit`` lines, decorators aside."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > limit:
                    found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({n} lines)")
    return found


def test_long_functions_are_found(tmp_path: Path):
    body = "".join(f"    x{i} = {i}\n" for i in range(79))
    (tmp_path / "m.py").write_text(f"def ok():\n{body}\n\ndef long():\n{body}    x = 1\n", encoding="utf-8")
    assert long_functions(tmp_path) == ["m.py:83 long (81 lines)"]


def test_no_function_longer_than_80_lines():
    assert long_functions() == [], "split these into named steps"


#: The calls that run a stage: locate and score (an engine's), adjust, zone, supervise.
STAGE_CALLS = {
    "locate",
    "score",
    "apply_adjustments",
    "aggregate_zones",
    "apply_spillover",
    "plan_inspections",
}


def stage_calls(root: Path = PACKAGE_DIR) -> dict[str, set[str]]:
    """Module file -> the stage calls (:data:`STAGE_CALLS`) it makes, by name or as a method; docstrings aside."""
    found: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
                if name in STAGE_CALLS:
                    found.setdefault(str(path.relative_to(root)), set()).add(name)
    return found


def test_stage_calls_are_found(tmp_path: Path):
    (tmp_path / "m.py").write_text(
        '"""apply_adjustments(x) in a docstring is no call."""\n'
        "def f(engine, g):\n    engine.locate(1)\n    return aggregate_zones(g)\n",
        encoding="utf-8",
    )
    assert stage_calls(tmp_path) == {"m.py": {"locate", "aggregate_zones"}}


def test_one_module_chains_the_stages():
    """docs/architecture.md: ``stages.py`` is the only place that chains the stages (issue 25: it was three)."""
    assert set(stage_calls()) == {"stages.py"}, stage_calls()
