"""One readable line and a non-zero exit for errors a user can fix; tracebacks for bugs."""

from __future__ import annotations

import sys

import typer

# Errors raised at the public boundary of the library for bad input. Anything else is a bug
# and keeps its traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    KeyError,
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
)


class UserError(Exception):
    """Raised by CLI code for a problem the user can fix."""


def format_error(err: BaseException) -> str:
    msg = str(err).strip() or err.__class__.__name__
    if isinstance(err, KeyError) and msg.startswith("'") and msg.endswith("'"):
        msg = msg[1:-1]
    return "error: " + " ".join(msg.split())


def run_guarded(app: typer.Typer, args: list[str] | None = None) -> int:
    """Run the typer app; turn user errors into one line on stderr and exit code 2."""
    try:
        app(args=args, standalone_mode=False)
    except (UserError, *USER_ERRORS) as err:
        print(format_error(err), file=sys.stderr)  # noqa: T201
        return 2
    except SystemExit as err:  # typer/click exits (--help, usage errors)
        return int(err.code or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)  # noqa: T201
        return 130
    except Exception as err:  # click usage errors carry their own exit code
        import click

        if isinstance(err, click.exceptions.ClickException):
            err.show()
            return err.exit_code
        if isinstance(err, click.exceptions.Abort):
            return 1
        raise
    return 0
