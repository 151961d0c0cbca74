"""`mitoshape realism`: can a small CNN tell synthetic images from a real one?"""

from __future__ import annotations

from pathlib import Path

import typer

from ._progress import progress_bar


def register(app: typer.Typer) -> None:
    @app.command("realism")
    def realism_cmd(
        real: Path = typer.Argument(
            ..., help="the real image (TIFF/PNG), or a folder of real tiles of one microscope"
        ),
        synthetic: list[Path] = typer.Argument(
            ..., help="synthetic sets: dataset folders (images/) or folders of images"
        ),
        out: Path = typer.Option(..., "-o", "--out", help="output folder"),
        name: list[str] = typer.Option([], "--name", help="a name per set (default: folder)"),
        crop_px: int = typer.Option(64, "--crop-px", min=8, help="crop side, pixels"),
        region_px: int = typer.Option(256, "--region-px", min=8, help="real-image region side"),
        folds: int = typer.Option(4, "--folds", min=2, help="folds (regions dealt to each)"),
        epochs: int = typer.Option(15, "--epochs", min=1, help="training epochs per fold"),
        max_images: int = typer.Option(200, "--max-images", min=1, help="images read per set"),
        seed: int = typer.Option(0, "--seed"),
        threads: int | None = typer.Option(None, "--threads", min=1, help="torch CPU threads"),
        overwrite: bool = typer.Option(False, "--overwrite"),
    ) -> None:
        """Held-out ROC AUC of real-vs-synthetic crop classifiers (0.5 = indistinguishable).

        Writes OUT/realism.json (AUC per set, per fold, settings) and OUT/realism.png
        (mean-variance curves and intensity histograms of each set beside the real image).
        """
        from segtrain import plot_realism, realism_test
        from segtrain.io import (
            image_folder,
            list_images,
            read_image,
            read_scaled_image,
            write_config,
            write_figure,
        )
        from shapelib import InputError
        from shapelib.io import check_output_folder, open_output_folder

        from ._budget import check_threads

        check_threads(threads)
        if region_px < crop_px:
            raise InputError(f"--region-px {region_px} must be >= --crop-px {crop_px}.")
        if name and len(name) != len(synthetic):
            raise InputError(
                f"give one --name per synthetic set; got {len(name)} names for "
                f"{len(synthetic)} sets."
            )
        names = list(name) or [p.name for p in synthetic]
        if len(set(names)) != len(names):
            names = [f"{n}_{i}" for i, n in enumerate(names)]
        # checked now, opened (its manifest written) once the result is in: a refusal on the
        # way (an empty folder, too few regions for the folds) leaves nothing behind
        check_output_folder(out, command="realism", inputs=[real, *synthetic],
                            overwrite=overwrite)  # fmt: skip
        if real.is_dir():  # tiles of one microscope: each in its own regions
            real_files = list_images(real)[:max_images]
            ref = read_scaled_image(real_files[0])
            real_data = [ref.data] + [read_image(p) for p in real_files[1:]]
        else:
            ref = read_scaled_image(real)
            real_data = ref.data
        sets, files = {}, {}
        for label, path in zip(names, synthetic, strict=True):
            paths = list_images(image_folder(path))[:max_images]
            first = read_scaled_image(paths[0])
            if ref.pixel_size_nm and first.pixel_size_nm:
                a, b = ref.pixel_size_nm[1], first.pixel_size_nm[1]
                if abs(a - b) > 0.01 * a:
                    raise InputError(
                        f"{paths[0]} has {b:g} nm pixels, the real image {a:g} nm; render the "
                        "synthetic set at the real image's pixel size."
                    )
            sets[label] = [first.data] + [read_image(p) for p in paths[1:]]
            files[label] = len(paths)
        with progress_bar("training classifiers", folds * len(sets)) as bar:
            result = realism_test(real_data, sets, crop_px=crop_px, region_px=region_px,
                                  folds=folds, epochs=epochs, seed=seed, threads=threads,
                                  progress=bar.update)  # fmt: skip
        folder = open_output_folder(out, command="realism", inputs=[real, *synthetic],
                                    overwrite=overwrite)  # fmt: skip
        aucs = {k: s.auc for k, s in result.scores.items()}
        summary = {"real": str(real), "sets": {k: str(p) for k, p in zip(names, synthetic,
                                                                           strict=True)},
                   "images_per_set": files, **result.summary()}  # fmt: skip
        write_config(folder.path("realism.json"), summary)
        write_figure(folder.path("realism.png"), plot_realism(ref.data, sets, aucs=aucs))
        for k, s in result.scores.items():
            typer.echo(f"{k}: held-out ROC AUC {s.auc:.3f} +- {s.auc_std:.3f} ({folds} folds, "
                       f"{s.n_real} real / {s.n_synthetic} synthetic crops)")  # fmt: skip
        typer.echo(f"wrote {out / 'realism.json'} and {out / 'realism.png'}")
