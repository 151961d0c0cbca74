"""Command-line options declared once: as the fields of a config model.

A command lists the fields of a config (`TrainConfig`, `InferenceConfig`) it offers; each field
becomes a typer option with the field's type, description and default in its help, named
``--field-name`` unless the command gives it another name (or a short one). The command then
gets the values given (``None``: not given) in one dict to merge over the config's, and the
config validates them: its bounds and choices are the options' (one declaration per field).
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import typer

__all__ = ["Flag", "config_options", "given"]

_SCALARS = (bool, int, float, str)


@dataclass(frozen=True)
class Flag:
    """An option of a config field: `field` and its names (default ``--field-name``; a bool
    field gets ``--name/--no-name``)."""

    field: str
    names: tuple[str, ...] = ()


def _scalar(annotation) -> tuple[type, tuple]:
    """(the scalar type, the choices of a Literal) of a field's annotation (``X | None``
    reduced to X)."""
    if isinstance(annotation, str):
        raise TypeError(f"unresolved annotation {annotation!r}")
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _scalar(args[0])
        named = [a for a in args if a is not bool]
        if bool in args and all(typing.get_origin(a) is typing.Literal for a in named):
            # on/off or a named choice such as "auto" (amp): the flag forces on or off, the
            # field's default stands when it is not given
            return bool, ()
    if origin is list and typing.get_args(annotation) == (str,):
        return list[str], ()  # a repeated option
    if origin is typing.Literal:
        choices = typing.get_args(annotation)
        return type(choices[0]), choices
    if annotation in _SCALARS:
        return annotation, ()
    raise TypeError(f"a field of type {annotation!r} is no command-line option")


def _option(model, flag: Flag, note: Callable[[str], str] | None):
    field = model.model_fields[flag.field]
    kind, choices = _scalar(field.annotation)
    names = flag.names or (f"--{flag.field.replace('_', '-')}",)
    if kind is bool and "/" not in names[0]:
        long = names[0]
        names = (f"{long}/--no-{long.removeprefix('--')}", *names[1:])
    text = (field.description or flag.field).rstrip(".")
    if choices:
        text += f" ({', '.join(map(str, choices))})"
    default = field.get_default(call_default_factory=True)
    shown = note(flag.field) if note else ("none" if default in (None, []) else str(default))
    kw = {"help": f"{text}. (default: {shown})"}
    annotation = str if choices else kind
    return inspect.Parameter(
        flag.field,
        inspect.Parameter.KEYWORD_ONLY,
        default=typer.Option(None, *names, **kw),
        annotation=annotation | None,
    )


def config_options(
    model, fields: Sequence[str | Flag], *, default: Callable[[str], str] | None = None
):
    """Decorate a typer command taking ``**values``: one option per field of `model` named in
    `fields` (a field name, or a `Flag` for another option name). `default(field)`, when
    given, says the default in the help instead of the model's default value."""
    flags = [f if isinstance(f, Flag) else Flag(f) for f in fields]

    def decorate(func):
        sig = inspect.signature(func)
        own = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        extra = [_option(model, f, default) for f in flags]
        func.__signature__ = sig.replace(parameters=[*own, *extra])
        return func

    return decorate


def given(values: Mapping[str, object]) -> dict:
    """The options given on the command line (the others are None); a thread count is priced
    against this machine's cores."""
    from ._budget import check_threads

    out = {k: v for k, v in values.items() if v is not None}
    for key in ("threads", "num_threads"):
        check_threads(out.get(key))  # type: ignore[arg-type]
    return out
