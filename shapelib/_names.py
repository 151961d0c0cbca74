"""The one check for names that become parts of a path (folder and file names).

A microscope's name becomes ``<name>_imgs/``, a test set's name a folder of predictions, a data
source's name a column and sometimes a folder: each must be one plain file-name component, so
that no config can make a command write outside its output folder (``../x``, ``/abs``).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

from ._errors import InputError

__all__ = ["FileName", "check_file_name"]

# Letters and digits of any script, and . _ - + ( ) = , space; no separators, no control chars.
_ALLOWED = re.compile(r"^[\w.+\-() =,]+$")
_MAX_BYTES = 200  # leaves room for suffixes under the usual 255-byte limit


def check_file_name(name: str, *, what: str = "name") -> str:
    """Return ``name`` if it is one plain file-name component, else raise InputError.

    Refused: empty names, ``.``/``..`` and names starting with a dot, path separators (``/``,
    ``\\``), drive or stream marks (``:``), control characters, leading or trailing spaces, and
    names longer than 200 bytes.

    Examples
    --------
    >>> check_file_name("Conf1")
    'Conf1'
    >>> check_file_name("../x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    shapelib._errors.InputError: name must be a plain file name ...; got '../x'.
    """
    if not isinstance(name, str):
        raise InputError(f"{what} must be text; got {type(name).__name__}.")
    ok = (
        bool(name)
        and _ALLOWED.match(name) is not None
        and not name.startswith(".")
        and name == name.strip()
        and len(name.encode("utf-8")) <= _MAX_BYTES
    )
    if not ok:
        raise InputError(
            f"{what} must be a plain file name (letters, digits, . _ - + ( ) = , and spaces; "
            f"no '/', no leading '.'); got {name!r}."
        )
    return name


FileName = Annotated[str, AfterValidator(check_file_name)]
"""A pydantic field type: text that is one plain file-name component (see check_file_name)."""
