"""Simulator speed and fidelity: images per second, fast vs direct per-emitter sum, NCC against
the released 3DMSL images, bead PSF widths, and camera calibration on a real image.

Run: .venv/bin/python benchmarks/bench_simulate.py   (about 2 minutes on 2 cores)
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import tifffile

from simulator import (
    CONF1,
    CONF2,
    EPI1,
    VIEWS_3DMSL,
    Acquisition,
    Labelling,
    Optics,
    SceneConfig,
    apply_camera,
    calibrate_camera,
    central_ncc,
    compare_bead_psf,
    mean_variance,
    render_emitters,
    render_emitters_direct,
    render_scene,
    sample_fluorophores,
    simulate_shape,
    view_rotation,
    with_noise_mode,
)
from simulator._geometry import auto_focal_depth_nm, mesh_radius_nm, place
from simulator.io import read_shapes

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DENSITY_3DMSL = 2566.0  # emitters per um^2 of the published code (30 nm spacing)


def timed(fn, repeat=1):
    t = time.perf_counter()
    for _ in range(repeat):
        out = fn()
    return out, (time.perf_counter() - t) / repeat


def bench_views(shape):
    print("## images per second, 128x128 views of released instance 1 (six views per call)")
    for mic in (EPI1, CONF1):
        for density in (mic.labelling.density_per_um2, DENSITY_3DMSL):
            m = mic.model_copy(update={"labelling": Labelling(density_per_um2=density)})
            simulate_shape(shape.mesh, m, rng=0)  # warm the PSF tables
            _, dt = timed(lambda m=m: simulate_shape(shape.mesh, m, rng=1), repeat=2)
            print(f"{mic.name:6s} density {density:6.0f}/um^2: {6 / dt:6.1f} images/s "
                  f"({dt / 6 * 1000:.0f} ms per image, one process)")  # fmt: skip


def bench_direct(shape):
    print("## fast (depth-binned FFT) vs direct per-emitter per-pixel sum, same emitters")
    for mic in (EPI1, CONF1):
        o = mic.optics
        em = sample_fluorophores(shape.mesh, Labelling(density_per_um2=DENSITY_3DMSL), rng=0)
        focal = auto_focal_depth_nm(mesh_radius_nm(shape.mesh))
        half = 128 * o.pixel_size_nm / 2
        xyz = place(em, view_rotation("x90"), shape.mesh.centroid, offset_nm=(half, half, focal))
        w = np.full(len(xyz), 200.0)
        render_emitters(xyz, w, o, size_px=128, focal_depths_nm=(focal,))  # warm tables
        render_emitters_direct(xyz[:2], w[:2], o, size_px=8, focal_depth_nm=focal)  # compile
        fast, t_fast = timed(
            lambda o=o, xyz=xyz, w=w, f=focal: render_emitters(
                xyz, w, o, size_px=128, focal_depths_nm=(f,))[0], repeat=3)  # fmt: skip
        direct, t_direct = timed(
            lambda o=o, xyz=xyz, w=w, f=focal: render_emitters_direct(
                xyz, w, o, size_px=128, focal_depth_nm=f))  # fmt: skip
        err = np.abs(fast - direct).max() / direct.max()
        print(f"{mic.name:6s} {len(xyz)} emitters: fast {t_fast * 1000:.0f} ms, direct "
              f"{t_direct * 1000:.0f} ms -> {t_direct / t_fast:.0f}x faster; max |diff| = "
              f"{100 * err:.2f}% of peak, sum ratio {fast.sum() / direct.sum():.4f}")  # fmt: skip


def bench_scenes(shapes):
    print("## 256x256 Epi1 scenes of 5 objects (instances 1 and 920)")
    cfg = SceneConfig(acquisition=Acquisition(size_px=256), objects=(5, 5), allow_overlap=False)
    render_scene(shapes, EPI1, cfg, rng=0)
    _, dt = timed(lambda: render_scene(shapes, EPI1, cfg, rng=1), repeat=3)
    print(f"Epi1 scenes: {1 / dt:.2f} images/s ({dt * 1000:.0f} ms per image, one process)")


def bench_ncc(shape1, shape920):
    print("## NCC, central 48x48, our Conf2 views vs released Conf2 images of instance 1")
    folder = DATA / "3dmsl_samples" / "1"
    refs = {v: tifffile.imread(folder / "Conf2_imgs" / f"0_1_{v}.tif") for v in VIEWS_3DMSL}
    ours = simulate_shape(shape1.mesh, CONF2, rng=0)
    noisy = simulate_shape(shape1.mesh, with_noise_mode(CONF2, "3dmsl"), rng=0)
    other = simulate_shape(shape920.mesh, CONF2, rng=0)
    rows = {
        "ours, noise-free": [central_ncc(ours[v].expected, refs[v]) for v in VIEWS_3DMSL],
        "ours, physical camera": [central_ncc(ours[v].image, refs[v]) for v in VIEWS_3DMSL],
        "ours, 3dmsl noise": [central_ncc(noisy[v].image, refs[v]) for v in VIEWS_3DMSL],
        "instance 920 (control)": [central_ncc(other[v].expected, refs[v]) for v in VIEWS_3DMSL],
    }
    print("views:", ", ".join(VIEWS_3DMSL))
    for k, v in rows.items():
        print(f"{k:24s} " + " ".join(f"{x:5.2f}" for x in v) + f"  mean {np.mean(v):.2f}")


def bench_bead():
    print("## measured bead (520 nm, NA 0.85 air, 130 nm px, 300 nm z) vs our PSF")
    bead = tifffile.imread(DATA / "psf" / "psf_wl520nm_z300nm_x130nm_na0.85_n1.0.tif")
    o = Optics(emission_wavelength_nm=520, NA=0.85, immersion_index=1.0, sample_index=1.0,
               pixel_size_nm=130)  # fmt: skip
    c = compare_bead_psf(bead, o, z_step_nm=300)
    print(f"lateral FWHM: bead {c.lateral_bead_nm:.0f} nm, ours {c.lateral_model_nm:.0f} nm, "
          f"ratio ours/bead {c.lateral_ratio:.2f}")  # fmt: skip
    print(f"axial FWHM:   bead {c.axial_bead_nm:.0f} nm, ours {c.axial_model_nm:.0f} nm, "
          f"ratio ours/bead {c.axial_ratio:.2f}")  # fmt: skip


def bench_calibration():
    print("## camera calibration from one real image (mcc13_human_mito_80nm.tif)")
    from scipy.ndimage import gaussian_filter

    real = tifffile.imread(DATA / "fluorescence" / "mcc13_human_mito_80nm.tif")
    fit = calibrate_camera(real)
    c = fit.camera
    print(f"fit: gain {c.gain_adu_per_e:.3f} ADU/e-, offset {c.offset_adu:.1f} ADU, read noise "
          f"{c.read_noise_e:.2f} e-")  # fmt: skip
    dev = fit.relative_residuals
    print("real curve (mean ADU: variance ADU^2, model/real-1):")
    pts = zip(fit.curve.mean_adu, fit.curve.variance_adu2, dev, strict=True)
    print("  " + "; ".join(f"{m:.0f}: {v:.1f} ({d:+.2f})" for m, v, d in pts))
    print(f"model within 10% of the real curve in {np.mean(np.abs(dev) < 0.1) * 100:.0f}% of "
          f"bins (worst {np.abs(dev).max():.2f})")  # fmt: skip
    # synthetic: the real image smoothed as the noise-free truth, then our fitted camera
    truth = np.clip((gaussian_filter(real.astype(float), 2) - c.offset_adu)
                    / (c.gain_adu_per_e * c.quantum_efficiency), 0, None)  # fmt: skip
    syn = mean_variance(apply_camera(truth, c, rng=0), patch_px=16)
    ratio = syn.variance_adu2 / np.interp(syn.mean_adu, fit.curve.mean_adu, fit.curve.variance_adu2)
    print(
        f"synthetic/real variance at equal mean: {np.round(ratio, 2).tolist()}; "
        f"within 10% in {np.mean(np.abs(ratio - 1) < 0.1) * 100:.0f}% of bins"
    )


def main():
    (shape1,) = read_shapes(DATA / "3dmsl_samples" / "1")
    (shape920,) = read_shapes(DATA / "3dmsl_samples" / "920")
    bench_views(shape1)
    bench_direct(shape1)
    bench_scenes([shape1, shape920])
    bench_ncc(shape1, shape920)
    bench_bead()
    bench_calibration()


if __name__ == "__main__":
    main()
