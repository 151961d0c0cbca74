"""`mitoshape refine | clicks`: interactive segmentation by clicks, and its simulated user."""

from __future__ import annotations

from pathlib import Path

import typer

from ._options import Flag, config_options, given

# InferenceConfig fields offered by refine and clicks (they predict on 512 px tiles in float32,
# whatever the run was trained in).
RUN_FLAGS = (Flag("threads"), Flag("checkpoint", ("--which",)), "device")


def _config(options: dict):
    from segtrain import InferenceConfig

    return InferenceConfig(**{"tile_px": 512, "amp": False, **given(options)})


def register(app: typer.Typer) -> None:
    from segtrain import InferenceConfig

    @app.command("refine")
    @config_options(InferenceConfig, RUN_FLAGS)
    def refine_cmd(
        run: Path = typer.Argument(..., help="Interactive run folder (train --interactive)."),
        image: Path = typer.Argument(..., help="Image to refine (TIFF or PNG)."),
        out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
        click: list[str] = typer.Option(
            None, "--click", help="ROW,COL,+ (object) or ROW,COL,- (background); repeat, in order."
        ),
        clicks: Path = typer.Option(
            None, "--clicks", help="CSV of clicks (columns row, col, sign), before any --click."
        ),
        samples: int = typer.Option(16, "--samples", min=1, help="Prior samples per window."),
        window_px: int = typer.Option(
            192, "--window-px", min=16, help="Least side of the window a click re-predicts."
        ),
        enforce_px: int = typer.Option(
            3, "--enforce-px", min=0, help="Radius around each click set to its label (0: off)."
        ),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="Replace an earlier refine output in OUT."
        ),
        **options,
    ) -> None:
        """The mask, probability and uncertainty after the clicks, and the next suggestions."""
        from segtrain import RefineConfig, Run, parse_click, refine_image

        given = [parse_click(c) for c in click or []]
        opened = Run.open(run, _config(options))
        window = RefineConfig(samples=samples, window_px=window_px, enforce_px=enforce_px)
        res = refine_image(
            opened,
            image,
            out,
            clicks=given,
            clicks_csv=clicks,
            options=window,
            overwrite=overwrite,
        )
        r = res.refinement
        typer.echo(
            f"{len(r.clicks)} click(s) in {r.seconds:.2f} s; foreground {r.mask.mean():.3f} of "
            f"the image; wrote {res.out}/masks, probabilities, uncertainty, suggestions.csv"
        )
        for s in r.suggestions:
            typer.echo(f"  next: row {s.row} col {s.col} (score {s.score:.3g})")

    @app.command("clicks")
    @config_options(InferenceConfig, RUN_FLAGS)
    def clicks_cmd(
        run: Path = typer.Argument(
            ..., help="Run folder (interactive, or any with --max-clicks 0)."
        ),
        data: Path = typer.Option(..., "--data", help="Test folder with images/ and masks/."),
        out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
        max_clicks: int = typer.Option(
            None,
            "--max-clicks",
            min=0,
            help="Clicks per image/object. (default: 20; 8 with --protocol microsam)",
        ),
        protocol: str = typer.Option(
            "standard",
            "--protocol",
            help="standard (the scopes and clickers given) or microsam (micro-sam's: per "
            "object a point, then 7 corrections at the centre of the largest error; mean "
            "segmentation accuracy over IoU 0.5-0.95). (default: standard)",
        ),
        clicker: list[str] = typer.Option(
            None,
            "--clicker",
            help="error, uncertainty or random; repeat. (default: error and uncertainty)",
        ),
        scope: list[str] = typer.Option(
            None,
            "--scope",
            help="image (whole image as one object), object (RITM, per mitochondrion) or "
            "microsam (see --protocol); repeat. (default: image)",
        ),
        samples: int = typer.Option(
            16, "--samples", min=1, help="Prior samples (deterministic runs: 4 flips if > 1)."
        ),
        stop_iou: float = typer.Option(
            None, "--stop-iou", help="Stop a user once its IoU reaches this. (default: never)"
        ),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="Replace an earlier clicks output in OUT."
        ),
        **options,
    ) -> None:
        """Simulated-user evaluation: IoU per click, mIoU@k, NoC@85/90/95, uncertainty AUROC."""
        from segtrain import RefineConfig, Run, SimulatedUser, clicks_folder
        from segtrain.interactive._microsam import MICROSAM_CLICKS
        from shapelib import InputError

        from ._budget import check_clicks
        from ._progress import progress_bar

        if protocol not in ("standard", "microsam"):
            raise InputError(f"--protocol must be standard or microsam; got {protocol!r}.")
        micro = protocol == "microsam"
        if micro and scope:
            raise InputError("--protocol microsam sets the scope; drop --scope.")
        default_clicks = MICROSAM_CLICKS if micro else 20
        if max_clicks is not None:
            check_clicks(max_clicks)
        user = SimulatedUser(
            max_clicks=default_clicks if max_clicks is None else max_clicks,
            clickers=tuple(clicker or (("error",) if micro else ("error", "uncertainty"))),
            scopes=("microsam",) if micro else tuple(scope or ("image",)),
            stop_iou=stop_iou,
        )
        opened = Run.open(run, _config(options))
        with progress_bar("clicks") as bar:
            res = clicks_folder(
                opened,
                data,
                out,
                user=user,
                options=RefineConfig(samples=samples),
                overwrite=overwrite,
                progress=bar.update,
            )
        typer.echo((res.out / "summary.md").read_text().rstrip())
        typer.echo(f"wrote {res.out}/clicks.csv, summary.csv, miou.png, uncertainty.csv")
