"""The README and the guides in docs/ as written: their commands and options exist, their
configs validate, their Python snippets define every name they use and use only names the
packages have (and the quick ones run on the shipped data), and the README's links resolve.
Links between the docs pages are checked by `make docs` (mkdocs --strict)."""

from __future__ import annotations

import ast
import builtins
import os
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# every page a reader sees: the README, the guides, and the root pages the site shows
PAGES = [README, ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]


def _blocks(lang: str, pages=PAGES) -> list[str]:
    return [
        block
        for page in pages
        for block in re.findall(rf"```{lang}\n(.*?)```", page.read_text(), flags=re.S)
    ]


def _commands(pages=PAGES) -> list[list[str]]:
    out = []
    for block in _blocks("bash", pages):
        for line in block.replace("\\\n", " ").splitlines():  # join continued lines
            line = line.split("#", 1)[0].strip()
            if line.startswith("mitoshape "):
                out.append(shlex.split(re.sub(r"[\[\]]", " ", line))[1:])
    return out


def test_every_readme_command_and_option_exists(invoke):
    commands = _commands()
    assert len(commands) >= 40
    assert len(_commands([README])) >= 5
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
    assert len(snippets) >= 5
    assert len(_blocks("python", [README])) == 1  # the README's one example
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


def test_readme_verb_table_names_every_command(invoke):
    """The README's table of verbs lists every command `mitoshape --help` shows, and no other."""
    rows = re.findall(r"^\| `mitoshape ([a-z-]+(?: [a-z]+)?)` \|", README.read_text(), flags=re.M)
    listed = {r.split()[0] for r in rows}
    shown = set(re.findall(r"^│ ([a-z][a-z-]+) ", invoke("--help").stdout, flags=re.M))
    assert shown and listed == shown, (sorted(shown - listed), sorted(listed - shown))


def test_readme_links_resolve():
    """README and CONTRIBUTING link only to files that exist (the docs pages' links: mkdocs)."""
    for page in (README, ROOT / "CONTRIBUTING.md"):
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" not in target:
                assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_every_docs_page_is_in_the_site_nav():
    import yaml

    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]

    def leaves(item):
        if isinstance(item, str):
            yield item
        elif isinstance(item, list):
            for x in item:
                yield from leaves(x)
        elif isinstance(item, dict):
            for v in item.values():
                yield from leaves(v)

    pages = set(leaves(nav))
    missing = [p.name for p in (ROOT / "docs").glob("*.md") if p.name not in pages]
    assert not missing, f"docs pages not in mkdocs.yml nav: {missing}"


@pytest.mark.parametrize(
    "marker",
    [
        "phantoms.torus",
        "render_view(mesh_nm",
        pytest.param("phantom_volume(6", marks=pytest.mark.slow),  # the README's, ~15 s
    ],
)
def test_quick_readme_snippets_run_as_written(marker, shared_data, tmp_path, monkeypatch):
    (code,) = [c for c in _blocks("python") if marker in c]
    project = tmp_path / "project"
    project.mkdir()
    os.symlink(shared_data.parent, tmp_path / "shared")  # ../shared/data as in the README
    monkeypatch.chdir(project)
    exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
