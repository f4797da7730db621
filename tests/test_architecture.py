"""The floor plan holds: which riskmap module may import which (read from the source with ``ast``)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

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
    return found


def import_graph(root: Path = PACKAGE_DIR, package: str = "riskmap") -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports, at module level or inside functions (any ``import``).

    Imports under ``if TYPE_CHECKING:`` count too. Edges go to the module named, not to its parent packages
    (whose ``__init__`` Python runs first); importing a name from a package is an edge to the package, or to the
    submodule of that name when there is one.
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
        "pkg.sub.leaf": {"pkg.other"},
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
