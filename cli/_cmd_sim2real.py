"""`mitoshape fit-scenes`: fit the cell-scene generator to a folder of real images."""

from __future__ import annotations

from pathlib import Path

import typer

from ._progress import progress_bar


def _sidecars(out: Path) -> dict[str, Path]:
    """The files written beside a fitted scene YAML (same stem)."""
    stem = out.with_suffix("")
    return {
        "stats": stem.with_name(stem.name + "_stats.csv"),
        "summary": stem.with_name(stem.name + "_summary.csv"),
        "rounds": stem.with_name(stem.name + "_rounds.csv"),
        "figure": stem.with_name(stem.name + ".png"),
    }


def fit_microscope(preset, config, camera, pixel_size_nm, emission_nm, na):
    """The base microscope of a fit: preset or YAML, calibrated camera, the images' pixels."""
    from simulator.io import microscope_from

    mic = microscope_from(preset, config=config, camera=camera)
    update: dict = {"pixel_size_nm": float(pixel_size_nm)}
    if emission_nm is not None:
        update["emission_wavelength_nm"] = float(emission_nm)
    if na is not None:
        update["NA"] = float(na)
    optics = mic.optics.model_validate({**mic.optics.model_dump(), **update})
    return mic.model_copy(update={"optics": optics})


def register(app: typer.Typer) -> None:
    @app.command("fit-scenes")
    def fit_scenes_cmd(
        real: list[Path] = typer.Argument(..., help="real images: a folder, or files"),
        out: Path = typer.Option(..., "-o", "--out", help="scene YAML to write (scene.yaml)"),
        pixel_size_nm: float | None = typer.Option(
            None, "--pixel-size-nm", help="pixel size when the files do not say (PNG)"
        ),
        preset: str = typer.Option("Epi1", "--preset", help="Conf1, Conf2 or Epi1"),
        config: Path | None = typer.Option(None, "--config", help="microscope YAML instead"),
        camera: Path | None = typer.Option(None, "--camera", help="camera YAML (calibrate)"),
        emission_nm: float | None = typer.Option(
            None, "--emission-nm", help="emission wavelength, nm (e.g. 610 for mCherry)"
        ),
        na: float | None = typer.Option(None, "--na", help="numerical aperture"),
        library: Path | None = typer.Option(
            None, "--library", help="library shapes to mix in (default: networks only)"
        ),
        rounds: int = typer.Option(4, "--rounds", help="rounds of render, measure, update"),
        images_per_round: int = typer.Option(16, "--images-per-round", help="scenes per round"),
        seed: int = typer.Option(0, "--seed"),
        overwrite: bool = typer.Option(False, "--overwrite"),
    ) -> None:
        """Fit cell scenes to real, unlabelled images; `dataset --scene-config OUT` renders
        a matching training set.

        Writes OUT (the scene with its microscope), OUT_stats.csv (per image: real and
        synthetic statistics), OUT_summary.csv (medians, real against synthetic),
        OUT_rounds.csv (the fit's rounds) and OUT.png (real beside fitted scenes).
        """
        from shapelib import InputError
        from shapelib.io import check_output_files, claim_output_files, save_figure, write_config
        from simulator import FitConfig, fit_figure, fit_scene
        from simulator.io import read_real_images, read_shapes

        if out.suffix.lower() not in (".yaml", ".yml"):
            raise InputError(f"-o must name a YAML file (scene.yaml); got {out}.")
        side = _sidecars(out)
        inputs = [*real, *(p for p in (config, camera, library) if p is not None)]
        check_output_files([out, *side.values()], inputs=inputs, overwrite=overwrite)
        imgs = read_real_images(real, pixel_size_nm=pixel_size_nm)
        mic = fit_microscope(preset, config, camera, imgs.pixel_size_nm, emission_nm, na)
        shapes = read_shapes(library) if library is not None else []
        sizes = sorted({min(s) for s in imgs.sizes})
        fit_cfg = FitConfig(
            rounds=rounds,
            images_per_round=images_per_round,
            size_px=min(max(sizes[len(sizes) // 2], 32), 256),
        )
        total = images_per_round * (rounds + 1)
        with progress_bar("fitting scenes", total) as bar:
            fit = fit_scene(
                imgs.images,
                mic,
                shapes=shapes,
                config=fit_cfg,
                names=imgs.names,
                rng=seed,
                progress=bar.update,
            )
        import pandas as pd

        real_rows = pd.DataFrame(fit.real).assign(set="real")
        stats = pd.concat([real_rows, pd.DataFrame(fit.synthetic).assign(set="synthetic")])
        summary = pd.DataFrame(fit.summary())
        fig = fit_figure(
            imgs.images, imgs.names, fit.examples, fit.summary(), pixel_size_nm=imgs.pixel_size_nm
        )
        claim_output_files([out, *side.values()], inputs=inputs, overwrite=overwrite)
        write_config(out, fit.config)
        stats.to_csv(side["stats"], index=False)
        summary.to_csv(side["summary"], index=False)
        pd.DataFrame(fit.rounds).to_csv(side["rounds"], index=False)
        save_figure(fig, side["figure"])
        ratios = summary.dropna(subset=["ratio"])
        line = f"fitted {len(imgs.images)} images ({imgs.pixel_size_nm:g} nm pixels) -> {out}"
        if len(ratios):
            far = ratios.loc[(ratios["ratio"] - 1).abs().idxmax()]
            line += f"; furthest statistic: {far['statistic']} x{far['ratio']:.2f} of real"
        typer.echo(line)
