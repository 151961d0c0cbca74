"""`mitoshape serve`: the web app over libraries, datasets, a run and a folder of images."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve_cmd(
        library: list[Path] = typer.Option(
            [], "--library", "-l", help="Shape library folder (ours or released 3DMSL); repeat."
        ),
        dataset: list[Path] = typer.Option(
            [], "--dataset", "-d", help="Simulator dataset folder (mitoshape dataset); repeat."
        ),
        run: list[Path] = typer.Option(
            [],
            "--run",
            help="Trained run folder or shipped model, for Segment; repeat to offer several "
            "(the first is the default).",
        ),
        images: Path | None = typer.Option(None, "--images", help="Images to segment."),
        host: str = typer.Option(
            "127.0.0.1", "--host", help="Address to bind; another than loopback needs a token."
        ),
        port: int = typer.Option(8765, "--port", help="TCP port (0: any free port)."),
        token: str | None = typer.Option(
            None, "--token", help="Token for the API (default: generated for a non-loopback host)."
        ),
        max_upload_mb: float = typer.Option(64.0, "--max-upload-mb", help="Largest upload, MB."),
        max_upload_pixels: int = typer.Option(
            4096 * 4096, "--max-upload-pixels", help="Largest image to segment, pixels."
        ),
        seed: int = typer.Option(0, "--seed", help="Seed of rendered views (as `simulate`)."),
        device: str = typer.Option("cpu", "--device", help="Segmenter device: cpu, cuda, auto."),
        state: Path | None = typer.Option(
            None,
            "--state",
            help="Folder where every Segment session is saved and reopened from (default: the "
            "user cache, ~/.cache/mitoshape/sessions).",
        ),
        memory_gb: float | None = typer.Option(
            None, "--memory-gb", help="Memory for open sessions, GB (default: 1/4 of the machine)."
        ),
        workers: int = typer.Option(2, "--workers", help="Model calls run at once."),
        screenshots: Path | None = typer.Option(
            None,
            "--screenshots",
            help="Save a screenshot of each page (webapp_library/instance/segment/dataset.png) "
            "into DIR with the system's headless Chromium, then stop.",
        ),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="With --screenshots: replace earlier screenshots."
        ),
    ) -> None:
        """Browse libraries and datasets and segment images in the browser; prints the URL."""
        from webapp import ServeConfig, bind, serve

        if screenshots is not None:
            _screenshots(screenshots, library, dataset, run[0] if run else None, images, overwrite)
            return

        cfg = ServeConfig(
            libraries=tuple(library),
            datasets=tuple(dataset),
            run=run[0] if run else None,
            runs=tuple(run[1:]),
            images=images,
            host=host,
            port=port,
            token=token,
            max_upload_bytes=int(max_upload_mb * 1024 * 1024),
            max_upload_pixels=max_upload_pixels,
            seed=seed,
            device=device,
            state=state,
            memory_gb=memory_gb,
            workers=workers,
        )
        bound = bind(cfg)
        typer.echo(bound.url)  # the first line: what to open
        typer.echo("serving until Ctrl-C", err=True)
        serve(bound)


def _screenshots(out: Path, library, dataset, run, images, overwrite: bool) -> None:
    """Serve on a free loopback port, save one screenshot per page, stop."""
    from shapelib.io import claim_output_files
    from webapp import screenshots

    names = [out / f"webapp_{page}.png" for page in ("library", "instance", "segment", "dataset")]
    inputs = [p for p in (*library, *dataset, run, images) if p is not None]
    claim_output_files(names, inputs=inputs, overwrite=overwrite)
    shots = screenshots(out, libraries=library, run=run, images=images, datasets=dataset)
    for page, path in vars(shots).items():
        typer.echo(f"{page}: {path}" if path is not None else f"{page}: (nothing to show)")
