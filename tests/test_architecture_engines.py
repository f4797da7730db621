"""The floor plan holds: engines, the reader and the writers sit below the pipeline and never import it back.

Read with ``ast`` (nothing is imported): a module's riskmap imports, at any level of the file, function bodies
and ``TYPE_CHECKING`` blocks included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "riskmap"

#: Modules below the pipeline (issue 15): they may import stage modules, never the orchestrator or the package.
BELOW_PIPELINE = [
    "engines/__init__.py",
    "engines/base.py",
    "engines/memory.py",
    "engines/dask.py",
    "io/project.py",
    "exposure.py",
    "zone_layers.py",
    "outputs/run.py",
    "results.py",
]


def _imports(path: Path) -> list[tuple[str, str]]:
    """``(module, name)`` of every ``from riskmap... import name`` and ``import riskmap...`` in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "riskmap":
            found += [(node.module, a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(a.name, "") for a in node.names if a.name.split(".")[0] == "riskmap"]
    return found


@pytest.mark.parametrize("module", BELOW_PIPELINE)
def test_below_the_pipeline(module):
    imports = _imports(PACKAGE / module)
    assert imports, module  # the parse found the module's imports
    upward = [m for m, name in imports if m in ("riskmap", "riskmap.pipeline", "riskmap.cli")]
    assert upward == [], f"{module} imports {upward}: engines, readers and writers sit below the pipeline"


@pytest.mark.parametrize("module", [*BELOW_PIPELINE, "pipeline.py", "cli.py"])
def test_no_private_names_across_modules(module):
    private = [
        f"{m}.{name}"
        for m, name in _imports(PACKAGE / module)
        if name.startswith("_") and not name.endswith("__")
    ]
    assert private == [], f"{module} imports private names {private}"
