"""One readable line and a non-zero exit for errors a user can fix; tracebacks for bugs.

User errors are the project's own (`shapelib.MitoshapeError`, which `shapelib.InputError` and
this module's `UserError` are), pydantic validation errors of configs and options,
operating-system errors about files (missing, existing, permissions, disk full), and the
command line's usage errors (an unknown command or option, a bad or missing value). Anything
else (`TypeError`, `KeyError`, a bare `ValueError` from a library) is a bug and keeps its
traceback (exit 1).

Exit codes: 0 done; 1 a bug (traceback); 2 a user error (one line); 130 stopped by SIGINT
(Ctrl-C); 143 stopped by SIGTERM (`timeout`, Slurm, `docker stop`); both one line.
"""

from __future__ import annotations

import sys

import typer

from shapelib import InputError, MitoshapeError

__all__ = [
    "UserError",
    "format_error",
    "is_user_error",
    "run_guarded",
    "check_stop",
    "stopped_by",
    "stop_exit_code",
    "EXIT_USER",
    "EXIT_SIGINT",
    "EXIT_SIGTERM",
]

EXIT_USER = 2  # bad input or a refused write
EXIT_SIGINT = 130  # interrupted (128 + SIGINT), as shells report it
EXIT_SIGTERM = 143  # terminated (128 + SIGTERM)

# The signal that stopped the command (set by the handler), and whether its KeyboardInterrupt
# has yet to reach `run_guarded` (pending).
_STOP = {"signal": "SIGINT", "pending": False}


def stopped_by(name: str) -> None:
    """Record which signal (``SIGINT`` or ``SIGTERM``) stops the command, for its exit line;
    the stop is pending until its KeyboardInterrupt reaches `run_guarded`."""
    _STOP["signal"] = name
    _STOP["pending"] = True


def check_stop() -> None:
    """Raise the stop's KeyboardInterrupt again if a signal came and the command runs on: a
    library swallowed it (trimesh imports its soft dependencies under ``except
    BaseException``; a Ctrl-C then was lost). Called where a command is between two pieces
    of work, never in a clean-up: the progress callbacks."""
    if _STOP["pending"]:
        raise KeyboardInterrupt


def _click_classes(name: str) -> tuple[type[BaseException], ...]:
    """click's exception class ``name`` (``ClickException``, ``Abort``): typer's vendored copy
    (typer >= 0.2x), click's own and typer's, those that exist."""
    import importlib

    found: list[type[BaseException]] = []
    for module in ("typer._click.exceptions", "click.exceptions", "typer"):
        try:
            cls = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if isinstance(cls, type) and issubclass(cls, BaseException) and cls not in found:
            found.append(cls)
    return tuple(found)


def stop_exit_code() -> int:
    """130 after SIGINT, 143 after SIGTERM."""
    return EXIT_SIGTERM if _STOP["signal"] == "SIGTERM" else EXIT_SIGINT


def _usage_line(err: BaseException) -> str:
    """``error: <message> (see 'mitoshape CMD --help')`` for a click usage error."""
    msg = err.format_message() if hasattr(err, "format_message") else str(err)
    ctx = getattr(err, "ctx", None)
    see = f" (see '{ctx.command_path if ctx is not None else 'mitoshape'} --help')"
    return "error: " + " ".join(f"{msg}{see}".split())


class UserError(InputError):
    """Raised by CLI code for a problem the user can fix."""


def is_user_error(err: BaseException) -> bool:
    """True for errors that are the user's to fix (shown as one line), False for bugs."""
    from pydantic import ValidationError

    return isinstance(err, (MitoshapeError, ValidationError, OSError))


def format_error(err: BaseException) -> str:
    """``error: <one line>`` for a user error."""
    from pydantic import ValidationError

    if isinstance(err, ValidationError):
        from shapelib._errors import format_validation_error

        msg = format_validation_error(err, where=f"invalid {err.title}")
    elif isinstance(err, OSError) and err.filename and str(err.filename) not in str(err):
        msg = f"{err.strerror or err}: {err.filename}"
    else:
        msg = str(err).strip() or err.__class__.__name__
    return "error: " + " ".join(msg.split())


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def run_guarded(app: typer.Typer, args: list[str] | None = None) -> int:
    """Run the typer app; user errors become one line on stderr and exit code 2, an interrupt
    exits 130 with one line; bugs raise."""
    usage, abort = _click_classes("ClickException"), _click_classes("Abort")
    # A command starts with no stop pending (one left by an earlier command in this process,
    # e.g. an in-process test runner, would stop this one at its first progress callback).
    _STOP.update(signal="SIGINT", pending=False)
    try:
        rv = app(args=args, prog_name="mitoshape", standalone_mode=False)
    except KeyboardInterrupt:
        rv = EXIT_SIGINT
    except SystemExit as err:  # --help, click usage errors in standalone paths
        return int(err.code or 0) if not isinstance(err.code, str) else 1
    except usage as err:  # unknown command or option, a bad or missing value
        _say(_usage_line(err))
        return EXIT_USER
    except abort:
        _say("error: aborted")
        return 1
    except Exception as err:
        if not is_user_error(err):
            raise
        _say(format_error(err))
        return EXIT_USER
    # typer turns KeyboardInterrupt into its exit code 130 and returns it (standalone_mode=False).
    if rv == EXIT_SIGINT:
        return _stopped(args if args is not None else sys.argv[1:])
    return rv if isinstance(rv, int) else 0


# What a re-run after an interrupt does, per command (the others refuse the partial output)
_AGAIN = {
    "extract": "re-run the same command to resume",
    "train": "re-run it with --resume to continue",
    "demo": "re-run the same command to start again",
}


def _stopped(args: list[str]) -> int:
    """The one line and the exit code of a command stopped by SIGINT or SIGTERM."""
    _STOP["pending"] = False  # the stop has reached us
    name = _STOP["signal"]
    how = "terminated" if name == "SIGTERM" else "interrupted"
    command = next((a for a in args if not a.startswith("-")), "")
    again = _AGAIN.get(command, "re-run it with --overwrite to start again")
    _say(f"error: {how} ({name}); every file written so far is complete; {again}")
    return stop_exit_code()
