"""`mitoshape classify PATH`: class and measurements of one instance folder."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("classify")
    def classify_cmd(
        path: Path = typer.Argument(
            ..., help="Instance folder (ours, or a released 3DMSL one) holding raw_mesh.off."
        ),
        voxel_size_nm: str = typer.Option(
            None,
            "--voxel-size-nm",
            help="Voxel size in nm, one value or z,y,x. Our folders: default from meta.json. "
            "Folders without meta.json (released 3DMSL): the mesh's voxel unit, required "
            "(3DMSL: 24).",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the measurements as JSON."),
    ) -> None:
        """Voxelize the instance's mesh, skeletonize it, apply the class rules, print the class."""
        from shapelib import InputError, as_spacing_nm, classify_mesh
        from shapelib.io import read_shape

        spacing = None if voxel_size_nm is None else as_spacing_nm(voxel_size_nm)
        if voxel_size_nm is None and path.is_dir() and not (path / "meta.json").is_file():
            # without meta.json the mesh's unit is unknown: ours are in nm, released 3DMSL
            # meshes in 24 nm voxels; guessing gave volumes 10^4 times off
            raise InputError(
                f"{path} has no meta.json, so the unit of its mesh is unknown; pass "
                "--voxel-size-nm 24 for a released 3DMSL folder (its voxel unit); one of ours "
                "(mesh in nm) needs its meta.json back (re-run `mitoshape extract`)."
            )
        shape = read_shape(path, voxel_size_nm=spacing)
        vs = shape.measurements.get("voxel_size_nm")
        if vs is None:
            raise InputError(
                f"{path}: meta.json records no voxel_size_nm; pass --voxel-size-nm (e.g. 24)."
            )
        result = classify_mesh(shape.mesh, voxel_size_nm=vs)
        result = {"id": shape.id, "path": str(path), **result}
        if as_json:
            typer.echo(json.dumps(result, indent=2))
            return
        typer.echo(f"class: {result['shape_class']}")
        for key, value in result.items():
            if key in ("shape_class",):
                continue
            if isinstance(value, float):
                value = f"{value:.4g}"
            typer.echo(f"  {key}: {value}")
