"""`mitoshape train | predict | evaluate | bench | quantify`: segmenters and morphology."""

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


def _default(field: str) -> str:
    """The recipe's default of a TrainConfig field, for --help (the one definition)."""
    from segtrain import TrainConfig

    value = TrainConfig.model_fields[field].get_default(call_default_factory=True)
    return "none" if value is None else str(value)


def _recipe_params() -> str:
    from segtrain import RECIPE

    return "; ".join(
        f"{m}: " + ",".join(f"{k}={v}" for k, v in p.items())
        for m, p in RECIPE.model_params.items()
    )


def parse_params(text: str) -> dict:
    """``depth=4,width=16`` -> {'depth': 4, 'width': 16} (values read as YAML scalars)."""
    import yaml

    from ._errors import UserError

    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise UserError(
                f"--model-params must look like depth=4,width=16; got {text!r} ({part!r} has no "
                "'=')."
            )
        try:
            out[key.strip()] = yaml.safe_load(value.strip())
        except yaml.YAMLError:
            raise UserError(f"--model-params: cannot read the value of {part!r}.") from None
    return out


def register(app: typer.Typer) -> None:
    d = _default

    @app.command("train")
    def train_cmd(
        config: Path = typer.Option(
            None,
            "--config",
            "-c",
            help="Training config (YAML/JSON); flags override its fields. (default: none)",
        ),
        data: list[str] = typer.Option(
            None,
            "--data",
            "-d",
            help="Training data folder (images/ + masks/); repeat. (default: the config's train)",
        ),
        val: list[str] = typer.Option(
            None, "--val", help="Validation data folder; repeat. (default: hold out training data)"
        ),
        run_dir: str = typer.Option(
            None, "--run-dir", "-o", help=f"Output run folder. (default: {d('run_dir')})"
        ),
        model: str = typer.Option(
            None, "--model", "-m", help=f"Model name (unet, ...). (default: {d('model')})"
        ),
        model_params: str = typer.Option(
            None,
            "--model-params",
            help="Model options over the recipe's, e.g. depth=4,width=16. "
            f"(default: {_recipe_params()})",
        ),
        max_steps: int = typer.Option(
            None, "--max-steps", help=f"Optimiser steps. (default: {d('max_steps')})"
        ),
        minutes: float = typer.Option(
            None,
            "--minutes",
            help="Also stop after this many wall-clock minutes (whichever ends first; not "
            "reproducible). (default: none, steps only)",
        ),
        batch_size: int = typer.Option(
            None, "--batch-size", help=f"Patches per step. (default: {d('batch_size')})"
        ),
        patch_px: int = typer.Option(
            None, "--patch-px", help=f"Patch side in pixels. (default: {d('patch_px')})"
        ),
        lr: float = typer.Option(None, "--lr", help=f"Peak learning rate. (default: {d('lr')})"),
        loss: str = typer.Option(
            None,
            "--loss",
            help="bce, dice or bce+dice; elbo or elbo+dice for prob_unet (its default: elbo). "
            f"(default: {d('loss')})",
        ),
        holdout: str = typer.Option(
            None,
            "--holdout",
            help="Without --val: auto, images, band or none (see TrainConfig.holdout). "
            f"(default: {d('holdout')})",
        ),
        val_fraction: float = typer.Option(
            None,
            "--val-fraction",
            help=f"Share held out (images or rows). (default: {d('val_fraction')})",
        ),
        context_slices: int = typer.Option(
            None,
            "--context-slices",
            help="2.5D input for EM stacks: neighbours per side as channels. "
            f"(default: {d('context_slices')})",
        ),
        patience: int = typer.Option(
            None,
            "--patience",
            help=f"Early stopping after N validations without gain; 0 = off. "
            f"(default: {d('patience')})",
        ),
        amp: bool = typer.Option(
            None, "--amp/--no-amp", help=f"bf16 mixed precision on CPU. (default: {d('amp')})"
        ),
        interactive: bool = typer.Option(
            None,
            "--interactive/--no-interactive",
            help="Add click and previous-mask channels, filled by a simulated user (any model; "
            "settings: `clicks:` in the config). (default: off)",
        ),
        init_from: Path = typer.Option(
            None,
            "--init-from",
            help="Start from the weights of this run (same model and params); an --interactive "
            "run may start from a plain one. (default: none, from scratch)",
        ),
        seed: int = typer.Option(None, "--seed", help=f"The one seed. (default: {d('seed')})"),
        threads: int = typer.Option(
            None, "--threads", help="torch CPU threads. (default: torch's, all cores)"
        ),
        device: str = typer.Option(
            None, "--device", help=f"auto, cpu, cuda or mps. (default: {d('device')})"
        ),
        resume: bool = typer.Option(
            False, "--resume", help="Continue the run in --run-dir. (default: off)"
        ),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="Start the run folder afresh. (default: off)"
        ),
    ) -> None:
        """Train a segmenter with the recipe's defaults (segtrain.RECIPE), validated on held-out
        data; writes config.yaml, split.json, best.pt, last.pt, log.csv, curves.png and
        postprocess.json."""
        from segtrain import TrainConfig, read_split, train
        from shapelib import InputError
        from shapelib.io import read_config

        from ._progress import progress_bar

        fields = read_config(config) if config is not None else {}
        flags = {
            "run_dir": run_dir,
            "model": model,
            "max_steps": max_steps,
            "time_budget_min": minutes,
            "batch_size": batch_size,
            "patch_px": patch_px,
            "lr": lr,
            "loss": loss,
            "holdout": holdout,
            "val_fraction": val_fraction,
            "context_slices": context_slices,
            "patience": patience,
            "amp": amp,
            "interactive": interactive,
            "init_from": str(init_from) if init_from is not None else None,
            "seed": seed,
            "num_threads": threads,
            "device": device,
        }
        fields.update({k: v for k, v in flags.items() if v is not None})
        if model_params is not None:
            fields["model_params"] = {
                **fields.get("model_params", {}),
                **parse_params(model_params),
            }
        if data:
            fields["train"] = [{"path": d} for d in data]
        if val:
            fields["val"] = [{"path": d} for d in val]
        if "train" not in fields:
            raise InputError("no training data: pass --data FOLDER or a --config with `train:`.")
        cfg = TrainConfig(**fields)
        with progress_bar(f"train {cfg.model}", cfg.max_steps) as bar:
            run = train(cfg, resume=resume, overwrite=overwrite, progress=bar.update)
        typer.echo(f"validation: {read_split(run)['description']}")
        typer.echo(f"run folder: {run}")

    @app.command("predict")
    def predict_cmd(
        run: Path = typer.Argument(..., help="Run folder written by `mitoshape train`."),
        input: Path = typer.Argument(..., help="Image, folder of images, or EM stack TIFF."),
        out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
        tile_px: int = typer.Option(256, "--tile-px", help="Tile side in pixels."),
        overlap_px: int = typer.Option(64, "--overlap-px", help="Overlap between tiles."),
        tta: bool = typer.Option(
            False, "--tta", help="Test-time augmentation: average over the 4 flips. (default: off)"
        ),
        tta_rotations: bool = typer.Option(
            False,
            "--tta-rotations",
            help="TTA over all 8 flips and turns (implies --tta). (default: off)",
        ),
        threshold: float = typer.Option(0.5, "--threshold", help="Probability -> mask."),
        clean: bool = typer.Option(
            False,
            "--clean",
            help="Remove small objects and holes with the sizes the run chose on its "
            "validation data (postprocess.json). (default: off)",
        ),
        min_size_px: int = typer.Option(
            None, "--min-size-px", help="Remove objects under N px. (default: off, or --clean's)"
        ),
        max_hole_px: int = typer.Option(
            None, "--max-hole-px", help="Fill holes under N px. (default: off, or --clean's)"
        ),
        which: str = typer.Option("best", "--which", help="best or last checkpoint."),
        amp: bool = typer.Option(
            None,
            "--amp/--no-amp",
            help="bf16 mixed precision on CPU. (default: as the run was trained)",
        ),
        threads: int = typer.Option(
            None, "--threads", help="torch CPU threads. (default: torch's, all cores)"
        ),
        device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or mps."),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="Replace an earlier prediction in --out."
        ),
        samples: int = typer.Option(
            None,
            "--samples",
            min=1,
            help="Probabilistic runs: K samples; probabilities = their mean, also uncertainty/ "
            "(their std) and suggestions.csv. (default: off, one pass)",
        ),
    ) -> None:
        """Predict probabilities and masks (TIFF) by overlapping tiles with smooth blending."""
        from segtrain import predict_folder

        from ._progress import progress_bar

        with progress_bar("predict") as bar:
            res = predict_folder(
                run,
                input,
                out,
                which=which,
                tile_px=tile_px,
                overlap_px=overlap_px,
                tta="d4" if tta_rotations else ("flips" if tta else "none"),
                threshold=threshold,
                clean=clean,
                min_size_px=min_size_px,
                max_hole_px=max_hole_px,
                device=device,
                num_threads=threads,
                amp=amp,
                overwrite=overwrite,
                samples=samples,
                progress=bar.update,
            )
        extra = ", uncertainty and suggestions.csv" if samples else ""
        typer.echo(f"wrote {res}/probabilities and {res}/masks{extra}")

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
            None, "--pixel-size-nm", help="Pixel side in nm (default: from the mask TIFFs)."
        ),
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
