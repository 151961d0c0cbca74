"""`mitoshape fit-scenes` (fit the cell scenes to a folder of real images) and `mitoshape
sim2real` (from unlabelled real images to a segmenter for them, in one go)."""

from __future__ import annotations

from pathlib import Path

import typer

from ._progress import progress_bar


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
    _register_fit(app)
    _register_sim2real(app)


def _register_fit(app: typer.Typer) -> None:
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
        from shapelib.io import check_output_files
        from simulator import FitConfig, fit_scene
        from simulator.io import (
            read_real_images,
            read_shapes,
            scene_fit_files,
            write_scene_fit,
        )

        inputs = [*real, *(p for p in (config, camera, library) if p is not None)]
        check_output_files(scene_fit_files(out).values(), inputs=inputs, overwrite=overwrite)
        imgs = read_real_images(real, pixel_size_nm=pixel_size_nm)
        mic = fit_microscope(preset, config, camera, imgs.pixel_size_nm, emission_nm, na)
        shapes = read_shapes(library) if library is not None else []
        sizes = sorted({min(s) for s in imgs.sizes})
        fit_cfg = FitConfig(
            rounds=rounds,
            images_per_round=images_per_round,
            size_px=min(max(sizes[len(sizes) // 2], 32), 256),
        )
        with progress_bar("fitting scenes", images_per_round * (rounds + 1)) as bar:
            fit = fit_scene(
                imgs.images,
                mic,
                shapes=shapes,
                config=fit_cfg,
                names=imgs.names,
                rng=seed,
                progress=bar.update,
            )
        write_scene_fit(
            fit,
            out,
            real_images=imgs.images,
            real_names=imgs.names,
            pixel_size_nm=imgs.pixel_size_nm,
            inputs=inputs,
            overwrite=overwrite,
        )
        import pandas as pd

        summary = pd.DataFrame(fit.summary())
        ratios = summary.dropna(subset=["ratio"])
        line = f"fitted {len(imgs.images)} images ({imgs.pixel_size_nm:g} nm pixels) -> {out}"
        if len(ratios):
            far = ratios.loc[(ratios["ratio"] - 1).abs().idxmax()]
            line += f"; furthest statistic: {far['statistic']} x{far['ratio']:.2f} of real"
        typer.echo(line)


def _register_sim2real(app: typer.Typer) -> None:
    @app.command("sim2real")
    def sim2real_cmd(
        real: Path = typer.Argument(..., help="folder of real, unlabelled images"),
        out: Path = typer.Option(..., "-o", "--out", help="output folder"),
        pixel_size_nm: float | None = typer.Option(
            None, "--pixel-size-nm", help="pixel size when the files do not say (PNG)"
        ),
        preset: str = typer.Option("Epi1", "--preset", help="Conf1, Conf2 or Epi1"),
        config: Path | None = typer.Option(None, "--config", help="microscope YAML instead"),
        camera: Path | None = typer.Option(None, "--camera", help="camera YAML (calibrate)"),
        emission_nm: float | None = typer.Option(None, "--emission-nm", help="emission, nm"),
        na: float | None = typer.Option(None, "--na", help="numerical aperture"),
        library: Path | None = typer.Option(
            None, "--library", help="library shapes to mix in (default: networks only)"
        ),
        n: int = typer.Option(600, "--n", help="synthetic training images"),
        max_steps: int = typer.Option(1200, "--max-steps", help="training steps"),
        minutes: float | None = typer.Option(None, "--minutes", help="also stop training then"),
        model: str = typer.Option("unet", "--model", help="segmenter (unet, ...)"),
        amp: bool = typer.Option(False, "--amp/--no-amp", help="bf16 mixed precision on CPU"),
        seed: int = typer.Option(0, "--seed"),
        workers: int | None = typer.Option(None, "--workers", help="rendering processes"),
        overwrite: bool = typer.Option(False, "--overwrite"),
    ) -> None:
        """From unlabelled real images to a segmenter for them: fit the scenes, render a
        training set, train, predict the real images, measure realism, write OUT/index.html."""
        from segtrain import Sim2RealConfig, sim2real
        from simulator.io import read_real_images, read_shapes

        from ._budget import check_workers

        check_workers(workers)
        # the pixel size first: a PNG folder without --pixel-size-nm fails before any work
        px = read_real_images(real, pixel_size_nm=pixel_size_nm).pixel_size_nm
        mic = fit_microscope(preset, config, camera, px, emission_nm, na)
        shapes = read_shapes(library) if library is not None else []
        cfg = Sim2RealConfig(
            n_images=n,
            max_steps=max_steps,
            minutes=minutes,
            model=model,
            amp=amp,
            seed=seed,
            workers=workers,
        )
        with _stage_bars() as bars:
            page = sim2real(
                real,
                mic,
                out,
                pixel_size_nm=px,
                shapes=shapes,
                config=cfg,
                overwrite=overwrite,
                progress=bars,
            )
        typer.echo(f"wrote {out}; open {page}")


class _stage_bars:
    """One rich progress bar per step of a long workflow: ``bars(step, done, total)``."""

    def __enter__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self._bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        self._tasks: dict = {}
        self._bar.__enter__()
        return self

    def __call__(self, step: str, done: int, total: int) -> None:
        if step not in self._tasks:
            self._tasks[step] = self._bar.add_task(step, total=total)
        self._bar.update(self._tasks[step], completed=done, total=total)

    def __exit__(self, *exc):
        return self._bar.__exit__(*exc)
