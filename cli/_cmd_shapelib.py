"""`mitoshape extract` and `mitoshape library summary | gallery`: build and browse libraries."""

from __future__ import annotations

from pathlib import Path

import typer

from ._progress import progress_bar

library_app = typer.Typer(
    name="library", help="Browse a shape library: counts per class, sizes, a gallery.",
    no_args_is_help=True,
)  # fmt: skip


def register(app: typer.Typer) -> None:
    @app.command("extract")
    def extract_cmd(
        input: str = typer.Argument(
            ..., help="label volume: .tif/.tiff, file.h5:/dataset, a .zarr folder, or .npy"
        ),
        out: Path = typer.Option(..., "-o", "--out", help="library folder to write"),
        voxel_size_nm: str | None = typer.Option(
            None, "--voxel-size-nm", help="voxel size in nm, N or z,y,x (overrides the file)"
        ),
        label: list[int] | None = typer.Option(
            None, "--label", help="label id to use (repeat); default: every non-zero label"
        ),
        instances: bool = typer.Option(
            False, "--instances", help="each label id is one instance (instance segmentation)"
        ),
        downsample: int = typer.Option(1, "--downsample", help="integer factor (3DMSL: 3)"),
        erode_radius_vox: float = typer.Option(
            3.5, "--erode-radius-vox", help="erosion ball radius, voxels (3DMSL: 3.5; 0 = off)"
        ),
        connectivity: int = typer.Option(26, "--connectivity", help="26, 18 or 6"),
        min_voxels: int = typer.Option(27, "--min-voxels", help="drop smaller components"),
        points: int = typer.Option(100_000, "--points", help="surface points per instance"),
        occupancy_points: int = typer.Option(
            100_000, "--occupancy-points", help="occupancy samples per instance"
        ),
        seed: int = typer.Option(0, "--seed", help="random seed (same seed, same bytes)"),
        workers: int | None = typer.Option(None, "--workers", help="processes (default: all)"),
        exclude_border: bool = typer.Option(
            False, "--exclude-border", help="drop instances that touch the volume border (cut)"
        ),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="replace a different library in the output folder"
        ),
        chunked: bool | None = typer.Option(
            None,
            "--chunked/--in-memory",
            help="read and label the volume block by block, or whole in memory "
            "(default: by blocks above 1 GiB); the same library either way",
        ),
        scheduler: str | None = typer.Option(
            None,
            "--scheduler",
            help="Dask scheduler tcp://HOST:PORT to run on (`dask scheduler`, `dask worker`)",
        ),
        block_size: int | None = typer.Option(
            None, "--block-size", help="block side for --chunked, voxels (default: from chunks)"
        ),
        out_format: str | None = typer.Option(
            None,
            "--format",
            help="ome-zarr (NGFF 0.4) or ome-zarr-0.5: also write OUT/instances.ome.zarr, the "
            "instance label volume (uint32 ids = the library's shape ids, on the extraction "
            "grid, scale in um) under labels/instances, the foreground as its image; needs the "
            "volume in memory. Re-run on a finished library to add it. (default: none)",
        ),
    ) -> None:
        """Extract every mitochondrion of a label volume into a shape library folder."""
        from shapelib import ExtractParams, ShapeParams, extract_library, write_library_labels
        from shapelib._library_labels import check_library_labels
        from shapelib.io import open_volume

        from ._budget import check_workers

        check_workers(workers)
        extract = ExtractParams(
            labels=label or None,
            instances=instances,
            downsample=downsample,
            erode_radius_vox=erode_radius_vox,
            connectivity=connectivity,
            min_voxels=min_voxels,
            exclude_border=exclude_border,
        )
        shape = ShapeParams(n_surface_points=points, n_occupancy_points=occupancy_points)
        volume = open_volume(input, voxel_size_nm=voxel_size_nm)
        if out_format is not None:  # refused now, not after the long extraction
            check_library_labels(volume, labels_format=out_format, chunked=chunked)
        with progress_bar("instances") as bar:
            summary = extract_library(
                volume,
                out,
                extract=extract,
                shape=shape,
                seed=seed,
                n_workers=workers,
                overwrite=overwrite,
                chunked=chunked,
                scheduler=scheduler,
                block_shape=block_size,
                progress=bar.update,
            )
        counts = ", ".join(f"{k} {v}" for k, v in summary.counts.items()) or "none"
        typer.echo(f"wrote {summary.n_instances} instances to {out} ({counts})")
        if out_format is not None:
            store = write_library_labels(volume, out, extract=extract, labels_format=out_format)
            typer.echo(f"wrote their label volume to {store}")

    @library_app.command("summary")
    def summary_cmd(
        library: Path = typer.Argument(..., help="library folder"),
    ) -> None:
        """Counts per class and size statistics of a library."""
        from shapelib import library_summary

        typer.echo(library_summary(library).to_text())

    @library_app.command("gallery")
    def gallery_cmd(
        library: Path = typer.Argument(..., help="library folder"),
        out: Path = typer.Option(..., "-o", "--out", help="image to write (.png)"),
        shape_class: str | None = typer.Option(None, "--class", help="only this class"),
        n_per_class: int = typer.Option(4, "-n", "--per-class", help="shapes per class"),
        common_scale: bool = typer.Option(
            False, "--common-scale", help="draw every shape at one scale (sizes compare)"
        ),
        overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing image"),
    ) -> None:
        """A picture of a few shapes per class: id, class, largest extent; cut shapes marked."""
        from shapelib import library_gallery

        path = library_gallery(
            library,
            out,
            shape_class=shape_class,
            n_per_class=n_per_class,
            common_scale=common_scale,
            overwrite=overwrite,
        )
        typer.echo(f"wrote {path}")

    app.add_typer(library_app, name="library")
