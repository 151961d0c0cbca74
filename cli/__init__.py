"""The `mitoshape` command: parses, loads, calls one library function, writes. No numerics.

Commands live in modules named ``_cmd_<topic>.py``, each with a ``register(app)`` that adds its
commands; they are found and registered in name order.
"""

from __future__ import annotations

import signal as _signal


def _stop_while_starting(signum: int, frame: object) -> None:
    """SIGINT or SIGTERM while the command's modules load (seconds on a busy machine; it was
    a traceback of the import under way): nothing is written yet, so one line and the exit
    code at once. `main` installs the command's own handler (`_stop_once`)."""
    import os

    name = _signal.Signals(signum).name
    how = "terminated" if name == "SIGTERM" else "interrupted"
    os.write(2, f"error: {how} ({name}) while starting; nothing was written\n".encode())
    os._exit(128 + signum)


_BEFORE: dict = {}  # the handlers before this module loaded, put back once it has
try:
    for _s in (_signal.SIGINT, _signal.SIGTERM):
        _BEFORE[_s] = _signal.signal(_s, _stop_while_starting)
except ValueError:  # imported outside the main thread: signals are not ours to handle
    pass

import logging  # noqa: E402
import sys  # noqa: E402

import typer  # noqa: E402

from ._errors import UserError, run_guarded, stop_exit_code, stopped_by  # noqa: E402

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
    if not verbose:
        # A damaged file's complaints from the readers (tifffile's "invalid page offset",
        # asyncio's "Task was destroyed but it is pending!" from zarr, hundreds of lines)
        # come back as our one error line; -v shows them.
        for name in ("tifffile", "asyncio"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def _register_all() -> None:
    import importlib
    import pkgutil

    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("_cmd_"))
    for name in names:
        importlib.import_module(f"{__name__}.{name}").register(app)


_register_all()
for _s, _handler in _BEFORE.items():
    if _handler is not None:
        _signal.signal(_s, _handler)


def _stop_once(signum: int, frame: object) -> None:
    """SIGINT or SIGTERM: the first one stops the command (KeyboardInterrupt; exit 130 for
    SIGINT, 143 for SIGTERM, with one line; a process pool's workers are stopped too); a
    second one while the first one's clean-up runs is ignored (it used to escape the clean-up
    and kill the process by SIGINT, measured in 10 of 12 double Ctrl-Cs); a third one ends the
    process at once (files being written may be left incomplete)."""
    import os
    import signal

    _stop_once.count += 1  # type: ignore[attr-defined]
    if _stop_once.count == 1:  # type: ignore[attr-defined]
        stopped_by(signal.Signals(signum).name)
        raise KeyboardInterrupt
    if _stop_once.count >= 3:  # type: ignore[attr-defined]
        os.write(2, b"error: stopped three times; stopped at once\n")
        os._exit(128 + signum)


_stop_once.count = 0  # type: ignore[attr-defined]


def _unraisable(info) -> None:
    """`sys.unraisablehook`: the stop's KeyboardInterrupt raised where Python cannot pass it
    on (in a ``__del__``, a weakref or a ctypes callback; numba's compiler runs many) would be
    printed and lost and the command would run on: raise it again at the main thread's next
    step instead (from another thread: here it would be lost again). Anything else goes to
    the usual hook."""
    import _thread
    import signal
    import threading
    import time

    from ._errors import _STOP

    if isinstance(info.exc_value, KeyboardInterrupt) and _STOP["pending"]:
        _stop_once.count = 0  # type: ignore[attr-defined]  # the stop has not happened yet
        signum = getattr(signal, _STOP["signal"])

        def again() -> None:
            time.sleep(0.05)  # the hook has returned: the main thread runs on
            _thread.interrupt_main(signum)

        threading.Thread(target=again, daemon=True).start()
        return
    sys.__unraisablehook__(info)


def main() -> None:
    """Console entry point: one readable line and a non-zero exit on a user error."""
    import signal

    # Also when a shell started us as a background job with SIGINT ignored: `kill -INT` must
    # still stop a run (exit 130, one line). SIGTERM (`timeout`, Slurm, `docker stop`) stops
    # it the same way (exit 143, one line); pool workers, forked later, inherit the handler.
    signal.signal(signal.SIGINT, _stop_once)
    signal.signal(signal.SIGTERM, _stop_once)
    sys.unraisablehook = _unraisable
    try:
        code = run_guarded(app)
    except KeyboardInterrupt:  # raised by the first signal after run_guarded had returned
        code = stop_exit_code()
    # Exiting: a further signal during interpreter shutdown (torch's teardown takes about
    # 0.5 s) would kill the process by that signal rather than exit with the code.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(code)
