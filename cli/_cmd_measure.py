"""`mitoshape evaluate | bench | bench-merge | quantify`: measuring segmenters and morphology."""

from __future__ import annotations

from pathlib import Path

import typer


def _echo_summary(summary: dict, keys: list[str]) -> None:
    for k in keys:
        mean, std = summary.get(f"{k}_mean"), summary.get(f"{k}_std")
        pooled = summary.get(f"{k}_pooled")
        line = f"  {k:16s} mean {mean:.4f} +- {std:.4f}"
        if pooled is not None:
            line += f"   pooled {pooled:.4f}"
        typer.echo(line)


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate_cmd(
        pred: Path = typer.Option(..., "--pred", help="Predicted masks or probabilities."),
        gt: Path = typer.Option(..., "--gt", help="True masks or instance labels."),
        out: Path = typer.Option(None, "--out", "-o", help="Per-image metrics CSV."),
        connectivity: int = typer.Option(
            4, "--connectivity", help="Foreground connectivity (4 or 8) for Betti and instances."
        ),
        threshold: float = typer.Option(0.5, "--threshold", help="Probability -> mask."),
        figure: Path = typer.Option(
            None, "--figure", help="PNG of images beside prediction and truth (needs --images)."
        ),
        images: Path = typer.Option(None, "--images", help="Input images, for --figure."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
    ) -> None:
        """Dice, foreground IoU, precision, recall, Betti errors, instance F1/PQ per image."""
        from segtrain import evaluate_folders
        from segtrain.io import image_folder, mask_folder, write_csv
        from shapelib import InputError
        from shapelib.io import check_output_files, claim_output_files

        if (figure is None) != (images is None):
            raise InputError("--figure and --images go together: pass both or neither.")
        inputs = [mask_folder(pred), mask_folder(gt), *([image_folder(images)] if images else [])]
        outputs = []
        if out is not None:
            outputs += [out, out.with_name(out.stem + "_summary.csv")]
        if figure is not None:
            outputs.append(figure)
        check_output_files(outputs, inputs=inputs, overwrite=overwrite)

        res = evaluate_folders(pred, gt, threshold=threshold, connectivity=connectivity)
        if out is not None:
            out, summary_path = claim_output_files(outputs[:2], inputs=inputs, overwrite=overwrite)
            write_csv(out, res.per_image)
            write_csv(summary_path, res.summary_table().reset_index(names="metric"))
            typer.echo(f"wrote {out} and {summary_path}")
        if figure is not None:
            from segtrain import plot_prediction_folders

            path = plot_prediction_folders(images, pred, gt, figure, overwrite=overwrite)
            typer.echo(f"wrote {path}")
        typer.echo(
            f"{res.summary['n_images']} images (mean +- std over images; pooled over pixels)"
        )
        _echo_summary(
            res.summary,
            [
                "dice",
                "iou",
                "precision",
                "recall",
                "accuracy",
                "betti_error",
                "f1_50",
                "f1_75",
                "pq_50",
                "mean_accuracy",
            ],
        )

    @app.command("bench")
    def bench_cmd(
        config: Path = typer.Argument(..., help="Benchmark config (YAML)."),
        out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="Replace an earlier bench in --out (its runs included)."
        ),
    ) -> None:
        """Models x training data x test sets: table.md, table.csv, table.png and the runs."""
        from segtrain import BenchConfig, run_bench
        from shapelib.io import read_config

        from ._progress import progress_bar

        cfg = read_config(config, BenchConfig)
        with progress_bar("bench: train") as bar:
            table = run_bench(cfg, out, overwrite=overwrite, inputs=[config], progress=bar.update)
        typer.echo(f"{len(table)} rows; wrote {out}/table.md, table.csv, table.png")

    @app.command("bench-merge")
    def bench_merge_cmd(
        folders: list[Path] = typer.Argument(..., help="Finished bench folders (--out of bench)."),
        out: Path = typer.Option(..., "--out", "-o", help="Output folder for the pooled table."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier merge."),
    ) -> None:
        """Pool benches run in several sittings (e.g. one seed each) into one table over seeds."""
        from segtrain import merge_bench

        table = merge_bench(folders, out, overwrite=overwrite)
        typer.echo(f"{len(table)} rows; wrote {out}/table.md, table.csv, table.png")

    @app.command("quantify")
    def quantify_cmd(
        masks: Path = typer.Argument(..., help="Folder (or file) of masks / instance labels."),
        out: Path = typer.Option(..., "--out", "-o", help="Per-object morphology CSV."),
        pixel_size_nm: float = typer.Option(
            None,
            "--pixel-size-nm",
            min=1.0,
            max=5000.0,
            help="Pixel side in nm, 1-5000 (default: from the mask TIFFs).",
        ),  # fmt: skip
        gt: Path = typer.Option(None, "--gt", help="True masks to compare against."),
        three_d: bool = typer.Option(False, "--3d", help="Label volumes: 3D morphology."),
        voxel_size_nm: str = typer.Option(
            None, "--voxel-size-nm", help="3D: nm, one or z,y,x (default: from the TIFFs)."
        ),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
    ) -> None:
        """Per-object morphology and per-image count/density; with --gt the relative errors."""
        from segtrain import plot_fold_change, quantify_folder
        from segtrain.io import mask_folder, write_csv, write_figure
        from shapelib import InputError
        from shapelib.io import check_output_files, claim_output_files

        if three_d and gt is not None:
            raise InputError("--gt compares 2D masks; it does not go with --3d.")
        if out.suffix.lower() != ".csv":
            raise InputError(f"-o must name a .csv file; got {out.name!r}.")
        inputs = [mask_folder(masks), *([mask_folder(gt)] if gt is not None else [])]
        per = out.with_name(out.stem + "_per_image.csv")
        outputs = [out, per]
        if gt is not None:
            outputs += [
                out.with_name(out.stem + "_vs_gt.csv"),
                out.with_name(out.stem + "_vs_gt.png"),
            ]
        check_output_files(outputs, inputs=inputs, overwrite=overwrite)
        res = quantify_folder(
            masks,
            pixel_size_nm=pixel_size_nm,
            gt=gt,
            three_d=three_d,
            voxel_size_nm=voxel_size_nm,
        )
        paths = claim_output_files(outputs, inputs=inputs, overwrite=overwrite)
        write_csv(paths[0], res.objects)
        write_csv(paths[1], res.per_image)
        typer.echo(f"{len(res.objects)} objects; wrote {out} and {per}")
        if res.comparison is not None:
            cmp_path, png = paths[2], paths[3]
            write_csv(cmp_path, res.comparison)
            write_figure(png, plot_fold_change(res.comparison))
            typer.echo(f"wrote {cmp_path} and {png}")
            for r in res.comparison.itertuples():
                typer.echo(
                    f"  {r.parameter:20s} pred {r.pred:.4g} true {r.gt:.4g} "
                    f"relative error {r.relative_error:+.3f} fold change {r.fold_change:.3f}"
                )
