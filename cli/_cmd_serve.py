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
        run: Path | None = typer.Option(None, "--run", help="Trained run folder, for Segment."),
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
    ) -> None:
        """Browse libraries and datasets and segment images in the browser; prints the URL."""
        from webapp import ServeConfig, bind, serve

        cfg = ServeConfig(
            libraries=tuple(library),
            datasets=tuple(dataset),
            run=run,
            images=images,
            host=host,
            port=port,
            token=token,
            max_upload_bytes=int(max_upload_mb * 1024 * 1024),
            max_upload_pixels=max_upload_pixels,
            seed=seed,
            device=device,
        )
        bound = bind(cfg)
        typer.echo(bound.url)  # the first line: what to open
        typer.echo("serving until Ctrl-C", err=True)
        serve(bound)
