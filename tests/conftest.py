"""Shared fixtures: the real data folder, and a CLI runner that reports like `mitoshape`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the project's root; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (tests using it are skipped)")
    return SHARED_DATA


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def invoke():
    """Run ``mitoshape ARGS...`` in-process through the same guard as the console script.

    User errors come back as exit code 2 with the one-line message `mitoshape` prints on
    stderr; any other exception is a bug and is raised.
    """
    from typer.testing import CliRunner

    from cli import app
    from cli._errors import run_guarded

    runner = CliRunner()

    def _invoke(*args) -> CliResult:
        with runner.isolation() as streams:
            code = run_guarded(app, [str(a) for a in args])
            out, err = streams[0].getvalue(), streams[1].getvalue()
        return CliResult(code, out.decode(errors="replace"), err.decode(errors="replace"))

    return _invoke


@pytest.fixture(scope="session")
def export_run(tmp_path_factory):
    """One tiny trained run (depth 2, width 4, 64 px, 3 steps) that the export and
    package-predict tests both open: trained once per session."""
    from tests.segtrain._tiny import train_tiny_run

    return train_tiny_run(
        tmp_path_factory.mktemp("export_run"), size=64, model_params={"depth": 2, "width": 4},
        max_steps=3, val_every=3,
    )  # fmt: skip
