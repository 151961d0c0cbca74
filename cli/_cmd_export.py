"""`mitoshape export`: a trained run as a bioimage.io model package, or a library's meshes as
one scene file (GLB or PLY)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export_cmd(
        source: str = typer.Argument(
            ..., help="A run folder (or a shipped model's name), or a library folder."
        ),
        out: Path = typer.Option(
            ...,
            "--out",
            "-o",
            help="model.zip for a run (bioimage.io package, spec 0.5); lib.glb or lib.ply for "
            "a library (one file with every mesh, in nm).",
        ),
        image: Path = typer.Option(
            None,
            "--image",
            help="Runs: the package's test image (PNG/TIFF). (default: the first training image)",
        ),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out."),
    ) -> None:
        """Export for other tools: a run for deepImageJ/Fiji, napari and QuPath (bioimage.io),
        a library for 3D viewers (Blender, MeshLab, three.js) as one file."""
        from ._errors import UserError

        if (Path(source) / "library.csv").is_file():
            from shapelib.io import write_library_scene

            res = write_library_scene(source, out, overwrite=overwrite)
            typer.echo(f"wrote {res}")
            return
        if out.suffix.lower() != ".zip":
            raise UserError(
                f"{source} is not a library folder (no library.csv), so it is taken as a run, "
                f"which exports as a bioimage.io .zip; got -o {out}."
            )
        try:
            import bioimageio.spec  # noqa: F401
        except ImportError:
            raise UserError(
                "exporting a run needs bioimageio.spec: pip install 'mitoshape[interop]'."
            ) from None
        from segtrain import Run, export_bioimageio

        res = export_bioimageio(Run.open(source), out, image=image, overwrite=overwrite)
        typer.echo(f"wrote {res} (bioimage.io model, spec 0.5)")
