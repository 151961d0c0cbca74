"""Fit the cell-scene generator to a folder of real, unlabelled images.

The fit matches numbers, not pixels: the same measurements (:func:`field_stats`) run on the
real images and on scenes rendered with trial parameters, and each parameter is moved by the
ratio of its statistic, real over synthetic (a few rounds: simulation-based matching, so no
estimator has to be unbiased, only the same on both sides):

=====================  ==============================  ===================================
parameter              statistic (median over images)  update
=====================  ==============================  ===================================
tubule density         skeleton length per um^2        x (real / synthetic)
tubule width           apparent width along skeleton   x (real / synthetic)^1.5
photons/fluorophore    top-hat signal in noise stds    x (real / synthetic)^1.5
cytosol density        haze in noise stds              x (real / synthetic)^1.5
line noise (rows)      per-row offsets in noise stds   x (real / synthetic)
=====================  ==============================  ===================================

The medians of a few scenes are noisy, so the answer is the geometric mean of the parameters
of the second half of the rounds (then measured once more: the last row of ``rounds``).
Spreads come from the real images' own (10th to 90th percentile over the median), so the
rendered set varies as much as the real one; the share of images without mitochondria sets
``empty_fraction``; 8-bit real images set a ``stretch8`` export with their levels. The camera
is the microscope's (``mitoshape calibrate`` for a raw camera image).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shapelib import InputError

from ._cell import render_cell_scene
from ._cell_config import CellSceneConfig
from ._config import Acquisition, Microscope
from ._fit_stats import field_stats
from ._network import TubuleConfig
from ._scene import SceneShape
from ._seeds import stream
from ._variation import Export

__all__ = ["FitConfig", "SceneFit", "fit_scene", "EMPTY_FOREGROUND"]

WIDTH_LIMITS_NM = (100.0, 700.0)  # tubule diameters the fit may reach (EM: 100-500 nm)
EMPTY_FOREGROUND = 0.002  # a field whose classical mask covers less holds no mitochondria
N_EXAMPLES = 6  # fitted scenes kept to show
_STATS = ("length_per_um2", "width_nm", "signal", "haze", "line_noise", "cell_fraction")


class FitConfig(BaseModel):
    """How hard to fit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rounds: int = Field(4, ge=1, le=20, description="rounds of render, measure, update")
    images_per_round: int = Field(16, ge=2, le=1000, description="scenes rendered per round")
    size_px: int = Field(
        256,
        ge=32,
        le=4096,
        description="side of the rendered scenes, px; larger real images are measured in "
        "fields of this side",
    )


@dataclass(frozen=True)
class SceneFit:
    """The fitted scene and how close it came.

    Attributes
    ----------
    config : CellSceneConfig
        The fitted scene (with its microscope): ``dataset --scene-config`` renders from it.
    real, synthetic : list of dict
        Per image statistics (:class:`FieldStats` fields, plus ``name``) of the real images
        and of the last round's rendered scenes.
    rounds : list of dict
        Per round: the parameters tried and the medians measured.
    examples : list of (H, W) ndarrays
        The first scenes rendered with the fitted parameters (to show beside real images).
    """

    config: CellSceneConfig
    real: list
    synthetic: list
    rounds: list
    examples: list

    def summary(self) -> list[dict]:
        """Per statistic: real median, synthetic median, their ratio."""
        rows = []
        for key in (*_STATS, "foreground"):
            r, s = _median(self.real, key), _median(self.synthetic, key)
            rows.append(
                {"statistic": key, "real": r, "synthetic": s, "ratio": s / r if r else np.nan}
            )
        rows.append(
            {
                "statistic": "empty_fraction",
                "real": _empty(self.real),
                "synthetic": _empty(self.synthetic),
                "ratio": np.nan,
            }
        )
        return rows


def _fields(images, names, size_px: int):
    """Each real image as fields of the rendered scenes' size (a large image in tiles; the
    remainder under half a field is left out), so both sides are measured alike."""
    for x, n in zip(images, names, strict=True):
        x = np.asarray(x)
        h, w = x.shape[-2:]
        ny, nx = max(1, round(h / size_px)), max(1, round(w / size_px))
        if ny * nx == 1:
            yield n, x
            continue
        th, tw = h // ny, w // nx
        for i in range(ny):
            for j in range(nx):
                yield f"{n}[{i},{j}]", x[i * th : (i + 1) * th, j * tw : (j + 1) * tw]


def _lit(rows: Sequence[dict]) -> list[dict]:
    return [r for r in rows if r["foreground"] >= EMPTY_FOREGROUND]


def _median(rows: Sequence[dict], key: str) -> float:
    lit = _lit(rows) if key in ("width_nm", "signal", "length_per_um2") else rows
    vals = [r[key] for r in lit]
    return float(np.median(vals)) if vals else 0.0


def _empty(rows: Sequence[dict]) -> float:
    return 1.0 - len(_lit(rows)) / max(len(rows), 1)


def _spread(rows: Sequence[dict], key: str, power: float = 1.0) -> tuple[float, float]:
    """The real images' 10th and 90th percentiles over their median (to a power)."""
    vals = np.array([r[key] for r in _lit(rows)], float)
    vals = vals[vals > 0]
    if len(vals) < 3:
        return (1.0, 1.0)
    lo, mid, hi = np.percentile(vals, [10, 50, 90])
    return (float((lo / mid) ** power), float((hi / mid) ** power))


def _ratio(real: float, syn: float, power: float, lo=1 / 3, hi=3.0) -> float:
    if real <= 0 or syn <= 0:
        return 1.0
    return float(np.clip((real / syn) ** power, lo, hi))


def _round_row(params: dict, med: dict) -> dict:
    row = {f"param_{k}": v for k, v in params.items()}
    row.update({f"{k}_real": r for k, (r, _) in med.items()})
    row.update({f"{k}_synthetic": s for k, (_, s) in med.items()})
    return row


def _scaled(pair, factor: float, *, cap: float | None = None) -> tuple[float, float]:
    out = (pair[0] * factor, pair[1] * factor)
    return out if cap is None else (min(out[0], cap), min(out[1], cap))


def fit_scene(
    images: Sequence[np.ndarray],
    microscope: Microscope,
    *,
    base: CellSceneConfig | None = None,
    shapes: Sequence[SceneShape] = (),
    config: FitConfig | None = None,
    names: Sequence[str] | None = None,
    rng: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> SceneFit:
    """Fit a cell scene to real images (see the module's text).

    Parameters
    ----------
    images : sequence of (H, W) ndarrays
        Real, unlabelled 2D images of one microscope (grey; any dtype). uint8 images set an
        8-bit export.
    microscope : Microscope
        The microscope (its pixel size that of the images; its camera the real one's when
        calibrated).
    base : CellSceneConfig, optional
        Where to start (default: the defaults).
    shapes : library shapes to mix in (as ``dataset --scene cell``)
    config : FitConfig, optional
    names : the images' names (for the tables)
    rng : int, the seed of the rendered scenes (same seed, same fit)
    progress : ``progress(done, total)`` over the rendered scenes

    Returns
    -------
    SceneFit
    """
    cfg = config or FitConfig()
    if not images:
        raise InputError("fit_scene needs at least one real image; got none.")
    optics = microscope.optics
    a, fwhm = optics.pixel_size_nm, optics.nominal_fwhm_nm
    names = list(names) if names is not None else [f"image_{k}" for k in range(len(images))]
    real = [
        {"name": n, **field_stats(x, pixel_size_nm=a, fwhm_nm=fwhm).as_dict()}
        for n, x in _fields(images, names, cfg.size_px)
    ]
    if not _lit(real):
        raise InputError(
            f"no mitochondria found in any of the {len(images)} real images (each is "
            "background only): fit-scenes needs images with mitochondria in them."
        )
    base = base or CellSceneConfig()
    export = base.export
    if all(np.asarray(x).dtype == np.uint8 for x in images):
        lows = np.percentile([r["low_level"] for r in real], [10, 90])
        highs = np.percentile([r["high_level"] for r in real], [10, 90])
        export = Export(
            mode="stretch8",
            low_level=(float(lows[0]), float(max(lows[1], lows[0]))),
            high_level=(float(max(highs[0], lows[1] + 1)), float(max(highs[1], highs[0], 9.0))),
        )
    elif any(np.asarray(x).dtype == np.uint8 for x in images):
        raise InputError(
            "the real images mix 8-bit and deeper images: fit each kind on its own (8-bit "
            "exports and raw camera images differ in noise and levels)."
        )
    spread_len = _spread(real, "length_per_um2")
    spread_sig = _spread(real, "signal", 1.5)
    randomize = base.randomize
    if randomize is not None:
        randomize = randomize.model_copy(update={"photons_scale": spread_sig})
    tub = base.tubules or TubuleConfig()
    params = {
        "density": float(np.mean(tub.density_um_per_um2)),
        "width": float(np.mean(tub.width_nm)),
        "photons": float(microscope.labelling.photons_per_fluorophore),
        "cytosol": float(np.mean(base.cytosol_photons_per_um3)),
        "line": 1.0,
    }
    acq = Acquisition(size_px=cfg.size_px, mask=base.acquisition.mask)

    def build(p: dict) -> tuple[CellSceneConfig, Microscope]:
        w = p["width"]
        tubules = tub.model_copy(
            update={
                "density_um_per_um2": _scaled(spread_len, p["density"]),
                "width_nm": (max(60.0, 0.8 * w), max(60.0, 1.2 * w)),
            }
        )
        rand = randomize
        if rand is not None:
            rows = _scaled(rand.row_offset_adu, p["line"])
            rand = rand.model_copy(update={"row_offset_adu": rows})
        scene = base.model_copy(
            update={
                "acquisition": acq,
                "tubules": tubules,
                "export": export,
                "randomize": rand,
                "empty_fraction": float(min(_empty(real), 0.9)),
                "cytosol_photons_per_um3": _scaled((0.5, 1.5), p["cytosol"]),
            }
        )
        lab = microscope.labelling.model_copy(update={"photons_per_fluorophore": p["photons"]})
        return scene, microscope.model_copy(update={"labelling": lab})

    examples: list[np.ndarray] = []

    def measure(scene, mic) -> list[dict]:
        out = []
        examples.clear()
        for k in range(cfg.images_per_round):
            sc = render_cell_scene(shapes, mic, scene, rng=stream(rng, k))
            if k < N_EXAMPLES:
                examples.append(sc.image)
            px = sc.params.get("pixel_size_nm", a)
            st = field_stats(sc.image, pixel_size_nm=px, fwhm_nm=fwhm)
            out.append({"name": f"fit_{k:04d}", **st.as_dict()})
            done[0] += 1
            if progress is not None:
                progress(done[0], total)
        return out

    total = cfg.images_per_round * (cfg.rounds + 1)
    done = [0]
    rounds = []
    syn: list[dict] = []
    history: list[dict] = []
    for _ in range(cfg.rounds):
        scene, mic = build(params)
        syn = measure(scene, mic)
        med = {k: (_median(real, k), _median(syn, k)) for k in _STATS}
        rounds.append(_round_row(params, med))
        # move each parameter by its statistic's ratio (damped: the medians are noisy)
        params["density"] *= _ratio(*med["length_per_um2"], 1.0, 0.5, 2.0)
        params["width"] *= _ratio(*med["width_nm"], 1.5, 0.6, 1.6)
        params["photons"] *= _ratio(*med["signal"], 1.2, 0.2, 5.0)
        params["cytosol"] *= _ratio(*med["haze"], 1.2, 0.2, 5.0)
        params["line"] *= _ratio(*med["line_noise"], 1.0, 0.3, 3.0)
        params["width"] = float(np.clip(params["width"], *WIDTH_LIMITS_NM))
        history.append(dict(params))
    # the answer: the geometric mean of the second half of the rounds (averages the noise of
    # the medians out), then one more round to measure it
    tail = history[len(history) // 2 :]
    params = {k: float(np.exp(np.mean([np.log(max(h[k], 1e-12)) for h in tail]))) for k in params}
    scene, mic = build(params)
    syn = measure(scene, mic)
    rounds.append(_round_row(params, {k: (_median(real, k), _median(syn, k)) for k in _STATS}))
    final = scene.model_copy(update={"acquisition": base.acquisition, "microscope": mic})
    return SceneFit(config=final, real=real, synthetic=syn, rounds=rounds, examples=examples)
