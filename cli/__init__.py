"""The `mitoshape` command: parses, loads, calls one library function, writes. No numerics.

Commands live in modules named ``_cmd_<topic>.py``, each with a ``register(app)`` that adds its
commands; they are found and registered in name order.
"""

from __future__ import annotations

import logging
import sys

import typer

from ._errors import EXIT_SIGINT, UserError, run_guarded

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


def _stop_once(signum: int, frame: object) -> None:
    """SIGINT: the first one stops the command (KeyboardInterrupt, exit 130 with one line);
    a second one while the first one's clean-up runs is ignored (it used to escape the clean-up
    and kill the process by SIGINT, measured in 10 of 12 double Ctrl-Cs); a third one ends the
    process at once (exit 130, files being written may be left incomplete)."""
    import os

    _stop_once.count += 1  # type: ignore[attr-defined]
    if _stop_once.count == 1:  # type: ignore[attr-defined]
        raise KeyboardInterrupt
    if _stop_once.count >= 3:  # type: ignore[attr-defined]
        os.write(2, b"error: interrupted three times; stopped at once\n")
        os._exit(EXIT_SIGINT)


_stop_once.count = 0  # type: ignore[attr-defined]


def main() -> None:
    """Console entry point: one readable line and a non-zero exit on a user error."""
    import signal

    # Also when a shell started us as a background job with SIGINT ignored: `kill -INT` must
    # still stop a run (exit 130, one line).
    signal.signal(signal.SIGINT, _stop_once)
    try:
        code = run_guarded(app)
    except KeyboardInterrupt:  # raised by the first Ctrl-C after run_guarded had returned
        code = EXIT_SIGINT
    # Exiting: a further Ctrl-C during interpreter shutdown (torch's teardown takes about 0.5 s)
    # would kill the process by SIGINT rather than exit 130.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)
