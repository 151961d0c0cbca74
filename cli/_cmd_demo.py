"""`mitoshape phantom` and `mitoshape demo`: shipped example data and the main job end to end.

The demo runs the same commands a user would type, in order, on a procedurally generated phantom
volume (the data that ships with the project), and writes a results folder with a README.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import typer

from ._errors import UserError

log = logging.getLogger(__name__)

RESULTS_README = """# mitoshape demo results

Made by `make demo` (`mitoshape demo -o {out}`) in {minutes:.1f} minutes. Every file here was
produced by the commands listed below, in this order, from a phantom volume generated with seed
{seed}.

| step | command | look at |
|---|---|---|
{rows}
"""


# Everything the demo writes in its folder (files and the folders its commands fill): claimed
# in the demo's manifest first, so a later demo replaces exactly these and nothing of the user's.
DEMO_FILES = (
    "README.md", "phantom_labels.tif", "phantom_labels.objects.json", "library_summary.txt",
    "gallery.png",
    *(f"{stem}{end}" for stem in ("metrics_test_epi1", "metrics_test_conf1")
      for end in (".csv", "_summary.csv", ".txt")),
    "predictions_test_epi1.png", "predictions_test_conf1.png",
    *(f"webapp_{page}.png" for page in ("library", "instance", "segment", "dataset")),
    *(f"napari_{widget}.png" for widget in ("segment", "simulate", "library")),
)  # fmt: skip
DEMO_FOLDERS = ("library", "simulated", "train_epi1", "test_epi1", "test_conf1", "run_unet",
                "pred_test_epi1", "pred_test_conf1", "run_interactive", "run_interactive_plain",
                "clicks_test_epi1", "report_test_epi1", "report_shipped_model")  # fmt: skip


def _step(
    steps: list, title: str, args: list[str], look: str, *, capture: Path | None = None
) -> None:
    """Run one `mitoshape` command in-process; stop the demo on its first failure or on an
    interrupt (exit 130 goes on up)."""
    import contextlib
    import io

    from shapelib.io import atomic_write

    from . import app
    from ._errors import EXIT_SIGINT

    cmd = "mitoshape " + " ".join(args)
    typer.secho(f"\n== {title}\n$ {cmd}", fg=typer.colors.CYAN)
    t0 = time.perf_counter()
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer) if capture else contextlib.nullcontext():
        rv = app(args=args, standalone_mode=False)
    if rv == EXIT_SIGINT:
        raise KeyboardInterrupt
    if isinstance(rv, int) and rv != 0:
        raise UserError(f"demo step {title!r} failed (exit {rv}): {cmd}")
    if capture:
        atomic_write(capture, buffer.getvalue())
        typer.echo(buffer.getvalue())
    seconds = time.perf_counter() - t0
    steps.append((title, cmd, look, seconds))


def register(app: typer.Typer) -> None:
    @app.command("phantom")
    def phantom_cmd(
        out: Path = typer.Option(
            ..., "-o", "--out", help="label volume to write: .tif, or NAME.ome.zarr (OME-Zarr)"
        ),
        objects: int = typer.Option(24, "--objects", help="number of mitochondria"),
        voxel_size_nm: float = typer.Option(30.0, "--voxel-size-nm", help="isotropic voxel size"),
        touching_pairs: int = typer.Option(2, "--touching-pairs", help="pairs placed touching"),
        seed: int = typer.Option(0, "--seed"),
        overwrite: bool = typer.Option(False, "--overwrite", help="replace existing files"),
        out_format: str = typer.Option(
            None,
            "--format",
            help="tiff, ome-zarr (NGFF 0.4) or ome-zarr-0.5: one store with the foreground "
            "(uint8 0/1) as its image and the object ids (uint32) as labels/instances, scale "
            "in um. (default: ome-zarr when -o ends in .zarr, else tiff)",
        ),
    ) -> None:
        """Write a phantom label volume of mitochondria-like shapes with known classes.

        Beside the TIFF (voxel size in its metadata) or the OME-Zarr store goes
        ``<name>.objects.json``: per object its id, kind, expected class and bounding box.
        """
        import json

        from shapelib.io import (
            TIFF_SUFFIXES,
            atomic_write,
            check_output_files,
            check_output_store,
            claim_output_files,
            ngff_version,
            output_format,
            store_stem,
            write_label_store,
            write_volume,
        )
        from shapelib.phantoms import phantom_volume

        from ._budget import check_phantom_objects

        if objects < 1:
            raise UserError(f"--objects must be >= 1; got {objects}.")
        check_phantom_objects(objects, voxel_size_nm)
        if seed < 0:
            raise UserError(f"--seed must be >= 0; got {seed}.")
        fmt = output_format(out, out_format)
        zarr = fmt != "tiff"
        if zarr and not str(out).rstrip("/").lower().endswith(".zarr"):
            raise UserError(f"--format {fmt} writes one store: name it -o NAME.ome.zarr.")
        if not zarr and out.suffix.lower() not in TIFF_SUFFIXES:
            raise UserError(
                f"-o must name a .tif/.tiff file or a .ome.zarr store; got {out.name!r}."
            )
        truth = out.parent / f"{store_stem(out)}.objects.json" if zarr else None
        outputs = [truth] if zarr else [out, out.with_suffix(".objects.json")]
        check_output_files(outputs, overwrite=overwrite)
        if zarr:
            check_output_store(out, overwrite=overwrite)
        vol = phantom_volume(
            objects, voxel_size_nm=voxel_size_nm, touching_pairs=touching_pairs, rng=seed
        )
        if zarr:
            (truth,) = claim_output_files(outputs, overwrite=overwrite)
            path = write_label_store(
                out, vol.labels, voxel_size_nm=vol.voxel_size_nm, version=ngff_version(fmt)
            )
        else:
            path, truth = claim_output_files(outputs, overwrite=overwrite)
            write_volume(path, vol.labels, voxel_size_nm=vol.voxel_size_nm)
        text = json.dumps({"seed": seed, "objects": vol.objects}, indent=1, default=int)
        atomic_write(truth, text)
        z, y, x = vol.labels.shape
        typer.echo(f"wrote {path} ({z}x{y}x{x} voxels of {voxel_size_nm:g} nm) and {truth.name}")

    @app.command("demo")
    def demo_cmd(
        out: Path = typer.Option(Path("results"), "-o", "--out", help="results folder"),
        seed: int = typer.Option(0, "--seed"),
        minutes: float = typer.Option(2.0, "--train-minutes", help="training budget"),
    ) -> None:
        """Run the main job end to end on shipped phantom data; write a results folder.

        The folder must be new, empty, or an earlier demo's (whose files it replaces, and only
        those); a folder holding anything else is refused.
        """
        from shapelib.io import atomic_write, open_output_folder, read_manifest

        if not 0 < minutes < 1e6:  # checked before the first step (it ran a minute before)
            raise UserError(f"--train-minutes must be > 0; got {minutes}.")
        t_start = time.perf_counter()
        header, _ = read_manifest(out) if out.is_dir() else (None, [])
        again = header is not None and header.get("command") == "demo"
        guard = open_output_folder(out, command="demo", overwrite=again, details={"seed": seed})
        guard.claim(*DEMO_FILES, *DEMO_FOLDERS)
        steps: list = []
        s = str(seed)
        volume = out / "phantom_labels.tif"
        lib = out / "library"

        # 1. Data: a phantom EM label volume (one object of each class first, touching pairs).
        _step(steps, "phantom label volume", ["phantom", "-o", str(volume), "--seed", s],
              "phantom_labels.tif (Fiji/napari), phantom_labels.objects.json")  # fmt: skip
        # 2. Shape library: extraction, summary, gallery.
        _step(steps, "extract the shape library",
              ["extract", str(volume), "-o", str(lib), "--seed", s],
              "library/library.csv, library/<id>/ (raw_mesh.off, pointcloud.ply, ...)")  # fmt: skip
        _step(steps, "library summary", ["library", "summary", str(lib)], "library_summary.txt",
              capture=out / "library_summary.txt")  # fmt: skip
        _step(steps, "gallery of shapes per class",
              ["library", "gallery", str(lib), "-o", str(out / "gallery.png")],
              "gallery.png")  # fmt: skip
        _demo_simulation(steps, out, lib, seed)
        _demo_training(steps, out, seed, minutes)
        _demo_interactive(steps, out, lib, seed, minutes)
        _demo_shipped(steps, out)

        total = (time.perf_counter() - t_start) / 60
        rows = "\n".join(f"| {title} | `{cmd}` | {look} |" for title, cmd, look, _ in steps)
        readme = guard.path("README.md")
        text = RESULTS_README.format(out=out, minutes=total, seed=seed, rows=rows)
        atomic_write(readme, text + _metrics_table(out) + _app_text(out, lib))
        typer.secho(f"\ndemo finished in {total:.1f} min: open {readme}", fg=typer.colors.GREEN)


def _demo_simulation(steps: list, out: Path, lib: Path, seed: int) -> None:
    """Render views per microscope and two small training sets (Epi1 and Conf1)."""
    s = str(seed)
    _step(steps, "render three views per microscope",
          ["simulate", str(lib), "-o", str(out / "simulated"), "--preset", "Conf1",
           "--preset", "Conf2", "--preset", "Epi1", "--views", "0,x90,y90", "--seed", s],
          "simulated/contact_sheet_<preset>.png, simulated/<id>/")  # fmt: skip
    for name, preset, n, k in (("train_epi1", "Epi1", 48, 0), ("test_epi1", "Epi1", 12, 1),
                               ("test_conf1", "Conf1", 12, 2)):  # fmt: skip
        _step(steps, f"synthetic dataset {name}",
              ["dataset", str(lib), "-o", str(out / name), "--preset", preset, "--n", str(n),
               "--size", "128", "--objects", "1-6", "--seed", str(seed * 10 + k)],
              f"{name}/contact_sheet.png, {name}/images, masks, instances")  # fmt: skip


def _metrics_table(out: Path) -> str:
    """Markdown table of the demo's test metrics, read back from the evaluate summaries."""
    import csv

    lines = [
        "\n## U-Net trained on synthetic Epi1, tested on held-out synthetic sets\n",
        "Per-image mean +- std; foreground IoU; Betti error |db0| + |db1| (fg 4-, bg "
        "8-connected).\n",
        "| test set | Dice | IoU (fg) | Betti error | F1@0.5 |",
        "|---|---|---|---|---|",
    ]
    for test in ("test_epi1", "test_conf1"):
        path = out / f"metrics_{test}_summary.csv"
        if not path.is_file():
            continue
        with path.open() as f:
            v = {row["metric"]: float(row["value"]) for row in csv.DictReader(f)}
        cells = [f"{v[f'{m}_mean']:.3f} +- {v[f'{m}_std']:.3f}" for m in
                 ("dice", "iou", "betti_error", "f1_50")]  # fmt: skip
        lines.append(f"| {test} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _demo_training(steps: list, out: Path, seed: int, minutes: float) -> None:
    """Train a small U-Net on the Epi1 set; evaluate on held-out Epi1 and on Conf1."""
    run = out / "run_unet"
    _step(steps, "train a U-Net on synthetic Epi1",
          ["train", "--data", str(out / "train_epi1"), "--run-dir", str(run), "--model", "unet",
           "--minutes", f"{minutes:g}", "--max-steps", "400", "--patch-px", "128",
           "--batch-size", "8", "--seed", str(seed)],
          "run_unet/curves.png, run_unet/log.csv, run_unet/config.yaml")  # fmt: skip
    for test in ("test_epi1", "test_conf1"):
        pred = out / f"pred_{test}"
        _step(steps, f"predict {test}",
              ["predict", str(run), str(out / test / "images"), "-o", str(pred)],
              f"pred_{test}/")  # fmt: skip
        _step(steps, f"evaluate on {test}",
              ["evaluate", "--pred", str(pred / "masks"), "--gt", str(out / test / "masks"),
               "-o", str(out / f"metrics_{test}.csv"), "--images", str(out / test / "images"),
               "--figure", str(out / f"predictions_{test}.png")],
              f"predictions_{test}.png, metrics_{test}.csv, metrics_{test}.txt",
              capture=out / f"metrics_{test}.txt")  # fmt: skip


def _demo_interactive(steps: list, out: Path, lib: Path, seed: int, minutes: float) -> None:
    """An interactive probabilistic U-Net, a simulated user, the XM-DL report, the web app."""
    run = out / "run_interactive"
    test = out / "test_epi1"
    _step(steps, "train an interactive probabilistic U-Net on synthetic Epi1",
          ["train", "--data", str(out / "train_epi1"), "--run-dir", str(run), "--model",
           "prob_unet", "--interactive", "--minutes", f"{minutes:g}", "--max-steps", "300",
           "--patch-px", "128", "--batch-size", "4", "--seed", str(seed)],
          "run_interactive_plain/ (its plain stage), run_interactive/curves.png, "
          "run_interactive/config.yaml")  # fmt: skip
    _step(steps, "a simulated user clicks on test_epi1",
          ["clicks", str(run), "--data", str(test), "-o", str(out / "clicks_test_epi1"),
           "--max-clicks", "5", "--clicker", "error", "--clicker", "uncertainty"],
          "clicks_test_epi1/ (IoU per click, mIoU@k, NoC, a curve per clicker)")  # fmt: skip
    _step(steps, "the XM-DL report of the U-Net on test_epi1",
          ["report", str(out / "run_unet"), str(test / "images"), "-o",
           str(out / "report_test_epi1"), "--gt", str(test / "masks")],
          "report_test_epi1/ (one figure per image, summary.png)")  # fmt: skip
    _step(steps, "screenshots of the web app",
          ["serve", "--library", str(lib), "--dataset", str(out / "train_epi1"), "--run",
           str(run), "--images", str(test / "images"), "--screenshots", str(out)],
          "webapp_library.png, _instance.png, _segment.png, _dataset.png")  # fmt: skip
    _demo_napari(steps, out, lib)


def _demo_napari(steps: list, out: Path, lib: Path) -> None:
    """Screenshots of the napari plugin's widgets; skipped (one logged line) without napari or
    a display (the demo under `xvfb-run` has one)."""
    import importlib.util
    import os

    if importlib.util.find_spec("napari") is None or not os.environ.get("DISPLAY"):
        why = "napari is not installed" if importlib.util.find_spec("napari") is None else (
            "no display (run the demo under xvfb-run)")  # fmt: skip
        log.warning("napari screenshots skipped: %s; pip install 'mitoshape[napari]'", why)
        return
    from napari_mitoshape._screenshots import ScreenshotInputs, save_screenshots

    t0 = time.perf_counter()
    image = sorted((out / "test_epi1" / "images").glob("*.tif"))[0]
    typer.secho("\n== screenshots of the napari plugin (in-process)", fg=typer.colors.CYAN)
    save_screenshots(out, ScreenshotInputs(lib, image, out / "run_interactive"))
    look = "napari_segment.png, napari_simulate.png, napari_library.png"
    steps.append(("screenshots of the napari plugin", "(napari_mitoshape, in-process)", look,
                  time.perf_counter() - t0))  # fmt: skip


def _demo_shipped(steps: list, out: Path) -> None:
    """The model that ships with mitoshape on the real image that ships with it (a widefield
    tile of living H9c2 cells, 80 nm pixels; MIT licence, PhySeg's data)."""
    from segtrain import shipped_model

    name = "mito-fluo-2d"
    example = shipped_model(name).folder / "example.png"
    _step(steps, f"segment a real fluorescence image with the shipped model {name}",
          ["report", name, str(example), "-o", str(out / "report_shipped_model"),
           "--pixel-size-nm", "80"],
          "report_shipped_model/ (the image, its mask, the objects in um)")  # fmt: skip


def _app_text(out: Path, lib: Path) -> str:
    """How to open the web app on the demo's own library, dataset and interactive run."""
    cmd = (f"mitoshape serve --library {lib} --dataset {out / 'train_epi1'} --run "
           f"{out / 'run_interactive'} --images {out / 'test_epi1' / 'images'}")  # fmt: skip
    return (
        "\n## The web app on these results\n\n"
        f"```bash\n{cmd}\n```\n\n"
        "The first line it prints is the address to open (127.0.0.1 only; Ctrl-C stops it). "
        "`webapp_*.png` are its pages as the demo saw them: the library, one shape, "
        "segmenting a test image (mask, uncertainty map, suggested clicks) and the dataset.\n"
    )
