"""`mitoshape psf | simulate | dataset | calibrate`: the fluorescence simulator's commands."""

from __future__ import annotations

from pathlib import Path

import typer

from ._budget import check_images, check_objects_per_image, check_views, check_workers
from ._progress import progress_bar


def _parse_objects(text: str) -> tuple[int, int]:
    from shapelib import InputError

    try:
        parts = [int(p) for p in text.replace(" ", "").split("-")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2:
        raise InputError(f"--objects must be N or MIN-MAX (e.g. 1-8); got {text!r}")
    return parts[0], parts[1]


def _parse_views(text: str):
    from shapelib import InputError

    text = text.strip().lower()
    if text == "six":
        from simulator import VIEWS_3DMSL

        return VIEWS_3DMSL
    if text.startswith("random:"):
        try:
            return int(text.split(":", 1)[1])
        except ValueError:
            raise InputError(f"--views random:N needs an integer N; got {text!r}") from None
    return tuple(v for v in text.split(",") if v)


def claim_files(paths, inputs, overwrite: bool):
    """The output guard for single files: never an input, never over a file without --overwrite."""
    from shapelib.io import claim_output_files

    return claim_output_files(paths, inputs=inputs, overwrite=overwrite)


def register(app: typer.Typer) -> None:
    @app.command("psf")
    def psf_cmd(
        out: Path = typer.Option(..., "-o", "--out", help="output TIFF (3D PSF, float32)"),
        preset: str = typer.Option("Epi1", "--preset", help="Conf1, Conf2 or Epi1"),
        config: Path | None = typer.Option(None, "--config", help="microscope YAML instead"),
        size: int = typer.Option(41, "--size", help="lateral size, pixels (odd)"),
        z_planes: int = typer.Option(41, "--z-planes", help="number of focal planes"),
        z_step_nm: float = typer.Option(100.0, "--z-step-nm", help="focal step, nm"),
        depth_nm: float = typer.Option(0.0, "--depth-nm", help="emitter depth in the sample"),
        pixel_size_nm: float | None = typer.Option(None, "--pixel-size-nm", help="override"),
        overwrite: bool = typer.Option(False, "--overwrite", help="replace existing files"),
    ) -> None:
        """Write the 3D PSF of a microscope (voxel size in the TIFF metadata) and, beside it,
        the microscope as YAML (``psf.tif`` -> ``psf.yaml``)."""
        from shapelib import InputError
        from shapelib.io import TIFF_SUFFIXES, check_output_files, write_config, write_tiff
        from simulator import compute_psf
        from simulator.io import microscope_from

        if out.suffix.lower() not in TIFF_SUFFIXES:
            raise InputError(f"-o must name a .tif/.tiff file; got {out.name!r}.")
        outputs = [out, out.with_suffix(".yaml")]
        inputs = [config] if config is not None else []
        check_output_files(outputs, inputs=inputs, overwrite=overwrite)
        mic = microscope_from(preset, config=config)
        psf = compute_psf(
            mic.optics,
            size_px=size,
            z_planes=z_planes,
            z_step_nm=z_step_nm,
            depth_nm=depth_nm,
            pixel_size_nm=pixel_size_nm,
        )
        px = mic.optics.pixel_size_nm if pixel_size_nm is None else pixel_size_nm
        tif, yaml_path = claim_files(outputs, inputs, overwrite)
        write_tiff(tif, psf, pixel_size_nm=px, z_step_nm=z_step_nm)
        write_config(yaml_path, mic)
        typer.echo(f"wrote {out} {psf.shape} ({px:g} nm pixels, {z_step_nm:g} nm steps)")

    @app.command("simulate")
    def simulate_cmd(
        source: Path = typer.Argument(..., help="library folder or one shape's folder"),
        out: Path = typer.Option(..., "-o", "--out", help="output folder (3DMSL layout)"),
        preset: list[str] = typer.Option(["Conf1", "Conf2", "Epi1"], "--preset", help="repeat"),
        config: Path | None = typer.Option(None, "--config", help="microscope YAML instead"),
        camera: Path | None = typer.Option(None, "--camera", help="camera YAML (calibrate)"),
        noise: str | None = typer.Option(None, "--noise", help="physical or 3dmsl"),
        views: str = typer.Option("six", "--views", help="six | random:N | x90,z90,..."),
        shape_class: list[str] = typer.Option([], "--class", help="keep these classes"),
        size: int = typer.Option(128, "--size", help="image side, pixels"),
        z_planes: int = typer.Option(1, "--z-planes", help="> 1 for z-stacks"),
        z_step_nm: float = typer.Option(250.0, "--z-step-nm", help="z-stack step, nm"),
        focal_depth_nm: float | None = typer.Option(None, "--focal-depth-nm", help="default auto"),
        mask: str = typer.Option(
            "in_focus", "--mask", help="in_focus, projection or visible (the target mask)"
        ),
        seed: int = typer.Option(0, "--seed"),
        workers: int | None = typer.Option(None, "--workers", help="processes (default: all)"),
        scheduler: str | None = typer.Option(
            None, "--scheduler", help="Dask scheduler tcp://HOST:PORT to render on"
        ),
        overwrite: bool = typer.Option(False, "--overwrite"),
    ) -> None:
        """Render views of library shapes through one or more microscopes."""
        from simulator import Acquisition, with_noise_mode, write_simulations
        from simulator.io import microscope_from, read_shapes

        check_workers(workers)
        parsed_views = _parse_views(views)
        if isinstance(parsed_views, int):  # random:N, priced before anything is read
            check_views(parsed_views, size_px=size, z_planes=z_planes)

        shapes = read_shapes(source, classes=shape_class or None)
        names = [None] if config is not None else preset
        mics = [microscope_from(p, config=config, camera=camera) for p in names]
        if noise is not None:
            mics = [with_noise_mode(m, noise) for m in mics]
        acq = Acquisition(
            size_px=size,
            z_planes=z_planes,
            z_step_nm=z_step_nm,
            focal_depth_nm=focal_depth_nm,
            mask=mask,
        )
        inputs = [p for p in (source, config, camera) if p is not None]
        with progress_bar("simulating", len(shapes) * len(mics)) as bar:
            write_simulations(
                shapes,
                mics,
                out,
                views=parsed_views,
                acquisition=acq,
                seed=seed,
                workers=workers,
                scheduler=scheduler,
                overwrite=overwrite,
                inputs=inputs,
                progress=bar.update,
            )
        typer.echo(f"wrote {len(shapes)} shape(s) x {len(mics)} microscope(s) to {out}")

    @app.command("dataset")
    def dataset_cmd(
        source: Path | None = typer.Argument(
            None, help="library folder or one shape's folder (cell scenes: optional)"
        ),
        out: Path = typer.Option(..., "-o", "--out", help="output dataset folder"),
        preset: str | None = typer.Option(
            None, "--preset", help="Conf1, Conf2 or Epi1 (default: the scene's fitted one, Epi1)"
        ),
        config: Path | None = typer.Option(None, "--config", help="microscope YAML instead"),
        camera: Path | None = typer.Option(None, "--camera", help="camera YAML (calibrate)"),
        n: int = typer.Option(100, "--n", help="number of images"),
        size: int | None = typer.Option(
            None, "--size", help="image side, pixels (default: the scene config's, 256)"
        ),
        objects: str | None = typer.Option(
            None, "--objects", help="objects per image, MIN-MAX (default 1-8; cell 20-60)"
        ),
        scene_kind: str | None = typer.Option(
            None, "--scene", help="objects (on black) or cell (default: the config's, objects)"
        ),
        scene_config: Path | None = typer.Option(
            None,
            "--scene-config",
            help="YAML of the scene's fields (cell levels, ...; `fit-scenes` writes one)",
        ),
        shape_class: list[str] = typer.Option([], "--class", help="keep these classes"),
        allow_overlap: bool = typer.Option(False, "--allow-overlap"),
        z_planes: int = typer.Option(1, "--z-planes", help="> 1 for z-stacks"),
        z_step_nm: float = typer.Option(250.0, "--z-step-nm", help="z-stack step, nm"),
        focal_depth_nm: float | None = typer.Option(None, "--focal-depth-nm", help="default auto"),
        mask: str | None = typer.Option(
            None,
            "--mask",
            help="in_focus, projection or visible (default: in_focus; cell scenes: visible)",
        ),
        seed: int = typer.Option(0, "--seed"),
        workers: int | None = typer.Option(None, "--workers", help="processes (default: all)"),
        scheduler: str | None = typer.Option(
            None, "--scheduler", help="Dask scheduler tcp://HOST:PORT to render on"
        ),
        overwrite: bool = typer.Option(False, "--overwrite"),
        out_format: str | None = typer.Option(
            None,
            "--format",
            help="tiff, ome-zarr (NGFF 0.4) or ome-zarr-0.5: one NAME.ome.zarr per image "
            "(2D scenes). (default: ome-zarr when -o ends in .zarr, else tiff)",
        ),
    ) -> None:
        """Training set of fields of view (or z-stacks) of several mitochondria, with labels."""
        from shapelib import InputError
        from shapelib.io import read_config
        from simulator import Acquisition, CellSceneConfig, SceneConfig, write_dataset
        from simulator.io import microscope_from, read_shapes

        check_images(n)
        check_workers(workers)
        if objects is not None:
            check_objects_per_image(max(_parse_objects(objects)))
        fields = dict(read_config(scene_config)) if scene_config is not None else {}
        scene_kind = scene_kind or str(fields.get("kind", "objects"))
        kinds = {"objects": SceneConfig, "cell": CellSceneConfig}
        if scene_kind not in kinds:
            raise InputError(f"--scene must be objects or cell; got {scene_kind!r}.")
        if source is None and scene_kind != "cell":
            raise InputError("give a library folder (or one shape's folder) to render from.")
        shapes = read_shapes(source, classes=shape_class or None) if source is not None else []
        fitted = fields.get("microscope") if preset is None and config is None else None
        if fitted is not None:  # the microscope a scene was fitted to
            from simulator import Microscope

            mic = Microscope.model_validate(fitted)
            if camera is not None:
                mic = microscope_from(None, config=None, camera=camera).model_copy(
                    update={"optics": mic.optics, "labelling": mic.labelling}
                )
        else:
            mic = microscope_from(preset, config=config, camera=camera)
        if mask is None:
            mask = "visible" if scene_kind == "cell" else "in_focus"
        given = dict(fields.get("acquisition") or {})
        acq = Acquisition(
            size_px=size if size is not None else int(given.get("size_px", 256)),
            z_planes=z_planes,
            z_step_nm=z_step_nm,
            focal_depth_nm=focal_depth_nm,
            mask=mask,
        )
        fields.update(acquisition=acq, kind=scene_kind)
        if objects is not None:
            fields["objects"] = _parse_objects(objects)
        if scene_kind == "objects":
            fields.setdefault("allow_overlap", allow_overlap)
        scene = kinds[scene_kind].model_validate(fields)
        inputs = [p for p in (source, config, camera, scene_config) if p is not None]
        with progress_bar("rendering", n) as bar:
            write_dataset(
                shapes,
                mic,
                out,
                n=n,
                scene=scene,
                seed=seed,
                workers=workers,
                scheduler=scheduler,
                overwrite=overwrite,
                inputs=inputs,
                progress=bar.update,
                out_format=out_format,
            )
        typer.echo(f"wrote {n} images to {out}")

    @app.command("calibrate")
    def calibrate_cmd(
        image: Path = typer.Argument(..., help="one raw camera image (TIFF)"),
        out: Path = typer.Option(..., "-o", "--out", help="camera YAML to write"),
        patch: int = typer.Option(16, "--patch", help="patch side, pixels"),
        overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing file"),
    ) -> None:
        """Fit gain, offset and read noise (Poisson-Gaussian) from one real image."""
        from shapelib.io import check_output_files, write_config
        from simulator import calibrate_camera
        from simulator.io import read_image

        check_output_files([out], inputs=[image], overwrite=overwrite)
        fit = calibrate_camera(read_image(image), patch_px=patch)
        write_config(claim_files([out], [image], overwrite)[0], fit.camera)
        c = fit.camera
        typer.echo(
            f"gain {c.gain_adu_per_e:.3f} ADU/e-, offset {c.offset_adu:.1f} ADU (field "
            f"{c.offset_field_std_adu:.2f}, rows {c.row_offset_std_adu:.2f}, columns "
            f"{c.column_offset_std_adu:.2f} ADU), read noise {c.read_noise_e:.2f} e- "
            f"({len(fit.curve.mean_adu)} intensity bins, worst relative residual "
            f"{abs(fit.relative_residuals).max():.2f}) -> {out}"
        )
