"""The simulator's layers: compute never imports io or the workflow; io never the workflow."""

from __future__ import annotations

import ast
from pathlib import Path

import simulator

ROOT = Path(simulator.__file__).parent
IO = {"io"}
WORKFLOW = {"_batch"}


def _imports(path: Path) -> set[str]:
    """simulator modules a file imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:  # from .x import y / from . import x
                found |= (
                    {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
                )
            elif node.module and node.module.startswith("simulator."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("simulator.")}
    return found


def _graph() -> dict[str, set[str]]:
    return {p.stem: _imports(p) for p in ROOT.glob("*.py") if p.stem != "__init__"}


def test_compute_never_imports_io_or_the_workflow():
    graph = _graph()
    compute = set(graph) - IO - WORKFLOW
    assert {"_psf", "_render", "_image", "_scene", "_camera", "_config"} <= compute
    for mod in sorted(compute):
        assert not graph[mod] & (IO | WORKFLOW), (mod, graph[mod])
    for mod in IO:
        assert not graph[mod] & WORKFLOW, (mod, graph[mod])


def test_no_import_circle_and_no_torch():
    graph = _graph()
    state: dict[str, int] = {}

    def visit(mod, path):
        state[mod] = 1
        for dep in graph.get(mod, ()):
            assert state.get(dep) != 1, f"import circle: {' -> '.join([*path, dep])}"
            if dep not in state:
                visit(dep, [*path, dep])
        state[mod] = 2

    for mod in graph:
        if mod not in state:
            visit(mod, [mod])
    for p in ROOT.glob("*.py"):
        text = p.read_text()
        assert "import torch" not in text and "matplotlib.use" not in text, p.name
