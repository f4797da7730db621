"""The floor plan holds (docs/architecture.md): which riskmap module may import which, read from the source with
``ast`` (nothing is imported), function bodies and ``TYPE_CHECKING`` blocks included.

One graph builder serves every rule: no import cycle inside riskmap, config is a leaf, engines/readers/writers sit
below the pipeline, nothing imports the package root but the CLI, no private name crosses a module boundary, and
no function is longer than 80 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

import pytest

import riskmap

PACKAGE_DIR = Path(riskmap.__file__).parent


def module_name(path: Path, root: Path = PACKAGE_DIR, package: str = "riskmap") -> str:
    """``riskmap/config/scoring.py`` -> ``riskmap.config.scoring``; a package's ``__init__.py`` is the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def _imported(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: set[str]
) -> set[str]:
    """The modules of the package one import statement names (``from pkg import sub`` names ``pkg.sub``)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if node.level:  # relative: from the module's package, one level up per extra dot
        anchor = module.split(".")
        anchor = anchor if is_package else anchor[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, node.module] if node.module else anchor)
    else:
        base = node.module or ""
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
CONFIG_MAY_IMPORT = {"riskmap.errors", "riskmap.levels", "riskmap.vocabulary"}


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


def private_imports(root: Path = PACKAGE_DIR, package: str = "riskmap") -> list[str]:
    """``module imports other._name`` for every private name imported from another module of ``package``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root, package)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (
                node.level or (node.module or "").split(".")[0] == package
            ):
                found += [
                    f"{module} imports {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.endswith("__")
                ]
    return found


def test_private_names_are_found(tmp_path: Path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "a.py").write_text("def f():\n    from pkg.b import public, _private\n", encoding="utf-8")
    (pkg / "b.py").write_text("from os import _exit\nfrom pkg import __doc__\n", encoding="utf-8")
    assert private_imports(pkg, "pkg") == ["pkg.a imports pkg.b._private"]


def test_no_private_names_across_modules():
    assert private_imports() == []


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
