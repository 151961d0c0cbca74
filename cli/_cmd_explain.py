"""`mitoshape explain | report`: why a segmenter decided, and the XM-DL per-image report."""

from __future__ import annotations

from pathlib import Path

import typer

from ._options import Flag, config_options, given

# InferenceConfig fields offered by explain and report (explanations are float32, no TTA).
RUN_FLAGS = ("tile_px", "overlap_px", "threshold", Flag("checkpoint", ("--which",)), "device")

METHOD_HELP = "gradcam (channel weights) or hirescam (element-wise)."


def register(app: typer.Typer) -> None:
    from segtrain import InferenceConfig

    @app.command("explain")
    @config_options(InferenceConfig, RUN_FLAGS)
    def explain_cmd(
        run: Path = typer.Argument(..., help="Run folder written by `mitoshape train`."),
        images: Path = typer.Argument(None, help="Image or folder of images to explain."),
        out: Path = typer.Option(None, "--out", "-o", help="Output folder."),
        layer: list[str] = typer.Option(
            None, "--layer", help="Layer to explain; repeat. Default: decoder and bottleneck."
        ),
        list_layers: bool = typer.Option(
            False, "--list-layers", help="Print the run's layers and exit."
        ),
        method: str = typer.Option("gradcam", "--method", help=METHOD_HELP),
        object_id: int = typer.Option(
            None, "--object", help="Explain one object (its number in `mitoshape report`)."
        ),
        faithfulness: bool = typer.Option(
            True, "--faithfulness/--no-faithfulness", help="Deletion curves (slow on big images)."
        ),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="Replace an earlier explain output in OUT."
        ),
        **options,
    ) -> None:
        """Grad-CAM / HiResCAM heatmaps (TIFF), overlays (PNG), faithfulness, explain.json."""
        from segtrain import Run
        from shapelib import InputError

        config = InferenceConfig(**given(options))
        if not list_layers and (images is None or out is None):
            raise InputError("explain needs IMAGES and -o OUT (or --list-layers).")
        if list_layers:
            from segtrain import run_layers

            name, infos, defaults = run_layers(Run.open(run, config))
            typer.echo(f"{name}: {len(infos)} layers (forward order; * = default)")
            for i in infos:
                mark = "*" if i.name in defaults else " "
                typer.echo(f"{mark} {i.name:32s} {i.kind:18s} {i.channels:5d} ch  1/{i.stride} res")
            return
        from segtrain import explain_folder

        from ._progress import progress_bar

        opened = Run.open(run, config)
        with progress_bar("explain") as bar:
            res = explain_folder(
                opened,
                images,
                out,
                layers=layer or None,
                methods=(method,),
                object_id=object_id,
                faithfulness=faithfulness,
                overwrite=overwrite,
                progress=bar.update,
            )
        typer.echo(f"wrote {res.out}/heatmaps, overlays and explain.json")
        if res.summary is not None and len(res.summary):
            for r in res.summary.itertuples():
                typer.echo(
                    f"  {r.method} {r.layer}: deletion AUC {r.auc_deletion:.3f} (random "
                    f"{r.auc_random:.3f}, inverse {r.auc_inverse:.3f}), mass in mask "
                    f"{r.mass_in_mask:.3f} (mask {r.mask_fraction:.3f} of the image); better "
                    f"than random on {r.n_better_than_random} of {r.n_images} images"
                )

    @app.command("report")
    @config_options(InferenceConfig, RUN_FLAGS)
    def report_cmd(
        run: Path = typer.Argument(..., help="Run folder written by `mitoshape train`."),
        images: Path = typer.Argument(..., help="Image or folder of images."),
        out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
        gt: Path = typer.Option(None, "--gt", help="True masks named like the images."),
        pixel_size_nm: float = typer.Option(
            None, "--pixel-size-nm", help="Pixel side in nm (default: from the image TIFFs)."
        ),
        layer: str = typer.Option(None, "--layer", help="Heatmap layer (default: decoder)."),
        method: str = typer.Option("gradcam", "--method", help=METHOD_HELP),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="Replace an earlier report output in OUT."
        ),
        **options,
    ) -> None:
        """Per image: input, masks, heatmap, objects by class with a table (um); a summary."""
        from segtrain import Run, report_folder

        from ._progress import progress_bar

        config = InferenceConfig(**given(options))
        opened = Run.open(run, config)
        with progress_bar("report") as bar:
            res = report_folder(
                opened,
                images,
                out,
                gt=gt,
                pixel_size_nm=pixel_size_nm,
                layer=layer,
                method=method,
                overwrite=overwrite,
                progress=bar.update,
            )
        per = res.per_image
        typer.echo(
            f"{len(per)} images, {int(per['count'].sum())} objects; wrote {res.out}/figures, "
            "summary.png, objects.csv, per_image.csv"
        )
        if res.comparison is not None:
            for r in res.comparison.itertuples():
                typer.echo(
                    f"  {r.parameter:20s} pred {r.pred:.4g} true {r.gt:.4g} "
                    f"relative error {r.relative_error:+.3f}"
                )
