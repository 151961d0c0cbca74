"""`mitoshape train | predict`: segmenters (measuring them lives in `_cmd_measure`)."""

from __future__ import annotations

from pathlib import Path

import typer

from ._budget import check_threads
from ._options import Flag, config_options, given


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


# TrainConfig fields offered by `train` (the other fields: in a --config). Every option is the
# field's: its type, bounds, choices, description and default (the recipe's).
TRAIN_FLAGS = (
    Flag("run_dir", ("--run-dir", "-o")),
    Flag("model", ("--model", "-m")),
    "max_steps",
    Flag("time_budget_min", ("--minutes",)),
    "batch_size",
    "patch_px",
    "lr",
    "loss",
    "holdout",
    "val_fraction",
    "context_slices",
    "patience",
    "amp",
    "interactive",
    "init_from",
    "plain_share",
    "seed",
    Flag("num_threads", ("--threads",)),
    "device",
    "val_every",
    "schedule",
    "optimizer",
    "weight_decay",
    "fg_fraction",
    "unlabelled",
    "unlabelled_weight",
    "pseudo_hi",
    "pseudo_lo",
    "teacher",
    "unlabelled_start",
    "hard_negatives",
    "hard_negative_weight",
    "prefetch_batches",
)
# InferenceConfig fields offered by `predict`.
PREDICT_FLAGS = (
    "tile_px",
    "overlap_px",
    "tta",
    "threshold",
    Flag("checkpoint", ("--which",)),
    "amp",
    Flag("threads"),
    "batch_px",
    "device",
)


def _check_val_apart(cfg) -> None:
    """Refuse validation data that is also training data (it passed without a word: the
    validation IoU then measures memorising, and picks best.pt by it)."""
    from shapelib import InputError

    def key(source) -> tuple:
        labels = source.label_path and Path(source.label_path).resolve()
        return (Path(source.path).resolve(), labels)

    both = {key(s) for s in cfg.train} & {key(s) for s in cfg.val or ()}
    if both:
        raise InputError(
            f"validation data {sorted(str(k[0]) for k in both)[0]} is also training data; "
            "validate on other images (--val), or leave --val out to hold part of the "
            "training data out."
        )


def register(app: typer.Typer) -> None:
    from segtrain import InferenceConfig, TrainConfig

    @app.command("train")
    @config_options(TrainConfig, TRAIN_FLAGS)
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
        model_params: str = typer.Option(
            None,
            "--model-params",
            help="Model options over the recipe's, e.g. depth=4,width=16. "
            f"(default: {_recipe_params()})",
        ),
        resume: bool = typer.Option(
            False, "--resume", help="Continue the run in --run-dir. (default: off)"
        ),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="Start the run folder afresh. (default: off)"
        ),
        **options,
    ) -> None:
        """Train a segmenter with the recipe's defaults (segtrain.RECIPE), validated on held-out
        data; writes config.yaml, split.json, best.pt, last.pt, log.csv, curves.png and
        postprocess.json."""
        from segtrain import read_split, train
        from shapelib import InputError
        from shapelib.io import read_config

        from ._progress import progress_bar

        fields = read_config(config) if config is not None else {}
        fields.update(given(options))
        if "init_from" in fields:
            fields["init_from"] = str(fields["init_from"])
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
        _check_val_apart(cfg)
        check_threads(cfg.num_threads, "num_threads")  # also when the --config file sets it
        with progress_bar(f"train {cfg.model}", cfg.max_steps) as bar:
            run = train(cfg, resume=resume, overwrite=overwrite, progress=bar.update)
        typer.echo(f"validation: {read_split(run)['description']}")
        if cfg.interactive and cfg.init_from is None and cfg.plain_share > 0:
            typer.echo(f"plain stage (the interactive run started from it): {run}_plain")
        typer.echo(f"run folder: {run}")

    @app.command("predict")
    @config_options(InferenceConfig, PREDICT_FLAGS)
    def predict_cmd(
        run: Path = typer.Argument(
            ...,
            help="Run folder written by `mitoshape train`, a shipped model's name, or a "
            "bioimage.io model package (.zip or folder with rdf.yaml): one exported by mitoshape "
            "predicts as its run; another runs its TorchScript weights (trusted packages only: "
            "TorchScript is code).",
        ),
        input: Path = typer.Argument(
            ...,
            help="Image, folder of images (for a 2.5D run: files numbering sections), or EM "
            "stack TIFF.",
        ),
        out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
        tta_rotations: bool = typer.Option(
            False, "--tta-rotations", hidden=True, help="Old name of --tta d4."
        ),
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
        out_format: str = typer.Option(
            None,
            "--format",
            help="tiff, ome-zarr (NGFF 0.4) or ome-zarr-0.5: one NAME.ome.zarr per image with "
            "the image, labels/mask, labels/instances and probabilities. (default: ome-zarr "
            "when --out ends in .zarr, else tiff)",
        ),
        **options,
    ) -> None:
        """Predict probabilities and masks (TIFF) by overlapping tiles with smooth blending."""
        from segtrain import open_run, predict_folder

        from ._errors import UserError
        from ._progress import progress_bar

        settings = given(options) | ({"tta": "d4"} if tta_rotations else {})
        if str(settings.get("tta", "")).startswith("-"):
            raise UserError(
                f"--tta takes a mode: none, flips or d4; got {settings['tta']!r} (the old --tta "
                "alone is --tta flips)."
            )
        opened = open_run(run, InferenceConfig(**settings))
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
                out_format=out_format,
                progress=bar.update,
            )
        extra = ", uncertainty and suggestions.csv" if samples else ""
        if not (res / "masks").is_dir():
            typer.echo(f"wrote one OME-Zarr store per image (NAME.ome.zarr) in {res}")
        else:
            typer.echo(f"wrote {res}/probabilities, {res}/masks and {res}/instances{extra}")
