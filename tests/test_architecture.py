"""The house rules of DESIGN.md, checked on the code itself with ``ast``.

- No import circle among the modules of the packages, counting every import in a file (at
  module level or inside a function: a circle hidden in a function is still a circle).
- Packages import one way: cli -> webapp -> segtrain -> simulator -> shapelib.
- Inside a package, compute modules never import the package's io modules or its workflows.
  The layers are read from the layout: a module under an ``io`` folder is io, one under a
  ``workflows`` folder a workflow, any other compute (shapelib and simulator, flat still,
  name their few workflow modules below). segtrain's sub-packages import one way too, in the
  order its ``__init__.py`` declares them.
- shapelib and simulator never import torch at module level.
- Library code never switches the matplotlib backend or uses pyplot (figures are Figures).
- No library module over 400 lines (a file that grows past it holds two ideas).
- The web app is a face: cli reaches it only through `serve`; its route handlers import no
  numerics; every model call is in its adapter, ``webapp._segment``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Lowest first: a package may import only packages that come before it.
ORDER = ["shapelib", "simulator", "segtrain", "webapp", "cli"]
PACKAGES = [p for p in ORDER if (ROOT / p / "__init__.py").is_file()]

# Workflow modules of the packages that keep them beside their compute modules (no
# ``workflows`` folder yet): they run folders or libraries through several steps and may use io.
FLAT_WORKFLOWS = {
    "shapelib": {"shapelib._library", "shapelib._library_labels", "shapelib._summary"},
    "simulator": {"simulator._batch"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            out[_module_name(path)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The longest prefix of a dotted name that is one of our modules."""
    parts = name.split(".")
    while parts:
        cand = ".".join(parts)
        if cand in MODULES:
            return cand
        parts.pop()
    return None


def _imports(mod: str, path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level) for every import of ours in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    top_level = {id(n) for n in tree.body}
    # Imports under `if TYPE_CHECKING:` at module level are not run.
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            top_level |= {id(n) for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # `from . import io` names a submodule; `from .x import name` names x.
            targets = [f"{prefix}.{a.name}" for a in node.names if f"{prefix}.{a.name}" in MODULES]
            if not targets:
                targets = [prefix]
        for t in targets:
            r = _resolve(t)
            if r is not None and r != mod:
                found.append((r, node.lineno, id(node) in top_level))
    return found


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def _is_io(mod: str) -> bool:
    parts = mod.split(".")
    return any(p == "io" or p.startswith("_io") for p in parts[1:])


def _is_workflow(mod: str) -> bool:
    """A module under a ``workflows`` folder (or named by a flat package)."""
    pkg = mod.split(".")[0]
    return "workflows" in mod.split(".")[1:] or mod in FLAT_WORKFLOWS.get(pkg, set())


WORKFLOWS = {pkg: {m for m in MODULES if m.split(".")[0] == pkg and _is_workflow(m)}
             for pkg in PACKAGES}  # fmt: skip


def test_the_graph_sees_the_packages():
    assert PACKAGES[:3] == ["shapelib", "simulator", "segtrain"]
    assert len(MODULES) > 40
    assert sum(len(v) for v in GRAPH.values()) > 50
    # The layout names segtrain's workflows; the model registry and segtrain's names are
    # plain imports the graph sees.
    assert {"segtrain.workflows._train", "segtrain.workflows._run"} <= WORKFLOWS["segtrain"]
    assert all(m.split(".")[1] == "workflows" for m in WORKFLOWS["segtrain"])
    registry = {t for t, _, _ in GRAPH["segtrain.models._registry"]}
    assert {"segtrain.models._unet", "segtrain.models._prob_unet"} <= registry
    top = {t for t, _, _ in GRAPH["segtrain"]}
    assert {"segtrain.workflows", "segtrain.training", "segtrain.inference"} <= top


def _segtrain_layers() -> list[str]:
    """segtrain's sub-packages, lowest first: the order of its ``__init__.py`` block."""
    tree = ast.parse((ROOT / "segtrain" / "__init__.py").read_text(encoding="utf-8"))
    blocks = [n for n in tree.body if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n)]
    block = blocks[0]
    return [n.module for n in block.body if isinstance(n, ast.ImportFrom)]


def test_segtrain_sub_packages_import_one_way():
    layers = _segtrain_layers()
    subs = {p.name for p in (ROOT / "segtrain").iterdir() if (p / "__init__.py").is_file()}
    assert subs == set(layers), "every sub-package of segtrain is declared in its __init__.py"
    bad = []
    for mod, edges in GRAPH.items():
        parts = mod.split(".")
        if parts[0] != "segtrain" or len(parts) < 3:
            continue
        for target, line, _ in edges:
            t = target.split(".")
            if t[0] == "segtrain" and len(t) > 1 and t[1] != parts[1] and t[1] in layers:
                if layers.index(t[1]) > layers.index(parts[1]):
                    bad.append(f"{MODULES[mod].relative_to(ROOT)}:{line} imports {target}")
    assert not bad, "segtrain sub-packages importing a later one: " + "; ".join(bad)


def test_segtrain_names_are_its_sub_packages_names_once():
    """Each public name is declared by one sub-package, and segtrain's names are theirs (and
    the few of ``io`` it names): none kept by hand."""
    import importlib

    import segtrain
    from segtrain._exports import declared

    io_names = set(declared(ROOT / "segtrain" / "__init__.py")["io"])
    owners: dict[str, list[str]] = {}
    for layer in _segtrain_layers():
        names = io_names if layer == "io" else importlib.import_module(f"segtrain.{layer}").__all__
        for n in names:
            owners.setdefault(n, []).append(layer)
    twice = {n: ls for n, ls in owners.items() if len(ls) > 1}
    assert not twice, f"names declared by two sub-packages: {twice}"
    assert set(segtrain.__all__) == set(owners)
    missing = [n for n in segtrain.__all__ if not hasattr(segtrain, n)]
    assert not missing, f"declared but not importable: {missing}"


def test_import_segtrain_and_its_configs_without_torch():
    """``import segtrain`` and its configs (the CLI's --help) never import torch."""
    import subprocess
    import sys

    code = ("import sys, segtrain; segtrain.TrainConfig, segtrain.InferenceConfig, "
            "segtrain.BenchConfig, segtrain.RECIPE, segtrain.MODELS, segtrain.ClickConfig; "
            "assert 'torch' not in sys.modules, 'torch imported'")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_no_import_circle():
    # Tarjan's strongly connected components over every import of ours.
    index, low, on, stack, circles = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w, _, _ in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in GRAPH:
        if v not in index:
            visit(v)
    assert not circles, "import circles: " + "; ".join(" <-> ".join(c) for c in circles)


def test_packages_import_one_way():
    bad = []
    for mod, edges in GRAPH.items():
        rank = ORDER.index(mod.split(".")[0])
        for target, line, _ in edges:
            if ORDER.index(target.split(".")[0]) > rank:
                bad.append(f"{MODULES[mod].relative_to(ROOT)}:{line} imports {target}")
    assert not bad, "imports against cli -> webapp -> segtrain -> simulator -> shapelib: " + (
        "; ".join(bad)
    )


@pytest.mark.parametrize("pkg", [p for p in ("shapelib", "simulator", "segtrain") if p in PACKAGES])
def test_compute_never_imports_io_or_workflows(pkg):
    workflows = WORKFLOWS[pkg]
    bad = []
    for mod, edges in GRAPH.items():
        if mod.split(".")[0] != pkg or _is_io(mod) or mod in workflows or mod == pkg:
            continue
        for target, line, _ in edges:
            if target.split(".")[0] != pkg:
                continue
            if _is_io(target) or target in workflows:
                bad.append(f"{MODULES[mod].relative_to(ROOT)}:{line} imports {target}")
    assert not bad, "compute modules importing io or workflows: " + "; ".join(bad)


@pytest.mark.parametrize("pkg", [p for p in ("shapelib", "simulator", "segtrain") if p in PACKAGES])
def test_io_never_imports_workflows(pkg):
    bad = [
        f"{MODULES[mod].relative_to(ROOT)}:{line} imports {target}"
        for mod, edges in GRAPH.items()
        if mod.split(".")[0] == pkg and _is_io(mod)
        for target, line, _ in edges
        if target in WORKFLOWS[pkg]
    ]
    assert not bad, "io modules importing workflows: " + "; ".join(bad)


@pytest.mark.parametrize("pkg", ["shapelib", "simulator"])
def test_no_torch_at_module_level(pkg):
    bad = []
    for mod, path in MODULES.items():
        if mod.split(".")[0] != pkg:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            bad += [f"{mod}:{node.lineno}" for n in names if n.split(".")[0] in ("torch", "open3d")]
    assert not bad, "torch/open3d imported at module level: " + ", ".join(bad)


def test_detects_a_planted_circle(tmp_path, monkeypatch):
    """The circle finder itself works: a two-module loop is reported."""
    global GRAPH
    planted = dict(GRAPH)
    planted["shapelib._a"] = [("shapelib._b", 1, True)]
    planted["shapelib._b"] = [("shapelib._a", 1, False)]
    monkeypatch.setattr(__import__(__name__, fromlist=["GRAPH"]), "GRAPH", planted)
    with pytest.raises(AssertionError, match="shapelib._a <-> shapelib._b"):
        test_no_import_circle()


@pytest.mark.parametrize("pkg", [p for p in ("shapelib", "simulator", "segtrain") if p in PACKAGES])
def test_no_backend_switch_or_pyplot(pkg):
    bad = []
    for mod, path in MODULES.items():
        if mod.split(".")[0] != pkg:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
                )
                if any(n.startswith("matplotlib.pyplot") for n in names):
                    bad.append(f"{mod}:{node.lineno} imports pyplot")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                f = node.func
                if f.attr == "use" and getattr(f.value, "id", "") == "matplotlib":
                    bad.append(f"{mod}:{node.lineno} calls matplotlib.use")
    assert not bad, "; ".join(bad)


# --- the web app: a face like cli/ -----------------------------------------------------------

NUMERIC = ("numpy", "scipy", "skimage", "torch", "pandas", "trimesh")
MODEL_NAMES = {"load_run", "predict_image", "predict_stack", "build_model", "refine"}


def _webapp_modules() -> dict[str, Path]:
    return {m: p for m, p in MODULES.items() if m.split(".")[0] == "webapp"}


def test_webapp_sits_between_cli_and_segtrain():
    assert ORDER.index("segtrain") < ORDER.index("webapp") < ORDER.index("cli")
    if "webapp" not in PACKAGES:
        pytest.skip("no webapp package")
    # cli reaches the web app only through its `serve` command
    users = sorted(
        m for m, edges in GRAPH.items() if m.startswith("cli") and any(
            t.split(".")[0] == "webapp" for t, _, _ in edges)
    )  # fmt: skip
    assert users == ["cli._cmd_serve"], users


def _external_imports(path: Path) -> list[tuple[str, int, bool]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            out.append((node.module or "", node.lineno, id(node) in top))
    return out


def test_webapp_handlers_hold_no_numerics():
    """Route modules parse, call and return: no numpy, scipy, scikit-image, torch or pandas."""
    bad = [
        f"{mod}:{line} imports {name}"
        for mod, path in _webapp_modules().items()
        if mod.split(".")[-1].startswith("_routes")
        for name, line, _ in _external_imports(path)
        if name.split(".")[0] in NUMERIC
    ]
    assert not bad, "; ".join(bad)


def test_webapp_calls_models_in_one_place():
    """Every model call goes through the adapter, webapp._segment; torch never at import."""
    bad = []
    for mod, path in _webapp_modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name, line, top in _external_imports(path):
            if name.split(".")[0] == "torch" and (top or mod != "webapp._segment"):
                bad.append(f"{mod}:{line} imports torch")
        if mod == "webapp._segment":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                hit = [a.name for a in node.names if a.name in MODEL_NAMES]
                bad += [f"{mod}:{node.lineno} imports {h}" for h in hit]
            elif isinstance(node, ast.Attribute) and node.attr in MODEL_NAMES:
                if isinstance(node.value, ast.Name) and node.value.id == "segtrain":
                    bad.append(f"{mod}:{node.lineno} calls segtrain.{node.attr}")
    assert not bad, "model access outside webapp._segment: " + "; ".join(bad)


# --- signatures and formatting --------------------------------------------------------------

PUBLIC_PACKAGES = [*ORDER, "shapelib.io", "simulator.io", "segtrain.io"]
MAX_PARAMETERS = 12


def _public_callables():
    import importlib
    import inspect

    for pkg in PUBLIC_PACKAGES:
        module = importlib.import_module(pkg)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                yield f"{pkg}.{name}", obj
            elif inspect.isclass(obj) and obj.__module__.split(".")[0] == pkg.split(".")[0]:
                for attr, value in vars(obj).items():
                    value = getattr(value, "__func__", value)  # class and static methods
                    if inspect.isfunction(value) and (attr == "__init__" or attr[0] != "_"):
                        yield f"{pkg}.{name}.{attr}", value


MAX_MODULE_LINES = 400


def test_no_module_over_400_lines():
    long = {
        name: n
        for name, path in MODULES.items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them by idea): {long}"


def test_no_public_function_takes_more_than_12_parameters():
    """A long parameter list is an options object waiting to be born (STYLE.md)."""
    import inspect

    long = []
    for where, func in _public_callables():
        params = [p for p in inspect.signature(func).parameters if p not in ("self", "cls")]
        if len(params) > MAX_PARAMETERS:
            long.append(f"{where} ({len(params)})")
    assert not long, "public functions over 12 parameters: " + ", ".join(long)


def test_segtrain_does_not_fight_the_formatter():
    """No ``# fmt: skip`` in segtrain: a call too long for one line is shortened instead."""
    marker = "# fmt: " + "skip"
    bad = [
        f"{path.relative_to(ROOT)}:{i}"
        for path in sorted((ROOT / "segtrain").rglob("*.py"))
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if marker in line
    ]
    assert not bad, "fmt: skip in segtrain: " + ", ".join(bad)
