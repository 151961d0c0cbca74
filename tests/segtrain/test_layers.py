"""segtrain's layers: io is a leaf, compute never imports io or a workflow, no import circle.

The graph counts every import in a module, at its top or inside a function.
"""

import ast
from pathlib import Path

import segtrain

ROOT = Path(segtrain.__file__).parent
WORKFLOWS = {"segtrain._workflow", "segtrain._train", "segtrain._bench"}


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str) -> set[str]:
    """segtrain modules that `path` (module `name`) imports, anywhere in the file."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rsplit(".", 1)[0]
            mod = (base + ("." + node.module if node.module else "")) if node.level else node.module
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names}  # `from . import io`
    return {m for m in out if m.startswith("segtrain")}


def _graph() -> dict[str, set[str]]:
    files = {_module(p): p for p in ROOT.rglob("*.py")}
    return {m: {i for i in _imports(p, m) if i in files and i != m} for m, p in files.items()}


def test_io_is_a_leaf():
    for mod, deps in _graph().items():
        if mod.startswith("segtrain.io"):
            outside = {d for d in deps if not d.startswith("segtrain.io")}
            assert not outside, f"{mod} imports {outside}"


def test_compute_never_imports_io_or_workflows():
    for mod, deps in _graph().items():
        if mod.startswith("segtrain.io") or mod in WORKFLOWS or mod == "segtrain":
            continue
        bad = {d for d in deps if d.startswith("segtrain.io") or d in WORKFLOWS}
        assert not bad, f"compute module {mod} imports {bad}"


def test_no_import_circle():
    graph = _graph()
    graph.pop("segtrain")  # the lazy face names every module and is imported by none
    state: dict[str, int] = {}

    def visit(m, path):
        state[m] = 1
        for d in graph.get(m, ()):
            assert state.get(d) != 1, "circle: " + " -> ".join([*path, m, d])
            if d not in state:
                visit(d, [*path, m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])


def test_no_backend_switch_or_pyplot():
    for p in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names]
                mods = names if isinstance(node, ast.Import) else [node.module or ""]
                mods += (
                    [f"{node.module}.{n}" for n in names]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                assert not any(m.startswith("matplotlib.pyplot") for m in mods), p
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                f = node.func
                assert not (f.attr == "use" and getattr(f.value, "id", "") == "matplotlib"), p
