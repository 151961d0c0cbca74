"""The `mitoshape` command: parses, loads, calls one library function, writes. No numerics.

Commands live in modules named ``_cmd_<topic>.py``, each with a ``register(app)`` that adds its
commands; they are found and registered in name order.
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
    import pkgutil

    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("_cmd_"))
    for name in names:
        importlib.import_module(f"{__name__}.{name}").register(app)


_register_all()


def main() -> None:
    """Console entry point: one readable line and a non-zero exit on a user error."""
    import signal

    # A shell starts background jobs of scripts with SIGINT ignored; `kill -INT` must still stop
    # a run (exit 130, one line), so the default handler comes back.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(run_guarded(app))
