"""`mitoshape models`: the segmenters that ship with mitoshape."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("models")
    def models_cmd(
        card: str | None = typer.Option(None, "--card", help="print this model's card"),
    ) -> None:
        """List the models that ship with mitoshape (use a name wherever a run folder goes:
        `mitoshape predict NAME images/ -o out`, `refine`, `serve --run NAME`, napari)."""
        from segtrain import shipped_model, shipped_models

        if card is not None:
            typer.echo(shipped_model(card).card.read_text(encoding="utf-8"))
            return
        names = shipped_models()
        if not names:
            typer.echo("no shipped models in this install")
            return
        for name in names:
            m = shipped_model(name)
            lo, hi = m.pixel_size_range_nm
            typer.echo(
                f"{name}: {m.summary} (trained at {m.pixel_size_nm:g} nm pixels; takes "
                f"{lo:g}-{hi:g} nm with --resample) -> {m.folder}"
            )
