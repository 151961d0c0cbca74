"""Many phantoms in one label volume, at random non-touching positions (optionally in touching
pairs), for extraction tests, the demo and benchmarks. Public through :mod:`shapelib.phantoms`.

Each object is drawn around its class's typical sizes and turned by
:func:`shapelib.random_rotation` (the project's one random rotation)."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .._errors import InputError
from .._memory import check_array_size
from .._rotation import random_rotation
from .._units import as_spacing_nm
from ._objects import branched_tube, capsule, ellipsoid, mega, nano_tunnel, torus

__all__ = ["PhantomVolume", "phantom_volume", "DEFAULT_KIND_WEIGHTS"]

log = logging.getLogger(__name__)

# relative frequency of each kind when drawing at random (each kind appears once first)
DEFAULT_KIND_WEIGHTS: dict[str, float] = {
    "dot": 0.30,
    "rod": 0.27,
    "curved_rod": 0.15,
    "network": 0.12,
    "donut": 0.12,
    "mega": 0.02,
    "nano_tunnel": 0.02,
}

_GAP_VOX = 2  # background voxels kept between objects that are not meant to touch


@dataclass(frozen=True)
class PhantomVolume:
    """A label volume of phantoms and what each object is.

    Attributes
    ----------
    labels : (Z, Y, X) ndarray of uint32
        0 background, one id (1..n) per object.
    voxel_size_nm : tuple of 3 float
    objects : list of dict
        Per object: ``id``, ``kind``, ``expected_class``, ``bbox`` (z0, y0, x0, z1, y1, x1,
        half-open voxels), ``voxel_count`` and ``touching`` (id of the object it touches, or
        None).
    """

    labels: np.ndarray
    voxel_size_nm: tuple[float, float, float]
    objects: list[dict]


def _random_phantom(kind: str, spacing, rng: np.random.Generator, rotation=None):
    """One phantom of ``kind`` with its geometry drawn around the class's typical values."""
    rot = random_rotation(rng) if rotation is None else rotation
    u = rng.uniform
    if kind == "dot":
        a = u(160, 290)
        axes = (a, u(120, a), u(120, a))
        return ellipsoid(axes, voxel_size_nm=spacing, rotation=rot)
    if kind == "rod":
        return capsule(u(1500, 4000), u(100, 160), voxel_size_nm=spacing, rotation=rot)
    if kind == "curved_rod":
        return capsule(
            u(2000, 4000), u(100, 150), voxel_size_nm=spacing, bend_deg=u(60, 150), rotation=rot
        )
    if kind == "network":
        n_arms = int(rng.integers(3, 5))
        arms = tuple(u(800, 1600, size=n_arms))
        return branched_tube(arms, u(100, 140), voxel_size_nm=spacing, rotation=rot)
    if kind == "donut":
        return torus(u(450, 700), u(120, 170), voxel_size_nm=spacing, rotation=rot)
    if kind == "mega":
        return mega(
            u(11_500, 14_000), u(280, 330), bend_deg=u(150, 200), voxel_size_nm=spacing,
            rotation=rot,
        )  # fmt: skip
    if kind == "nano_tunnel":
        return nano_tunnel(
            u(31_500, 34_000), u(70, 80), coil_radius_nm=u(1100, 1300), pitch_nm=u(450, 520),
            voxel_size_nm=spacing, rotation=rot,
        )  # fmt: skip
    raise InputError(
        f"unknown phantom kind {kind!r}; valid kinds: {', '.join(DEFAULT_KIND_WEIGHTS)}."
    )


def _crop(mask: np.ndarray) -> np.ndarray:
    nz = np.nonzero(mask)
    return mask[tuple(slice(int(i.min()), int(i.max()) + 1) for i in nz)]


def _touching_pair(spacing, rng: np.random.Generator) -> tuple[np.ndarray, list[dict]]:
    """Two parallel rods side by side whose masks share faces (they touch, never overlap)."""
    # rod axes perpendicular to the array's y axis, so sliding along y brings them together
    ang = rng.uniform(0, 2 * math.pi)
    c, s = math.cos(ang), math.sin(ang)
    rot = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    a = _crop(capsule(rng.uniform(1500, 3000), rng.uniform(110, 150), voxel_size_nm=spacing,
                         rotation=rot).mask)  # fmt: skip
    b = _crop(capsule(rng.uniform(1500, 3000), rng.uniform(110, 150), voxel_size_nm=spacing,
                         rotation=rot).mask)  # fmt: skip
    nz, nx = max(a.shape[0], b.shape[0]), max(a.shape[2], b.shape[2])
    ny = a.shape[1] + b.shape[1]
    canvas_a = np.zeros((nz, ny, nx), bool)
    canvas_a[: a.shape[0], : a.shape[1], : a.shape[2]] = a
    # slide b towards a until one more step would overlap: the masks then share faces
    t = a.shape[1]
    while t > 0:
        sub = canvas_a[: b.shape[0], t - 1 : t - 1 + b.shape[1], : b.shape[2]]
        if np.any(sub & b):
            break
        t -= 1
    canvas = canvas_a.astype(np.uint8)
    canvas[: b.shape[0], t : t + b.shape[1], : b.shape[2]][b] = 2
    canvas = canvas[:, : t + b.shape[1], :]
    members = [{"value": 1, "kind": "rod", "expected_class": "rod"},
               {"value": 2, "kind": "rod", "expected_class": "rod"}]  # fmt: skip
    return canvas, members


def _kinds_to_draw(n: int, kinds, rng: np.random.Generator) -> list[str]:
    if kinds is None:
        weights = dict(DEFAULT_KIND_WEIGHTS)
    elif isinstance(kinds, Mapping):
        weights = {str(k): float(v) for k, v in kinds.items()}
    else:
        weights = {str(k): 1.0 for k in kinds}
    bad = [k for k in weights if k not in DEFAULT_KIND_WEIGHTS]
    if bad or not weights:
        raise InputError(
            f"kinds must name phantom kinds among {', '.join(DEFAULT_KIND_WEIGHTS)}; got {kinds!r}."
        )
    names = list(weights)
    p = np.array([weights[k] for k in names], dtype=float)
    if not np.all(p >= 0) or p.sum() <= 0:
        raise InputError(f"kind weights must be >= 0 with a positive sum; got {weights}.")
    # one of each kind first (so a small volume shows every class), then drawn by weight
    first = [k for k in names if weights[k] > 0][:n]
    rest = rng.choice(len(names), size=n - len(first), p=p / p.sum())
    return first + [names[i] for i in rest]


def phantom_volume(
    n_objects: int = 20,
    *,
    shape: tuple[int, int, int] | None = None,
    voxel_size_nm: float | Sequence[float] = 30.0,
    kinds: Sequence[str] | Mapping[str, float] | None = None,
    touching_pairs: int = 0,
    rng: int | np.random.Generator | None = None,
) -> PhantomVolume:
    """Scatter ``n_objects`` randomised phantoms in a label volume.

    Parameters
    ----------
    n_objects : int
        Number of objects (each touching pair counts two).
    shape : (Z, Y, X) or None
        Volume shape in voxels; None sizes it to the objects (about 10% foreground), growing
        along z when a random position cannot be found.
    voxel_size_nm : float or (z, y, x)
        20-40 nm keeps volumes modest: the class thresholds are real (nano-tunnels > 30 um).
    kinds : sequence of kind names, or mapping kind -> weight, optional
        Kinds to draw (``dot``, ``rod``, ``curved_rod``, ``network``, ``donut``, ``mega``,
        ``nano_tunnel``); the first objects are one of each, the rest drawn by weight.
        Default :data:`DEFAULT_KIND_WEIGHTS`.
    touching_pairs : int
        Number of pairs of parallel rods placed so their masks touch (share faces).
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    PhantomVolume

    Examples
    --------
    >>> from shapelib.phantoms import phantom_volume
    >>> vol = phantom_volume(7, rng=0)
    >>> sorted({o["expected_class"] for o in vol.objects})
    ['donut', 'dot', 'mega', 'nano-tunnel', 'network', 'rod']
    """
    from scipy import ndimage

    rng = np.random.default_rng(rng)
    spacing = as_spacing_nm(voxel_size_nm)
    n_objects, touching_pairs = int(n_objects), int(touching_pairs)
    if n_objects < 0 or touching_pairs < 0 or 2 * touching_pairs > n_objects:
        raise InputError(
            f"need n_objects >= 2 * touching_pairs >= 0; got n_objects={n_objects}, "
            f"touching_pairs={touching_pairs}."
        )
    # The largest object (a mega mitochondrion) takes ~240 x 270 x 270 voxels of 30 nm; its
    # float geometry must fit, whatever the voxel size asked.
    check_array_size(
        [v * 30.0 / s for v, s in zip((240, 270, 270), spacing, strict=True)], np.float64,
        what=f"one phantom object at {spacing} nm voxels",
        hint="Pass a larger voxel size (30 nm is the default).",
    )  # fmt: skip
    # build units: single objects (value 1) or touching pairs (values 1, 2) on a small canvas
    units: list[tuple[np.ndarray, list[dict]]] = []
    for kind in _kinds_to_draw(n_objects - 2 * touching_pairs, kinds, rng):
        p = _random_phantom(kind, spacing, rng)
        members = [{"value": 1, "kind": p.kind, "expected_class": p.expected_class}]
        units.append((_crop(p.mask).astype(np.uint8), members))
    for _ in range(touching_pairs):
        units.append(_touching_pair(spacing, rng))

    # volume size: ~10% foreground, and room for the largest unit
    pad = 2 * _GAP_VOX
    dims = np.array([u[0].shape for u in units] or [(1, 1, 1)]) + pad
    if shape is None:
        fg = sum(int(np.count_nonzero(u[0])) for u in units)
        side = int(math.ceil((fg / 0.10) ** (1 / 3))) if fg else 8
        vol_shape = np.maximum(dims.max(axis=0), side)
        fixed = False
    else:
        vol_shape = np.asarray(shape, dtype=int)
        if vol_shape.size != 3 or np.any(vol_shape < 1):
            raise InputError(f"shape must be (Z, Y, X) positive ints; got {shape!r}.")
        fixed = True
    check_array_size(vol_shape, np.uint32, what=f"a phantom volume of {n_objects} objects",
                     hint="Ask for fewer objects.")  # fmt: skip
    labels = np.zeros(tuple(int(v) for v in vol_shape), np.uint32)

    # place large units first; ids follow the order objects were drawn
    ids = np.cumsum([0] + [len(m) for _, m in units])
    order = sorted(range(len(units)), key=lambda i: -int(np.count_nonzero(units[i][0])))
    objects: list[dict] = [{} for _ in range(int(ids[-1]))]
    ball = ndimage.generate_binary_structure(3, 3)
    for ui in order:
        canvas, members = units[ui]
        guard = ndimage.binary_dilation(np.pad(canvas > 0, _GAP_VOX), ball, iterations=_GAP_VOX)
        pos = None
        for _ in range(200):
            hi = np.array(labels.shape) - np.array(guard.shape)
            if np.any(hi < 0):
                break
            cand = [int(rng.integers(0, h + 1)) for h in hi]
            slc = tuple(slice(c, c + g) for c, g in zip(cand, guard.shape, strict=True))
            if not np.any(labels[slc][guard]):
                pos = cand
                break
        if pos is None:
            if fixed:
                raise InputError(
                    f"could not place {n_objects} objects in a volume of shape {labels.shape}; "
                    "pass a larger shape or shape=None to size it automatically."
                )
            # grow along z with a fresh slab for this unit
            grow = [guard.shape[0], max(0, guard.shape[1] - labels.shape[1]),
                    max(0, guard.shape[2] - labels.shape[2])]  # fmt: skip
            pos = [labels.shape[0]]
            labels = np.pad(labels, [(0, g) for g in grow])
            pos += [int(rng.integers(0, labels.shape[a] - guard.shape[a] + 1)) for a in (1, 2)]
        origin = np.array(pos) + _GAP_VOX
        for k, m in enumerate(members):
            oid = int(ids[ui]) + k + 1
            sub = canvas == m["value"]
            nzi = np.nonzero(sub)
            lo = origin + np.array([i.min() for i in nzi])
            hi_ = origin + np.array([i.max() + 1 for i in nzi])
            region = labels[
                tuple(slice(o, o + s) for o, s in zip(origin, canvas.shape, strict=True))
            ]
            region[sub] = oid
            partner = int(ids[ui]) + (2 - k) if len(members) == 2 else None
            objects[oid - 1] = {
                "id": oid,
                "kind": m["kind"],
                "expected_class": m["expected_class"],
                "bbox": tuple(int(v) for v in (*lo, *hi_)),
                "voxel_count": int(np.count_nonzero(sub)),
                "touching": partner,
            }
    log.info("phantom volume %s with %d objects", labels.shape, len(objects))
    return PhantomVolume(labels, spacing, objects)
