"""2D morphology of segmented mitochondria: per-object shape numbers, classes, per-image density,
and the comparison of predicted against true morphology (relative error, fold change)."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.spatial import ConvexHull

from shapelib import InputError

from ._metrics import Connectivity

__all__ = [
    "PARAMETERS",
    "QuantifyParams",
    "classify_object",
    "compare_morphology",
    "label_objects",
    "min_area_rect",
    "quantify_mask",
    "quantify_masks",
]

# Per-object parameters compared by `compare_morphology` (besides the per-image count).
PARAMETERS = ("area_um2", "perimeter_um", "width_um", "height_um", "major_axis_um", "minor_axis_um")


class QuantifyParams(BaseModel):
    """Pixel size and the stated thresholds of the shape classes.

    Classes, first rule that holds: fragmented (area < `fragment_max_area_um2`) > irregular
    (solidity < `irregular_max_solidity`) > round (aspect ratio < `round_max_aspect`) > elongated
    (aspect ratio < `elongated_max_aspect`) > tubular. Aspect ratio = major / minor axis of the
    ellipse with the same second moments.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    pixel_size_nm: float = Field(
        ge=1, le=5000, description="Pixel side in nm (1-5000: light and electron microscopy)."
    )
    connectivity: Connectivity = Field(
        4, description="Pixel connectivity of objects in binary masks (4 or 8)."
    )
    min_area_px: int = Field(1, ge=1, description="Objects smaller than this are ignored.")
    fragment_max_area_um2: float = Field(0.05, ge=0, description="Fragmented below this area.")
    irregular_max_solidity: float = Field(0.8, ge=0, le=1, description="Irregular below this.")
    round_max_aspect: float = Field(1.5, ge=1, description="Round below this aspect ratio.")
    elongated_max_aspect: float = Field(3.0, ge=1, description="Elongated below, tubular above.")


def min_area_rect(coords: np.ndarray) -> tuple[float, float, float]:
    """Minimum-area rotated rectangle around pixels, by rotating calipers on the convex hull.

    Written here (a few lines) because OpenCV and shapely, which provide it, are not
    dependencies. The hull is taken over pixel corners, so one pixel gives a 1 x 1 square.

    Parameters
    ----------
    coords : (N, 2) ndarray of int, (row, col) pixel coordinates

    Returns
    -------
    (short_side_px, long_side_px, angle_deg) : sides in pixels; angle of the long side from the
    column axis, degrees in [0, 180)

    Examples
    --------
    >>> min_area_rect(np.array([[0, 0], [0, 1], [0, 2]]))[:2]
    (1.0, 3.0)
    """
    coords = np.asarray(coords, dtype=float)
    corners = coords[:, None, :] + np.array([[-0.5, -0.5], [-0.5, 0.5], [0.5, -0.5], [0.5, 0.5]])
    pts = np.unique(corners.reshape(-1, 2), axis=0)
    hull = pts[ConvexHull(pts).vertices]
    # The minimal rectangle has one side on a hull edge: try every edge direction.
    edges = np.roll(hull, -1, axis=0) - hull
    u = edges / np.linalg.norm(edges, axis=1, keepdims=True)
    v = np.stack([-u[:, 1], u[:, 0]], axis=1)
    pu = hull @ u.T  # (n_pts, n_edges)
    pv = hull @ v.T
    ext_u = pu.max(0) - pu.min(0)
    ext_v = pv.max(0) - pv.min(0)
    k = int(np.argmin(ext_u * ext_v))
    a, b = float(ext_u[k]), float(ext_v[k])
    long_dir = u[k] if a >= b else v[k]
    angle = float(np.degrees(np.arctan2(long_dir[0], long_dir[1])) % 180.0)
    return round(min(a, b), 9), round(max(a, b), 9), angle


def classify_object(
    area_um2: float, solidity: float, aspect_ratio: float, p: QuantifyParams
) -> str:
    """The class of one object by the thresholds of `QuantifyParams` (first rule that holds)."""
    if area_um2 < p.fragment_max_area_um2:
        return "fragmented"
    if solidity < p.irregular_max_solidity:
        return "irregular"
    if aspect_ratio < p.round_max_aspect:
        return "round"
    if aspect_ratio < p.elongated_max_aspect:
        return "elongated"
    return "tubular"


def label_objects(mask: np.ndarray, *, connectivity: int | None = None) -> np.ndarray:
    """Instance ids of a 0/1 mask: its connected components numbered 1.. in scan order.

    The numbering of `quantify_mask` (2D, pixel connectivity 4 or 8, default 4) and of
    `quantify_volume` (3D, voxel connectivity 6, 18 or 26, default 26), so the ``label``
    column of their tables names these ids. uint16 when the ids fit, else uint32.
    """
    m = np.asarray(mask) > 0
    if m.ndim == 2:
        from skimage.measure import label

        conn = 4 if connectivity is None else connectivity
        if conn not in (4, 8):
            raise InputError(f"2D connectivity must be 4 or 8; got {conn!r}.")
        lab = label(m, connectivity=1 if conn == 4 else 2)
    elif m.ndim == 3:
        import cc3d

        conn = 26 if connectivity is None else connectivity
        if conn not in (6, 18, 26):
            raise InputError(f"3D connectivity must be 6, 18 or 26; got {conn!r}.")
        lab = cc3d.connected_components(m, connectivity=conn)
    else:
        raise InputError(f"label_objects needs a 2D or 3D mask; got shape {m.shape}.")
    top = int(lab.max()) if lab.size else 0
    return lab.astype(np.uint16 if top <= np.iinfo(np.uint16).max else np.uint32)


def quantify_mask(mask: np.ndarray, *, params: QuantifyParams):
    """Per-object morphology of one 2D mask or instance label image.

    Parameters
    ----------
    mask : (Y, X) ndarray; bool/0-1/0-255 mask (objects = connected components) or instance ids
    params : QuantifyParams (pixel size and class thresholds)

    Returns
    -------
    pandas.DataFrame, one row per object: label, area_px, area_um2, perimeter_um, width_um and
    height_um (short and long side of the minimum-area rotated rectangle), rect_angle_deg,
    major_axis_um, minor_axis_um, eccentricity, solidity, aspect_ratio, feret_um,
    centroid_y_px, centroid_x_px, class.
    """
    import pandas as pd
    from skimage.measure import regionprops

    m = np.asarray(mask)
    if m.ndim != 2:
        raise InputError(
            f"quantify_mask needs a 2D mask; got shape {m.shape}. Use --3d for volumes."
        )
    values = np.unique(m)
    binary = m.dtype == bool or values.size <= 2
    lab = (label_objects(m, connectivity=params.connectivity) if binary else m).astype(np.int64)
    px_um = params.pixel_size_nm / 1000.0
    rows = []
    for r in regionprops(lab):
        if r.area < params.min_area_px:
            continue
        short, long_, ang = min_area_rect(r.coords)
        major, minor = float(r.axis_major_length), float(r.axis_minor_length)
        aspect = major / minor if minor > 0 else float("inf")
        area_um2 = float(r.area) * px_um**2
        rows.append(
            {
                "label": int(r.label),
                "area_px": int(r.area),
                "area_um2": area_um2,
                "perimeter_um": float(r.perimeter) * px_um,
                "width_um": short * px_um,
                "height_um": long_ * px_um,
                "rect_angle_deg": ang,
                "major_axis_um": major * px_um,
                "minor_axis_um": minor * px_um,
                "eccentricity": float(r.eccentricity),
                "solidity": float(r.solidity),
                "aspect_ratio": aspect,
                "feret_um": float(r.feret_diameter_max) * px_um,
                "centroid_y_px": float(r.centroid[0]),
                "centroid_x_px": float(r.centroid[1]),
                "class": classify_object(area_um2, float(r.solidity), aspect, params),
            }
        )
    cols = [
        "label",
        "area_px",
        *PARAMETERS,
        "rect_angle_deg",
        "eccentricity",
        "solidity",
        "aspect_ratio",
        "feret_um",
        "centroid_y_px",
        "centroid_x_px",
        "class",
    ]
    return pd.DataFrame(rows, columns=cols)


def quantify_masks(
    masks: dict[str, np.ndarray], *, params: QuantifyParams | dict[str, QuantifyParams]
):
    """Morphology of several images: (objects table, per-image table).

    `params` is one `QuantifyParams` for all images, or one per image name (images of several
    pixel sizes). The per-image table has name, count, image_area_um2, density_per_um2 (objects
    per um^2 of image), foreground fraction, and the mean of each parameter in `PARAMETERS`.
    """
    import pandas as pd

    objs, per_image = [], []
    for name, m in masks.items():
        p_img = params[name] if isinstance(params, dict) else params
        px_um = p_img.pixel_size_nm / 1000.0
        t = quantify_mask(m, params=p_img)
        t.insert(0, "image", name)
        objs.append(t)
        area_um2 = float(np.asarray(m).size) * px_um**2
        row = {
            "image": name,
            "count": len(t),
            "image_area_um2": area_um2,
            "density_per_um2": len(t) / area_um2,
            "foreground_fraction": float(np.mean(np.asarray(m) > 0)),
        }
        row.update(
            {f"mean_{p}": float(t[p].mean()) if len(t) else float("nan") for p in PARAMETERS}
        )
        per_image.append(row)
    objects = pd.concat(objs, ignore_index=True) if objs else pd.DataFrame()
    return objects, pd.DataFrame(per_image)


def compare_morphology(pred_per_image, gt_per_image):
    """Relative error and fold change of predicted against true morphology, per parameter.

    Parameters
    ----------
    pred_per_image, gt_per_image : per-image tables from `quantify_masks` (matched by `image`)

    Returns
    -------
    pandas.DataFrame, one row per parameter (count, density_per_um2, mean_<param>): pred and gt
    (mean over images), relative_error = (pred - gt) / gt and fold_change = pred / gt of those
    means, and mean_abs_relative_error / its std over images.
    """
    import pandas as pd

    merged = pred_per_image.merge(gt_per_image, on="image", suffixes=("_pred", "_gt"))
    if len(merged) == 0:
        raise InputError("no image names in common between predicted and true masks.")
    rows = []
    for p in ["count", "density_per_um2", *[f"mean_{q}" for q in PARAMETERS]]:
        a = merged[f"{p}_pred"].astype(float)
        b = merged[f"{p}_gt"].astype(float)
        pm, gm = float(np.nanmean(a)), float(np.nanmean(b))
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = (a - b) / b
        rel = rel[np.isfinite(rel)]
        rows.append(
            {
                "parameter": p,
                "pred": pm,
                "gt": gm,
                "relative_error": (pm - gm) / gm if gm else float("nan"),
                "fold_change": pm / gm if gm else float("nan"),
                "mean_abs_relative_error": float(np.mean(np.abs(rel)))
                if len(rel)
                else float("nan"),
                "std_abs_relative_error": float(np.std(np.abs(rel), ddof=1))
                if len(rel) > 1
                else 0.0,
                "n_images": int(len(merged)),
            }
        )
    return pd.DataFrame(rows)
