"""The simulator's workflow: many images on all cores, written to folders.

Per-image work is a pure function of (shape, config, its own random stream) and runs in worker
processes; the parent writes every result (the 3DMSL layout for views, images/masks/instances
for training sets). Streams are keyed by what an image is, not by its place in a list:

- a view of a library shape: ``SeedSequence([seed, shape id, name_key(microscope name)])`` for
  the shape's fluorophores, then one stream per view name (see :func:`simulate_shape`); a run
  filtered by class, or asking fewer views, writes the same bytes for what it shares;
- image k of a training set: ``SeedSequence([seed, k])``.

So a run on a Dask cluster (``scheduler=``, through :class:`shapelib.TaskRunner`) writes the
same bytes as a local one: the workers render, this process writes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from shapelib import InputError, TaskRunner
from shapelib.io import (
    ngff_version,
    open_output_folder,
    output_format,
    save_figure,
    write_config,
    write_ome_zarr,
    write_tiff,
)

from ._cell import render_cell_scene
from ._cell_config import CellSceneConfig
from ._config import Acquisition, Microscope
from ._geometry import VIEWS_3DMSL
from ._image import simulate_shape, view_names
from ._scene import SceneConfig, SceneShape, render_scene
from ._seeds import stream
from ._sheet import contact_sheet_figure
from .io import DATASET_FILE

__all__ = ["write_simulations", "write_dataset", "view_file_name"]

logger = logging.getLogger(__name__)

_SHAPES: Sequence[SceneShape] = ()
SHEET_TILES = 8  # image/mask pairs shown in the contact sheet written beside every output


def view_file_name(microscope_name: str, shape_id: int, view: str) -> str:
    """3DMSL file name: ``N_0_<id>_<rot>.tif`` for Conf1, ``0_<id>_<rot>.tif`` otherwise."""
    prefix = "N_0" if microscope_name == "Conf1" else "0"
    return f"{prefix}_{shape_id}_{view}.tif"


def _init(shapes: Sequence[SceneShape]) -> None:
    global _SHAPES
    _SHAPES = shapes


def _view_task(task, shapes=None):
    i, mic, views, acq, seed = task  # i only finds the shape in the shared list
    shape = (_SHAPES if shapes is None else shapes)[i]
    rng = stream(seed, int(shape.id), mic.name)
    return i, mic, simulate_shape(shape.mesh, mic, views=views, acquisition=acq, rng=rng)


def _scene_task(task, shapes=None):
    k, mic, cfg, seed = task
    render = render_cell_scene if isinstance(cfg, CellSceneConfig) else render_scene
    return k, render(_SHAPES if shapes is None else shapes, mic, cfg, rng=stream(seed, k))


def _cluster_task(shapes, fn, task):
    """A :class:`TaskRunner` task: the shapes come as the runner's shared object."""
    return fn(task, shapes)


def _run(fn, tasks: list, shapes, workers: int, scheduler=None) -> Iterator:
    """Results in task order; on a Dask cluster with ``scheduler``; in-process when
    ``workers <= 1``."""
    if scheduler is not None:
        with TaskRunner(shapes, scheduler=scheduler) as runner:
            yield from runner.imap(_cluster_task, [(fn, t) for t in tasks])
        return
    if workers <= 1:
        _init(shapes)
        yield from map(fn, tasks)
        return
    # the platform's default start method (fork on Linux): works from scripts without a
    # ``__main__`` guard; the parent runs no threads of its own here
    with ProcessPoolExecutor(workers, initializer=_init, initargs=(shapes,)) as ex:
        # chunks of <= 32 tasks: finished results wait in the parent only briefly (memory)
        yield from ex.map(fn, tasks, chunksize=max(1, min(32, len(tasks) // (8 * workers))))


def _workers(workers: int | None) -> int:
    return int(workers) if workers else (os.cpu_count() or 1)


def _check_seed(seed: int) -> None:
    stream(seed)  # raises InputError for a negative or non-integer seed


def _check_unique(values, what: str) -> None:
    seen, repeated = set(), set()
    for v in values:
        if v in seen:
            repeated.add(str(v))
        seen.add(v)
    twice = sorted(repeated)
    if twice:
        raise InputError(
            f"{what} must be unique (each names its own files); given twice: {', '.join(twice)}."
        )


def write_simulations(
    shapes: Sequence[SceneShape],
    microscopes: Sequence[Microscope],
    out: str | Path,
    *,
    views: Sequence[str] | int = VIEWS_3DMSL,
    acquisition: Acquisition | None = None,
    seed: int = 0,
    workers: int | None = None,
    scheduler: str | Any = None,
    overwrite: bool = False,
    inputs: Sequence[str | Path] = (),
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Simulate views of every shape with every microscope; write the 3DMSL layout.

    Writes ``OUT/<id>/<name>_imgs/<file>.tif`` (uint16), ``<name>_masks/`` (target mask,
    uint8 0/1), ``<name>_projection/`` (uint8), ``<name>_labels/`` (z-stacks: 3D labels),
    ``OUT/microscope_<name>.yaml``, ``OUT/acquisition.yaml``, ``OUT/simulate.json`` and
    ``OUT/contact_sheet_<name>.png`` (images beside their masks, titled with shape id and view,
    with a scale bar). Every TIFF carries the pixel size (and the z step for stacks).
    ``progress(done, total)`` counts finished (shape, microscope) pairs. An image's bytes
    depend only on (seed, shape id, microscope, view), so ``scheduler`` (a Dask scheduler
    address ``tcp://HOST:PORT``, or a client) renders on a cluster the same bytes as
    ``workers`` local processes.

    ``out`` goes through the output guard (:func:`shapelib.io.open_output_folder`): a new or
    empty folder, or an earlier output of mitoshape replaced with ``overwrite`` (its files
    only, so no stale image stays); ``inputs`` (the library, configs) are never written over.
    """
    acq = acquisition or Acquisition()
    _check_seed(seed)
    view_names(views)  # unknown view names fail here, before anything is written
    _check_unique([m.name for m in microscopes], "microscope names")
    _check_unique([s.id for s in shapes], "shape ids")
    if not shapes or not microscopes:
        raise InputError("write_simulations needs at least one shape and one microscope.")
    guard = open_output_folder(
        out, command="simulate", inputs=inputs, overwrite=overwrite,
        details={"seed": seed, "views": views if isinstance(views, int) else list(views),
                 "microscopes": [m.name for m in microscopes], "n_shapes": len(shapes)},
    )  # fmt: skip
    for mic in microscopes:
        write_config(guard.path(f"microscope_{mic.name}.yaml"), mic)
    write_config(guard.path("acquisition.yaml"), acq)
    tasks = [(i, mic, views, acq, seed) for i in range(len(shapes)) for mic in microscopes]
    records: list = []
    sheets: dict = {}
    results = _run(_view_task, tasks, shapes, _workers(workers), scheduler)
    for done, (i, mic, result) in enumerate(results):
        shape = shapes[i]
        px, dz = mic.optics.pixel_size_nm, acq.z_step_nm if acq.z_planes > 1 else None
        for j, (view, rv) in enumerate(result.items()):
            if j < 2 and len(sheets.setdefault(mic.name, [])) < SHEET_TILES:
                sheets[mic.name].append((rv.image, rv.mask, f"id {shape.id} · {view}"))
            name = view_file_name(mic.name, shape.id, view)

            def path(kind: str, name=name, shape=shape, mic=mic) -> Path:
                return guard.path(f"{shape.id}/{mic.name}_{kind}/{name}")

            write_tiff(path("imgs"), rv.image, pixel_size_nm=px, z_step_nm=dz)
            write_tiff(path("masks"), rv.mask, pixel_size_nm=px, z_step_nm=dz)
            write_tiff(path("projection"), rv.projection, pixel_size_nm=px)
            if acq.z_planes > 1:
                write_tiff(path("labels"), rv.label, pixel_size_nm=px, z_step_nm=dz)
            records.append(
                {"id": shape.id, "class": shape.shape_class, "microscope": mic.name, "view": view,
                 "file": f"{shape.id}/{mic.name}_imgs/{name}",
                 "n_emitters": rv.n_emitters, "rotation": rv.rotation.round(6).tolist()}
            )  # fmt: skip
        if progress is not None:
            progress(done + 1, len(tasks))
    pixel = {m.name: m.optics.pixel_size_nm for m in microscopes}
    for name, tiles in sheets.items():
        images, masks, titles = zip(*tiles, strict=True)
        fig = contact_sheet_figure(
            images, masks, titles=titles, pixel_size_nm=pixel[name],
            mask_name=f"{acq.mask.replace('_', '-')} mask", suptitle=f"{name}: simulated views",
        )  # fmt: skip
        save_figure(fig, guard.path(f"contact_sheet_{name}.png"))
    write_config(
        guard.path("simulate.json"),
        {
            "seed": seed,
            "views": views if isinstance(views, int) else list(views),
            "rotation_convention": "R; rows of points rotate as points @ R.T",
            "images": records,
        },
    )
    return guard.root


def write_dataset(
    shapes: Sequence[SceneShape],
    microscope: Microscope,
    out: str | Path,
    *,
    n: int,
    scene: SceneConfig | CellSceneConfig | None = None,
    seed: int = 0,
    workers: int | None = None,
    scheduler: str | Any = None,
    overwrite: bool = False,
    inputs: Sequence[str | Path] = (),
    progress: Callable[[int, int], None] | None = None,
    out_format: str | None = None,
) -> Path:
    """A training set of fields of view, each with several objects (or a cell of tens).

    Writes ``images/`` (uint16; uint8 with a cell scene's 8-bit export), ``masks/`` (uint8
    0/1), ``instances/`` (uint16 object labels) TIFFs with matching names ``img_000000.tif``
    ..., for z-stack scenes also ``labels/`` (the 3D label volume on the stack's grid), plus
    ``contact_sheet.png`` (the first images beside their object labels, titled, with a scale
    bar) and ``dataset.json`` (microscope, scene config, seed, and per image its objects with
    ids and classes, and the draws of a cell scene: microscope variant, export). Every TIFF
    carries its pixel size (a variant's own) and z step. Image k draws from
    ``SeedSequence([seed, k])``: the first images of a larger set are the same bytes, and
    ``scheduler`` (a Dask scheduler address, or a client) renders on a cluster the same bytes
    as a local run. ``progress(done, total)`` counts finished images.

    ``out`` goes through the output guard as in :func:`write_simulations`: with ``overwrite``
    an earlier dataset's files are removed first, so a smaller set leaves no stale image.

    ``out_format`` ``ome-zarr`` (NGFF 0.4) or ``ome-zarr-0.5`` (None: when `out` ends in
    ``.zarr``) writes one ``img_000000.ome.zarr`` store per image instead of the TIFFs: the
    image with ``labels/mask`` and ``labels/instances`` (uint32), for viewers (2D scenes; the
    training reads the TIFF layout).
    """
    out_format = output_format(out, out_format)
    if n < 1:
        raise InputError(f"n must be >= 1 image; got {n}.")
    _check_seed(seed)
    cfg = scene or SceneConfig()
    if not shapes and not isinstance(cfg, CellSceneConfig):
        raise InputError("write_dataset needs at least one shape (cell scenes: networks only).")
    acq = cfg.acquisition
    if out_format != "tiff" and acq.z_planes > 1:
        raise InputError(
            "OME-Zarr datasets are 2D scenes for now; write z-stack datasets as TIFF "
            "(--format tiff)."
        )
    guard = open_output_folder(
        out, command="dataset", inputs=inputs, overwrite=overwrite,
        details={"seed": seed, "n": n, "microscope": microscope.name},
    )  # fmt: skip
    write_config(guard.path(f"microscope_{microscope.name}.yaml"), microscope)
    tasks = [(k, microscope, cfg, seed) for k in range(n)]
    px, dz = microscope.optics.pixel_size_nm, acq.z_step_nm if acq.z_planes > 1 else None
    entries: list = []
    sheet: list = []
    for k, sc in _run(_scene_task, tasks, shapes, _workers(workers), scheduler):
        name = f"img_{k:06d}.tif"
        if len(sheet) < SHEET_TILES:
            sheet.append((sc.image, sc.instances, name[:-4]))
        a = sc.params.get("pixel_size_nm", px)  # a microscope variant has its own
        if out_format != "tiff":
            label_images = {"mask": sc.mask, "instances": sc.instances.astype(np.uint32)}
            write_ome_zarr(
                guard.path(f"{name[:-4]}.ome.zarr"), sc.image, voxel_size_nm=(a, a),
                labels=label_images, version=ngff_version(out_format),
            )  # fmt: skip
        else:
            write_tiff(guard.path(f"images/{name}"), sc.image, pixel_size_nm=a, z_step_nm=dz)
            write_tiff(guard.path(f"masks/{name}"), sc.mask, pixel_size_nm=a, z_step_nm=dz)
            inst = sc.instances
            write_tiff(guard.path(f"instances/{name}"), inst, pixel_size_nm=a, z_step_nm=dz)
            if dz is not None:
                write_tiff(guard.path(f"labels/{name}"), sc.labels, pixel_size_nm=a, z_step_nm=dz)
        entry = {"name": name, "objects": sc.objects}
        if sc.params:
            entry["params"] = sc.params
        entries.append(entry)
        if progress is not None:
            progress(k + 1, n)
    classes = sorted({o["class"] for e in entries for o in e["objects"]})
    write_config(
        guard.path(DATASET_FILE),
        {
            "microscope": microscope.model_dump(mode="json"),
            "scene": cfg.model_dump(mode="json"),
            "seed": seed,
            "seeds": "image k draws from SeedSequence([seed, k])",
            "n": n,
            "pixel_size_nm": px,
            "z_step_nm": dz,
            "rotation_convention": "R; rows of points rotate as points @ R.T",
            "classes": classes,
            "images": entries,
        },
    )
    images, labels, titles = zip(*sheet, strict=True)
    fig = contact_sheet_figure(
        images, labels, titles=titles, pixel_size_nm=px, mask_name="object labels",
        instances=True, suptitle=f"{microscope.name}: first images of the dataset",
    )  # fmt: skip
    save_figure(fig, guard.path("contact_sheet.png"))
    return guard.root
