"""`mitoshape train | predict`: segmenters (measuring them lives in `_cmd_measure`)."""

from __future__ import annotations

from pathlib import Path

import typer


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
        resample: bool = typer.Option(
            False,
            "--resample",
            help="Resample each image to the pixel size of the run's training images before "
            "prediction, and the probabilities back (outputs keep the input's pixels). "
            "(default: off; a warning when the sizes differ by more than 1.25x)",
        ),
        pixel_size_nm: float = typer.Option(
            None,
            "--pixel-size-nm",
            help="The images' pixel side in nm, for --resample. (default: each TIFF's own)",
        ),
    ) -> None:
        """Predict probabilities and masks (TIFF) by overlapping tiles with smooth blending."""
        from segtrain import InferenceConfig, Run, predict_folder

        from ._progress import progress_bar

        config = InferenceConfig(
            checkpoint=which,
            tile_px=tile_px,
            overlap_px=overlap_px,
            tta="d4" if tta_rotations else ("flips" if tta else "none"),
            amp=amp,
            threads=threads,
            threshold=threshold,
            device=device,
        )
        opened = Run.open(run, config)
        with progress_bar("predict") as bar:
            res = predict_folder(
                opened,
                input,
                out,
                clean=clean,
                min_size_px=min_size_px,
                max_hole_px=max_hole_px,
                overwrite=overwrite,
                samples=samples,
                resample=resample,
                pixel_size_nm=pixel_size_nm,
                progress=bar.update,
            )
        extra = ", uncertainty and suggestions.csv" if samples else ""
        typer.echo(f"wrote {res}/probabilities and {res}/masks{extra}")
