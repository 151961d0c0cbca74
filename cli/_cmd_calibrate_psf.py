"""`mitoshape calibrate-psf`: fit the simulator's optics to a measured bead stack."""

from __future__ import annotations

from pathlib import Path

import typer

from ._progress import progress_bar

_TERM_GROUPS = {
    "spherical": ("spherical_nm",),
    "astigmatism": ("astigmatism_0_nm", "astigmatism_45_nm"),
    "coma": ("coma_x_nm", "coma_y_nm"),
}


def _parse_terms(text: str) -> tuple[str, ...]:
    from shapelib import InputError

    words = [w.strip().lower() for w in text.split(",") if w.strip()]
    if words in (["all"], []):
        return tuple(t for group in _TERM_GROUPS.values() for t in group)
    if words == ["none"]:
        return ()
    unknown = [w for w in words if w not in _TERM_GROUPS]
    if unknown:
        raise InputError(
            f"--terms must be all, none, or a list of {', '.join(_TERM_GROUPS)}; got {text!r}."
        )
    return tuple(t for w in words for t in _TERM_GROUPS[w])


def register(app: typer.Typer) -> None:
    @app.command("calibrate-psf")
    def calibrate_psf_cmd(
        bead: Path = typer.Argument(..., help="z-stack TIFF of one bead (raw counts)"),
        out: Path = typer.Option(..., "-o", "--out", help="microscope YAML to write (--config)"),
        wavelength_nm: float = typer.Option(..., "--wavelength-nm", help="emission, nm"),
        na: float = typer.Option(..., "--na", help="nominal NA of the objective"),
        immersion_index: float = typer.Option(1.515, "--immersion-index", help="immersion n"),
        sample_index: float | None = typer.Option(
            None, "--sample-index", help="n around the bead (default: the immersion's)"
        ),
        pixel_size_nm: float | None = typer.Option(
            None, "--pixel-size-nm", help="default: from the TIFF"
        ),
        z_step_nm: float | None = typer.Option(None, "--z-step-nm", help="default: from the TIFF"),
        depth_nm: float = typer.Option(0.0, "--depth-nm", help="bead depth below the coverslip"),
        window_px: int = typer.Option(12, "--window-px", help="half-side of the fitted window"),
        terms: str = typer.Option(
            "all", "--terms", help="aberrations to fit: all, none, or spherical,astigmatism,coma"
        ),
        name: str | None = typer.Option(None, "--name", help="microscope name (default: file)"),
        overwrite: bool = typer.Option(False, "--overwrite"),
    ) -> None:
        """Fit NA, Zernike aberrations and bead size to a bead stack; write a microscope YAML.

        Beside OUT: <name>_model.tif (the fitted model on the bead's grid) and <name>_fit.yaml
        (fitted values, measured and fitted FWHM, residual).
        """
        from shapelib import InputError
        from shapelib.io import claim_output_file, read_tiff, write_config, write_tiff
        from simulator import Microscope, Optics, calibrate_psf

        img = read_tiff(bead)
        px = pixel_size_nm or (img.pixel_size_nm[1] if img.pixel_size_nm else None)
        dz = z_step_nm or img.z_step_nm
        if px is None or dz is None:
            missing = [n for n, v in (("--pixel-size-nm", px), ("--z-step-nm", dz)) if v is None]
            raise InputError(
                f"{bead} does not say its pixel size and z step (ImageJ metadata); pass "
                f"{' and '.join(missing)}."
            )
        optics = Optics(
            modality="widefield",
            emission_wavelength_nm=wavelength_nm,
            NA=na,
            immersion_index=immersion_index,
            sample_index=sample_index if sample_index is not None else immersion_index,
            pixel_size_nm=px,
        )
        stem = out.stem
        model_path = out.with_name(f"{stem}_model.tif")
        report_path = out.with_name(f"{stem}_fit.yaml")
        for path in (out, model_path, report_path):
            claim_output_file(path, inputs=[bead], overwrite=overwrite)
        with progress_bar("fitting the bead", 3) as bar:
            fit = calibrate_psf(img.data, optics, z_step_nm=dz, depth_nm=depth_nm,
                                window_px=window_px, aberrations=_parse_terms(terms),
                                progress=bar.update)  # fmt: skip
        mic = Microscope(name=name or stem, optics=fit.optics)
        write_config(out, mic)
        write_tiff(model_path, fit.model, pixel_size_nm=px, z_step_nm=dz)
        write_config(report_path, {"bead": str(bead), **fit.summary()})
        for note in fit.notes:
            typer.echo(note)
        ab = ", ".join(f"{k} {v:+.1f}" for k, v in fit.optics.aberrations.terms.items())
        typer.echo(f"NA {fit.optics.NA:.3f}, bead diameter {fit.bead_diameter_nm:.0f} nm, "
                   f"aberrations (nm RMS): {ab or 'none'}")  # fmt: skip
        m, f, p = fit.measured, fit.fitted, fit.psf
        typer.echo(f"lateral FWHM: bead {m.lateral_nm:.0f} nm, model {f.lateral_nm:.0f} nm "
                   f"({f.lateral_nm / m.lateral_nm:.2f}x), PSF {p.lateral_nm:.0f} nm")  # fmt: skip
        typer.echo(f"axial FWHM:   bead {m.axial_nm:.0f} nm, model {f.axial_nm:.0f} nm "
                   f"({f.axial_nm / m.axial_nm:.2f}x), PSF {p.axial_nm:.0f} nm")  # fmt: skip
        typer.echo(f"normalised residual {fit.residual:.3f} -> {out}, {model_path.name}, "
                   f"{report_path.name}")  # fmt: skip
