"""The README as written: its commands and options exist, its configs validate, its Python
snippets define every name they use (and the quick ones run on the shipped data)."""

from __future__ import annotations

import ast
import builtins
import os
import re
import shlex
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def _commands() -> list[list[str]]:
    out = []
    for block in _blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():  # join continued lines
            line = line.split("#", 1)[0].strip()
            if line.startswith("mitoshape "):
                out.append(shlex.split(re.sub(r"[\[\]]", " ", line))[1:])
    return out


def test_every_readme_command_and_option_exists(invoke):
    commands = _commands()
    assert len(commands) >= 20
    helps: dict[str, str] = {}
    for args in commands:
        name = args[:2] if args[0] == "library" else args[:1]
        key = " ".join(name)
        if key not in helps:
            r = invoke(*name, "--help")
            assert r.exit_code == 0, (key, r.stderr)
            helps[key] = r.stdout
        for opt in (a for a in args if a.startswith("-") and not a.startswith("-o")):
            assert re.search(rf"(^|[\s,]){re.escape(opt)}\b", helps[key]), (key, opt)


def test_readme_configs_validate():
    from segtrain import BenchConfig, TrainConfig
    from shapelib.io import read_config

    seen = set()
    for block in _blocks("yaml"):
        first = block.splitlines()[0]
        model = {"# train.yaml": TrainConfig, "# bench.yaml": BenchConfig}[first.split(":")[0]]
        import yaml

        model.model_validate(yaml.safe_load(block))
        seen.add(model.__name__)
    assert seen == {"TrainConfig", "BenchConfig"}
    assert read_config  # the commands read them through shapelib.io.read_config


def _undefined(code: str) -> set[str]:
    tree = ast.parse(code)
    defined = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            defined |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            defined.add(node.id)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return used - defined


def test_readme_python_snippets_define_every_name():
    snippets = _blocks("python")
    assert len(snippets) >= 4
    for code in snippets:
        compile(code, "README.md", "exec")
        assert not _undefined(code), (_undefined(code), code)


PACKAGES = ("shapelib", "simulator", "segtrain", "webapp", "cli")


def _project_names(code: str) -> list[tuple[str, str]]:
    """(module, name) of every project name a snippet imports or reaches as ``module.name``."""
    tree = ast.parse(code)
    out, imported = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PACKAGES:
            out += [(node.module, a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            imported |= {a.asname or a.name: a.name for a in node.names
                         if a.name.split(".")[0] in PACKAGES}  # fmt: skip
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in imported):  # fmt: skip
            out.append((imported[node.value.id], node.attr))
    return out


def test_readme_python_snippets_use_names_the_packages_have():
    import importlib
    import importlib.util

    def has(module: str, name: str) -> bool:
        # a name of the package, or a submodule (an attribute only once something imported it)
        if hasattr(importlib.import_module(module), name):
            return True
        return importlib.util.find_spec(f"{module}.{name}") is not None

    names = [n for code in _blocks("python") for n in _project_names(code)]
    assert len(names) >= 10
    missing = [f"{m}.{n}" for m, n in names if not has(m, n)]
    assert not missing, f"README snippets use names the packages do not have: {missing}"


@pytest.mark.parametrize("marker", ["phantoms.torus", "render_view("])
def test_quick_readme_snippets_run_as_written(marker, shared_data, tmp_path, monkeypatch):
    (code,) = [c for c in _blocks("python") if marker in c]
    project = tmp_path / "project"
    project.mkdir()
    os.symlink(shared_data.parent, tmp_path / "shared")  # ../shared/data as in the README
    monkeypatch.chdir(project)
    exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
