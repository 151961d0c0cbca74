"""One readable line and a non-zero exit for errors a user can fix; tracebacks for bugs.

User errors are the project's own (`shapelib.MitoshapeError`, which `shapelib.InputError` and
this module's `UserError` are), pydantic validation errors of configs and options, and
operating-system errors about files (missing, existing, permissions, disk full). Anything else
(`TypeError`, `KeyError`, a bare `ValueError` from a library) is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys

import typer

from shapelib import InputError, MitoshapeError

__all__ = ["UserError", "format_error", "is_user_error", "run_guarded", "EXIT_USER", "EXIT_SIGINT"]

EXIT_USER = 2  # bad input or a refused write
EXIT_SIGINT = 130  # interrupted (128 + SIGINT), as shells report it


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
    import click

    try:
        rv = app(args=args, standalone_mode=False)
    except KeyboardInterrupt:
        rv = EXIT_SIGINT
    except SystemExit as err:  # --help, click usage errors in standalone paths
        return int(err.code or 0) if not isinstance(err.code, str) else 1
    except click.exceptions.ClickException as err:  # usage errors carry their exit code
        err.show()
        return err.exit_code
    except click.exceptions.Abort:
        _say("error: aborted")
        return 1
    except Exception as err:
        if not is_user_error(err):
            raise
        _say(format_error(err))
        return EXIT_USER
    # typer turns KeyboardInterrupt into its exit code 130 and returns it (standalone_mode=False).
    if rv == EXIT_SIGINT:
        _say(
            "error: interrupted (SIGINT); every file written so far is complete; re-run the "
            "same command to resume where it can, or remove the output"
        )
        return EXIT_SIGINT
    return rv if isinstance(rv, int) else 0
