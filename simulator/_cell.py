"""Fields of view like real cells: tubule networks (and library shapes) in crops of cells.

A field is a crop of a culture (see :mod:`._cellgeom`): a few flat cells whose edges, nuclei
and the empty background between them fall in view (or, for ``empty_fraction`` of the fields,
no cell at all: camera noise and medium only). The mitochondria are tubule networks grown in
each cell's cytoplasm through its whole thickness (:mod:`._network`), mixed with library
shapes, so objects above and below the focal plane blur into the image. Brightness varies:
per object (lognormal, ``brightness_cv``) and with a smooth labelling field over the cell
(``labelling_variation``). The cytosol adds diffuse light (its thickness x a density, blurred
by ``haze_blur_nm``), the cell an autofluorescence and the medium a uniform glow, all in
photons per um of the sample. With ``randomize``, each image draws a variant of the
microscope (:mod:`._variation`); ``export`` writes it as the acquisition software would.

The segmentation target is ``acquisition.mask`` (default ``visible``: the in-focus part at its
apparent width; see :mod:`._tubes`); z-stacks have 3D label volumes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from ._cell_config import CellSceneConfig
from ._cellgeom import draw_cells, smooth_field
from ._config import Microscope, Optics
from ._geometry import check_mesh, focal_depths, place, random_rotation, sample_fluorophores
from ._network import Network, grow_network
from ._scene import Scene, SceneShape, image_scene, target_mask
from ._truth import Placement, truth_masks
from ._tubes import stamp_disks, tube_emitters, tube_samples, visible_growth_nm
from ._variation import Randomize, export_image, optics_variants, vary_microscope

__all__ = ["CellPlan", "plan_cell_scene", "render_cell_scene"]


@dataclass(frozen=True)
class CellPlan:
    """A cell scene before rendering: geometry, emitters and truth.

    Attributes
    ----------
    cell, nucleus : (H, W) ndarray of bool
        Pixel centres inside a cell and inside a nucleus.
    emitters : (N, 3) ndarray
        Fluorophores (x, y, depth) nm in the image frame, all objects.
    brightness : (N,) ndarray
        Relative brightness of each emitter (object factor x labelling field).
    owner : (N,) ndarray of int
        Index into ``objects`` of each emitter's object.
    focal_depths_nm : tuple of float
    instances, labels : as :class:`Scene`
    background : (P, H, W) ndarray of float
        Diffuse photons per pixel (cytosol, autofluorescence, medium).
    objects : list of dict
        As :class:`Scene` (label 0 for objects not in the target), plus ``in_focus``.
    microscope : Microscope
        The microscope this image is rendered with (a variant when randomised).
    params : dict
        The draws of this image (cells, focus, microscope variant).
    """

    cell: np.ndarray
    nucleus: np.ndarray
    emitters: np.ndarray
    brightness: np.ndarray
    owner: np.ndarray
    focal_depths_nm: tuple
    instances: np.ndarray
    labels: np.ndarray
    background: np.ndarray
    objects: list
    microscope: Microscope
    params: dict


@lru_cache(maxsize=8)
def _variants(randomize: Randomize, focal_height_nm: tuple[float, float], mic_json: str) -> tuple:
    """The optics variants of a microscope, each with its focal depth (100 nm grid); the
    same for every image of a data set (a fixed stream: variants depend on the config only)."""
    mic = Microscope.model_validate_json(mic_json)
    rng = np.random.default_rng(np.random.SeedSequence([0x6D69746F, randomize.optics_variants]))
    optics = optics_variants(mic, randomize, rng)
    lo, hi = focal_height_nm
    focal = 100.0 * np.round(rng.uniform(lo, hi, len(optics)) / 100.0)
    return tuple(zip(optics, focal.tolist(), strict=True))


def _network_truth(net: Network, depths, optics: Optics, size_px: int, kind: str):
    """Per-plane target and 3D-label images of the networks (value = network index + 1)."""
    a, half, fwhm = optics.pixel_size_nm, optics.dof_nm / 2, optics.nominal_fwhm_nm
    shape = (len(depths), size_px, size_px)
    target = np.zeros(shape, np.uint16)
    label = np.zeros(shape, np.uint16)
    if not net.tubules:
        return target, label
    parts = [
        tube_samples(t.points, t.radius, max_step_nm=min(a / 2, t.radius.min() / 2))
        for t in net.tubules
    ]
    xyz = np.vstack([p for p, _ in parts])
    r = np.concatenate([q for _, q in parts])
    ids = np.concatenate(
        [
            np.full(len(q), t.network + 1, np.uint16)
            for t, (_, q) in zip(net.tubules, parts, strict=True)
        ]
    )
    grow = visible_growth_nm(r, fwhm)
    for k, f in enumerate(depths):
        dz = np.abs(xyz[:, 2] - f)
        d = np.maximum(dz - half, 0.0)  # distance to the in-focus slab
        cs = np.sqrt(np.clip(r**2 - d**2, 0, None)) * (d < r)
        if kind == "in_focus":
            rad = cs
        elif kind == "visible":
            rad = np.where(cs > 0, cs + grow, 0.0)
        else:
            rad = r
        stamp_disks(shape[1:], xyz[:, :2], rad, ids, a, out=target[k])
        exact = np.sqrt(np.clip(r**2 - dz**2, 0, None)) * (dz < r)
        stamp_disks(shape[1:], xyz[:, :2], exact, ids, a, out=label[k])
    return target, label


def _network_class(net: Network, index: int) -> tuple[str, float, int]:
    tubes = [t for t in net.tubules if t.network == index]
    length_um = sum(t.length_nm for t in tubes) / 1000.0
    branched = any(t.parent >= 0 for t in tubes)
    cls = "network" if branched else ("dot" if length_um < 1.0 else "rod")
    return cls, length_um, sum(t.parent >= 0 for t in tubes)


def plan_cell_scene(
    shapes: Sequence[SceneShape],
    microscope: Microscope,
    config: CellSceneConfig | None = None,
    *,
    rng: int | np.random.Generator | None = None,
) -> CellPlan:
    """Draw a field of cells, grow and place its mitochondria, compute emitters and truth."""
    rng = np.random.default_rng(rng)
    cfg = config or CellSceneConfig()
    acq = cfg.acquisition
    for s in shapes:
        check_mesh(s.mesh, name=f"mesh of shape {s.id}")
    # the microscope of this image (a variant when randomised)
    params: dict = {}
    if cfg.randomize is not None:
        variants = _variants(cfg.randomize, cfg.focal_height_nm, microscope.model_dump_json())
        microscope, params = vary_microscope(microscope, cfg.randomize, list(variants), rng)
    optics = microscope.optics
    a, n_px = optics.pixel_size_nm, acq.size_px
    # the cells in view and the focal plane
    n_cells = (
        0
        if rng.random() < cfg.empty_fraction
        else int(rng.integers(cfg.cells[0], cfg.cells[1] + 1))
    )
    geo = draw_cells(
        rng,
        size_px=n_px,
        pixel_size_nm=a,
        margin_nm=3000.0,
        n_cells=n_cells,
        radius_um=cfg.cell_radius_um,
        nucleus_fraction=cfg.nucleus_fraction,
        height_nm=cfg.cell_height_nm,
        layer_nm=cfg.mitochondria_layer_nm,
    )
    focal = acq.focal_depth_nm
    if focal is None:
        # on a 100 nm grid (a variant's own, when randomised): images share PSF kernels
        focal = params.get("focal_depth_nm")
        if focal is None:
            focal = 100.0 * round(float(rng.uniform(*cfg.focal_height_nm)) / 100.0)
    depths = focal_depths(acq, focal)
    shape3 = (len(depths), n_px, n_px)
    labelling = 1.0 + cfg.labelling_variation * smooth_field(
        geo.cell.shape, cfg.labelling_scale_um * 1000.0 / a, rng
    )
    labelling = np.clip(labelling, 0.1, None)

    # tubule networks in the cytoplasm (in view and in the margin around it)
    net = Network([], 0, 0.0)
    if cfg.tubules is not None and geo.cytoplasm.any():
        area_um2 = float(geo.cytoplasm.sum()) * (a / 1000.0) ** 2
        net = grow_network(cfg.tubules, area_um2=area_um2, region=geo, rng=rng)
    target, label = _network_truth(net, depths, optics, n_px, acq.mask)
    emitters, owner, bright, objects = [], [], [], []
    factors = np.exp(rng.normal(0.0, cfg.brightness_cv, net.n_networks))
    for t in net.tubules:
        skip = float(net.tubules[t.parent].radius[t.parent_node]) if t.parent >= 0 else 0.0
        em = tube_emitters(t.points, t.radius, microscope.labelling, skip_start_nm=skip, rng=rng)
        emitters.append(em)
        owner.append(np.full(len(em), t.network))
        bright.append(np.full(len(em), factors[t.network]))
    for i in range(net.n_networks):
        cls, length_um, n_branches = _network_class(net, i)
        widths = [2 * float(np.median(t.radius)) for t in net.tubules if t.network == i]
        objects.append(
            {
                "label": i + 1,
                "kind": "network",
                "id": -1,
                "class": cls,
                "length_um": round(length_um, 3),
                "n_branches": int(n_branches),
                "width_nm": round(float(np.mean(widths)), 1),
            }
        )

    # library shapes mixed in, placed in the cytoplasm around the focal plane
    n_obj = int(rng.integers(cfg.objects[0], cfg.objects[1] + 1)) if shapes else 0
    free = geo.crop(geo.cytoplasm, n_px)
    for shape in [shapes[int(i)] for i in rng.integers(0, len(shapes), n_obj)] if n_obj else []:
        for _ in range(cfg.max_attempts):
            m = random_rotation(rng)
            pos = rng.uniform(0, n_px * a, 2)
            if not geo.inside(pos[:1], pos[1:])[0]:
                continue
            depth = focal + rng.uniform(-cfg.depth_spread_nm, cfg.depth_spread_nm)
            offset = (pos[0], pos[1], depth)
            moved = Placement(shape.mesh, m, shape.mesh.centroid, offset)
            if moved.bounds[0, 2] < 0:
                continue  # would cross the coverslip
            in_focus, proj, inside3 = truth_masks(
                moved, size_px=n_px, pixel_size_nm=a, focal_depths_nm=depths, dof_nm=optics.dof_nm
            )
            if not np.any(proj & ~free):
                break
        else:
            continue  # no place in the cytoplasm: leave this shape out
        tmp = len(objects) + 1
        target[target_mask(acq.mask, in_focus, proj, optics)] = tmp
        label[inside3] = tmp
        em = sample_fluorophores(shape.mesh, microscope.labelling, rng=rng)
        emitters.append(place(em, m, shape.mesh.centroid, offset_nm=offset))
        owner.append(np.full(len(em), len(objects)))
        bright.append(np.full(len(em), np.exp(rng.normal(0.0, cfg.brightness_cv))))
        objects.append(
            {
                "label": tmp,
                "kind": "shape",
                "id": int(shape.id),
                "class": shape.shape_class,
                "x_nm": float(pos[0]),
                "y_nm": float(pos[1]),
                "depth_nm": float(depth),
                "rotation": m.round(6).tolist(),
            }
        )

    # emitters: counts per object, brightness from the labelling field
    xyz = np.vstack(emitters) if emitters else np.empty((0, 3))
    own = np.concatenate(owner) if owner else np.zeros(0, int)
    gain = np.concatenate(bright) if bright else np.zeros(0)
    if len(xyz):
        ii, jj, _ = geo.index(xyz[:, 0], xyz[:, 1])
        gain = gain * labelling[ii, jj]
    counts = np.bincount(own, minlength=len(objects)) if len(objects) else np.zeros(0, int)
    # renumber: objects in the target get labels 1..K in order, the others 0
    present = set(np.unique(target).tolist()) - {0}
    lut = np.zeros(len(objects) + 1, np.uint16)
    k = 0
    for j, o in enumerate(objects):
        o["n_emitters"] = int(counts[j]) if j < len(counts) else 0
        o["in_focus"] = (j + 1) in present
        if o["in_focus"]:
            k += 1
            lut[j + 1] = k
        o["label"] = int(lut[j + 1])
    instances, labels = lut[target], lut[label]

    # diffuse light: cytosol (thickness x density, blurred), autofluorescence, medium
    from scipy.ndimage import gaussian_filter

    area_um2 = (a / 1000.0) ** 2
    levels = (
        cfg.cytosol_photons_per_um3,
        cfg.autofluorescence_photons_per_um2,
        cfg.medium_photons_per_um2,
    )
    cyto_d, auto, medium = (rng.uniform(*r) for r in levels)
    haze = geo.cytoplasm * geo.height_nm / 1000.0 * cyto_d + geo.cell * auto
    if cfg.haze_blur_nm > 0:
        haze = gaussian_filter(haze, cfg.haze_blur_nm / a, mode="nearest")
    background = np.broadcast_to((geo.crop(haze, n_px) + medium) * area_um2, shape3).copy()
    params.update(
        n_cells=n_cells,
        focal_depth_nm=round(float(focal), 1),
        fusion=round(net.fusion, 3),
        tubule_length_um=round(net.total_length_um, 2),
        cytosol_photons_per_um3=round(float(cyto_d), 2),
        autofluorescence_photons_per_um2=round(float(auto), 2),
        medium_photons_per_um2=round(float(medium), 2),
    )
    return CellPlan(
        cell=geo.crop(geo.cell, n_px),
        nucleus=geo.crop(geo.nucleus, n_px),
        emitters=xyz,
        brightness=gain,
        owner=own,
        focal_depths_nm=depths,
        instances=instances,
        labels=labels,
        background=background,
        objects=objects,
        microscope=microscope,
        params=params,
    )


def render_cell_scene(
    shapes: Sequence[SceneShape],
    microscope: Microscope,
    config: CellSceneConfig | None = None,
    *,
    rng: int | np.random.Generator | None = None,
) -> Scene:
    """A field of view like a real cell (see the module's text), rendered with camera noise.

    Returns
    -------
    Scene
        As :func:`render_scene`; ``objects`` lists every network and shape, with ``in_focus``
        and label 0 for those not in the target; ``params`` the image's draws (microscope
        variant, export). The image is uint16 (``export.mode`` raw) or uint8 (stretch8).

    Examples
    --------
    >>> from simulator import EPI1, Acquisition, CellSceneConfig, render_cell_scene
    >>> cfg = CellSceneConfig(acquisition=Acquisition(size_px=64, mask="visible"))
    >>> sc = render_cell_scene([], EPI1, cfg, rng=0)
    >>> sc.image.shape, sc.mask.dtype
    ((64, 64), dtype('uint8'))
    """
    rng = np.random.default_rng(rng)
    cfg = config or CellSceneConfig()
    plan = plan_cell_scene(shapes, microscope, cfg, rng=rng)
    scene = image_scene(
        plan.emitters,
        plan.microscope,
        plan.focal_depths_nm,
        plan.instances,
        plan.labels,
        plan.objects,
        background=plan.background,
        brightness=plan.brightness,
        rng=rng,
    )
    image, exported = export_image(scene.image, cfg.export, rng)
    return replace(scene, image=image, params={**plan.params, **exported})
