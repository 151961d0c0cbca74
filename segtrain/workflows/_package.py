"""A bioimage.io model package as a `Run` (`open_run`), so `mitoshape predict` takes a package
wherever it takes a run folder.

- A package written by `export_bioimageio` holds the run's settings (``mitoshape_run.json``:
  its TrainConfig, post-processing and training pixel size) beside the state dict: the run is
  rebuilt from them (`Run.from_checkpoint`, with every check of a run folder) and predicts as
  the run does (tiles, TTA, noise floor, clean-up).
- Any other package runs its TorchScript weights (`ForeignRun`): the preprocessing its
  description declares on each whole 2D image (`segtrain.inference._package_ops`), then the
  network tile by tile; the first output channel is the foreground probability. What cannot
  be run (no TorchScript weights, more than one input, axes beyond batch/channel/y/x, a
  preprocessing or postprocessing step it does not know) is refused in one line.

Nothing is downloaded; every file is checked against its sha256 first (`segtrain.io`), and
TorchScript is code: run packages you trust.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from shapelib import InputError

from .. import io
from ..inference._config import InferenceConfig
from ..inference._package_ops import PREPROCESSING, PackageNet, Step, preprocess_image
from ..io._bioimageio_read import RUN_ATTACHMENT
from ..training._config import DataSource, TrainConfig
from ._run import Run
from ._weights import train_config_of

__all__ = ["ForeignRun", "open_run", "run_settings"]

SETTINGS_FORMAT = "mitoshape-run"
_POSTPROCESSING = ("sigmoid", "ensure_dtype", "binarize")  # binarize: --threshold does it
_UNITS_NM = {"nanometer": 1.0, "micrometer": 1e3, "millimeter": 1e6}


def run_settings(run: Run) -> dict:
    """What a package needs beside its state dict to be `run` again (``mitoshape_run.json``)."""
    px = run.training_pixel_size_nm
    return {
        "format": SETTINGS_FORMAT,
        "train_config": run.train_config.model_dump(mode="json"),
        "postprocess": run.postprocess,
        "training_pixel_size_nm": None if px is None else [float(v) for v in px],
    }


def open_run(source: str | Path, config: InferenceConfig | None = None) -> Run:
    """`Run.open` of a run folder, a checkpoint or a shipped model's name; or a bioimage.io
    package (a ``.zip`` or a folder with ``rdf.yaml``/``bioimageio.yaml``): ours rebuilt as
    its run, a foreign one as a `ForeignRun` of its TorchScript weights.

    Examples
    --------
    >>> run = open_run("model.zip", InferenceConfig(tta="flips"))   # doctest: +SKIP
    """
    config = config or InferenceConfig()
    if not io.is_model_package(source):
        return Run.open(source, config)
    from ..inference._device import pick_device

    pick_device(config.device)
    files = io.read_model_package(source)
    if RUN_ATTACHMENT in files.files:
        settings = files.json(RUN_ATTACHMENT)
        if settings.get("format") == SETTINGS_FORMAT:
            return _ours(files, settings, config)
    return _foreign(files, config)


def _ours(files, settings: dict, config: InferenceConfig) -> Run:
    """The run a package of ours was exported from: its network from the state dict."""
    where = f"{files.path} ({RUN_ATTACHMENT})"
    cfg = train_config_of(settings.get("train_config") or {}, where)
    weights = (files.rdf.get("weights") or {}).get("pytorch_state_dict") or {}
    params = ((weights.get("architecture") or {}).get("kwargs") or {}).get("params")
    if "source" not in weights or params is None:
        raise InputError(f"{files.path} holds mitoshape settings but no state dict weights.")
    checkpoint = {
        "model_name": cfg.model,
        "interactive": cfg.interactive,
        "model_params_json": json.dumps(params),
        "state_dict": files.state_dict(weights["source"]),
    }
    px = settings.get("training_pixel_size_nm")
    return Run.from_checkpoint(
        checkpoint,
        config,
        train_config=cfg,
        postprocess=settings.get("postprocess"),
        training_pixel_size_nm=None if px is None else (float(px[0]), float(px[1])),
        source=files.path,
    )


# --- a foreign package ---------------------------------------------------------------------


def _axes(tensor: dict, where: str) -> tuple[str, dict[str, tuple[int, int] | None]]:
    """(axes as letters, e.g. ``bcyx``; letter -> (min, step) of the size, step 0 for a fixed
    size, None when it refers to another tensor) of a spec 0.4 or 0.5 tensor."""
    axes = tensor.get("axes")
    if isinstance(axes, str):  # spec 0.4: "bcyx" and a shape
        shape = tensor.get("shape")
        sizes: dict = {}
        for k, a in enumerate(axes):
            if isinstance(shape, list):
                sizes[a] = (int(shape[k]), 0)
            elif isinstance(shape, dict) and "min" in shape:
                sizes[a] = (int(shape["min"][k]), int(shape["step"][k]))
            else:
                sizes[a] = None
        return axes, sizes
    letters, sizes = "", {}
    kinds = {"batch": "b", "channel": "c", "time": "t", "index": "i"}
    for ax in axes or []:
        kind = ax.get("type")
        a = kinds.get(kind) or str(ax.get("id", "?"))[:1]
        size = ax.get("size")
        if kind == "channel":
            size = len(ax.get("channel_names") or []) or size
        if kind == "batch":
            size = None
        if isinstance(size, int):
            sizes[a] = (size, 0)
        elif isinstance(size, dict) and "min" in size:
            sizes[a] = (int(size["min"]), int(size.get("step", 0)))
        else:
            sizes[a] = None
        letters += a
    if not letters:
        raise InputError(f"{where} declares no axes.")
    return letters, sizes


def _check_axes(axes: str, where: str, *, channels_one: dict | None) -> None:
    if set(axes) - set("bcyx") or not {"y", "x"} <= set(axes) or len(set(axes)) != len(axes):
        raise InputError(
            f"{where} has axes {axes!r}; mitoshape runs 2D models (axes of batch, channel, y "
            "and x only)."
        )
    if channels_one is not None and "c" in axes and channels_one.get("c") not in (None, (1, 0)):
        raise InputError(
            f"{where} takes {channels_one['c'][0]} channels; mitoshape feeds grey images."
        )


def _tile_px(config: InferenceConfig, sizes: dict) -> int:
    """The least square tile side at or above ``config.tile_px`` that the input takes."""
    ys, xs = sizes.get("y"), sizes.get("x")

    def fits(t: int, s) -> bool:
        return s is None or (t == s[0] if s[1] == 0 else t >= s[0] and (t - s[0]) % s[1] == 0)

    fixed = [s[0] for s in (ys, xs) if s and s[1] == 0]
    for t in fixed[:1] or range(config.tile_px, 8193):
        if fits(t, ys) and fits(t, xs):
            return t
    raise InputError(
        f"the package's input takes tiles of {ys} x {xs} px (min, step); none is square."
    )


def _fit_tiles(config: InferenceConfig, sizes: dict) -> InferenceConfig:
    t = _tile_px(config, sizes)
    return config.replace(tile_px=t, overlap_px=min(config.overlap_px, t // 4))


def _steps(entries, where: str, known) -> tuple[Step, ...]:
    steps = tuple(
        Step(str(e.get("id") or e.get("name")), dict(e.get("kwargs") or {})) for e in entries or []
    )
    bad = [s.name for s in steps if s.name not in known]
    if bad:
        raise InputError(f"{where}: {bad[0]!r} is not one mitoshape runs ({', '.join(known)}).")
    return steps


def _pixel_size_nm(tensor: dict) -> tuple[float, float] | None:
    axes = tensor.get("axes")
    if isinstance(axes, str):
        return None
    sp = {a.get("id"): a for a in axes if a.get("type") == "space"}
    try:
        return tuple(float(sp[a]["scale"]) * _UNITS_NM[sp[a]["unit"]] for a in ("y", "x"))
    except (KeyError, TypeError, ValueError):
        return None


def _foreign(files, config: InferenceConfig) -> ForeignRun:
    rdf, where = files.rdf, str(files.path)
    weights = rdf.get("weights") or {}
    ts = weights.get("torchscript")
    if not ts:
        has = ", ".join(weights) or "none"
        why = " (the state dict's architecture is Python code of its own)" if weights else ""
        raise InputError(
            f"{where} has no TorchScript weights (it has: {has}){why}; mitoshape runs the "
            "TorchScript weights of packages it did not write."
        )
    inputs, outputs = rdf.get("inputs") or [], rdf.get("outputs") or []
    if len(inputs) != 1 or not outputs:
        raise InputError(
            f"{where} has {len(inputs)} inputs and {len(outputs)} outputs; mitoshape runs "
            "models of one input image."
        )
    in_axes, sizes = _axes(inputs[0], f"{where} input")
    out_axes, _ = _axes(outputs[0], f"{where} output")
    _check_axes(in_axes, f"{where} input", channels_one=sizes)
    _check_axes(out_axes, f"{where} output", channels_one=None)
    pre = _steps(inputs[0].get("preprocessing"), f"{where} preprocessing", PREPROCESSING)
    post = _steps(outputs[0].get("postprocessing"), f"{where} postprocessing", _POSTPROCESSING)
    net = PackageNet(
        files.torchscript(ts["source"]),
        in_axes,
        out_axes,
        gives_logits=any(s.name == "sigmoid" for s in post),
    )
    cfg = TrainConfig(train=[DataSource(path=str(files.path))], run_dir=str(files.path))
    run = ForeignRun.from_model(
        net,
        cfg,
        _fit_tiles(config, sizes),
        training_pixel_size_nm=_pixel_size_nm(inputs[0]),
        source=files.path,
    )
    return dataclasses.replace(run, steps=pre, sizes=sizes)


@dataclasses.dataclass(frozen=True, eq=False)
class ForeignRun(Run):
    """A foreign package's TorchScript network as a `Run` that predicts (2D images, stacks
    slice by slice): `steps` is its preprocessing, `sizes` its input's (min, step) per axis.
    Sampling, clicks and explanations need a network of ours: they are refused."""

    steps: tuple[Step, ...] = ()
    sizes: dict = dataclasses.field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.source.stem if self.source is not None else "package"

    @property
    def normalize(self):
        """None: the package's own preprocessing runs in `predict`."""
        return None

    def with_config(self, config: InferenceConfig) -> ForeignRun:
        base = Run.with_config(self, config)
        return dataclasses.replace(self, config=_fit_tiles(base.config, self.sizes))

    def predict(self, image, *, where: str = "image", channels: bool = False, zoom=1.0):
        image = np.asarray(image)
        if channels or image.ndim not in (2, 3):
            raise InputError(
                f"{where} has shape {image.shape}; a foreign package predicts 2D grey images "
                "(and stacks slice by slice)."
            )
        planes = image if image.ndim == 3 else image[None]
        x = np.stack([preprocess_image(p, self.steps) for p in planes])
        return Run.predict(self, x if image.ndim == 3 else x[0], where=where, zoom=zoom)

    def _refuse(self, *args, **kwargs):
        raise InputError(
            f"{self.name} is a foreign bioimage.io package: it predicts only (no samples, "
            "clicks or explanations, which need a network trained by mitoshape)."
        )

    sample = refine = explain = _refuse
