"""The one reader and writer of YAML/JSON config files (microscopes, training, benchmarks).

Safe loading only (no ``!!python`` tags); every problem is one line naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .._errors import InputError, format_validation_error
from ._atomic import atomic_write

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["read_config", "write_config", "to_plain"]

M = TypeVar("M", bound="BaseModel")

_MAX_CONFIG_BYTES = 16 * 2**20  # a config is text of a few kB; refuse to parse a huge file


def read_config(path: str | Path, model: type[M] | None = None, *, key: str | None = None) -> Any:
    """Read a YAML or JSON mapping; validate it as ``model`` when given.

    Parameters
    ----------
    path : str or Path
        A ``.yaml``/``.yml``/``.json`` file (JSON is YAML, so either parses).
    model : pydantic model class, optional
        Validate the mapping (or its ``key`` entry when present) as this model.
    key : str, optional
        Take the mapping under this top-level key when the file has it (e.g. ``camera``).

    Returns
    -------
    dict, or an instance of ``model``

    Raises
    ------
    FileNotFoundError, InputError
    """
    import yaml

    path = Path(path)
    if path.is_dir():
        raise InputError(f"config file {path} is a folder; pass a .yaml or .json file.")
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist.")
    if path.stat().st_size > _MAX_CONFIG_BYTES:
        raise InputError(f"config file {path} is {path.stat().st_size} bytes; not a config.")
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except UnicodeDecodeError:
        raise InputError(f"config file {path} is not UTF-8 text.") from None
    except RecursionError:  # [[[[... or {"a": {"a": ... thousands deep
        raise InputError(f"config file {path} is nested too deeply to be a config.") from None
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise InputError(f"config file {path} is not valid YAML/JSON{at}: {problem}.") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(
            f"config file {path} must hold a mapping of fields (key: value); got "
            f"{type(data).__name__}."
        )
    if key is not None and isinstance(data.get(key), dict):
        data = data[key]
    if model is None:
        return data
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise InputError(format_validation_error(err, where=f"config file {path}")) from None


def to_plain(obj: Any) -> Any:
    """A pydantic model or a mapping as plain JSON-able data."""
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    return obj


def write_config(path: str | Path, obj: Any) -> Path:
    """Write a pydantic model or a mapping as YAML (``.yaml``/``.yml``) or JSON, atomically."""
    import yaml

    path = Path(path)
    data = to_plain(obj)
    if path.suffix.lower() == ".json":
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    else:
        text = yaml.safe_dump(data, sort_keys=False)
    return atomic_write(path, text)
