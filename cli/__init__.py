"""The `mitoshape` command: parses, loads, calls one library function, writes. No numerics.

Each package's commands live in their own module (``_shapelib.py``, ``_simulator.py``,
``_segtrain.py``, ``_demo.py``), each with a ``register(app)`` that adds its commands.
"""

from __future__ import annotations

import logging
import sys

import typer

from ._errors import UserError, run_guarded

__all__ = ["app", "main", "UserError"]

app = typer.Typer(
    name="mitoshape",
    help="3D mitochondria shape libraries, fluorescence simulation, segmentation benchmarks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details."),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def _register_all() -> None:
    import importlib

    for name in ("_shapelib", "_simulator", "_segtrain", "_demo"):
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"{__name__}.{name}":
                continue  # that package's commands are not written yet
            raise
        module.register(app)


_register_all()


def main() -> None:
    """Console entry point: one readable line and a non-zero exit on a user error."""
    sys.exit(run_guarded(app))
