"""Simulator speed and fidelity: images per second, fast vs direct per-emitter sum, NCC against
the released 3DMSL images, bead PSF widths and the bead fit (calibrate_psf), and camera
calibration on a real image.

Run alone: .venv/bin/python benchmarks/bench_simulate.py   (about 6 minutes on 2 cores)
Sections: --only views,direct,scenes,ncc,bead,camera (default: all).
The 10,000-image dataset is timed by benchmarks/bench_dataset.py, realism by bench_realism.py.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import tifffile

from simulator import (
    CONF1,
    CONF2,
    EPI1,
    VIEWS_3DMSL,
    Aberrations,
    Acquisition,
    CellSceneConfig,
    Labelling,
    Optics,
    SceneConfig,
    apply_camera,
    calibrate_camera,
    calibrate_psf,
    central_ncc,
    compare_bead_psf,
    mean_variance,
    render_cell_scene,
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
    astig = EPI1.optics.model_copy(
        update={"aberrations": Aberrations(astigmatism_0_nm=40, coma_x_nm=20, spherical_nm=30)}
    )
    aberrated = EPI1.model_copy(update={"name": "Epi1+aberrations", "optics": astig})
    for mic in (EPI1, CONF1, aberrated):
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


def _timers(module, names):
    """Wrap functions of a module to add their CPU time to a dict (for a breakdown)."""
    spent = {}
    for name in names:
        fn = getattr(module, name)

        def wrapped(*a, _fn=fn, _name=name, **k):
            t = time.process_time()
            try:
                return _fn(*a, **k)
            finally:
                spent[_name] = spent.get(_name, 0.0) + time.process_time() - t

        setattr(module, name, wrapped)
    return spent


def bench_scenes(shapes, n=20):
    import simulator._cell as cell_mod
    import simulator._scene as scene_mod

    print(f"## 256x256 Epi1 scenes of 5 objects (instances 1 and 920), {n} scenes after 8 warm-up")
    cfg = SceneConfig(acquisition=Acquisition(size_px=256), objects=(5, 5), allow_overlap=False)
    for k in range(8):
        render_scene(shapes, EPI1, cfg, rng=k)  # PSF tables, kernels, ray structures, numba
    names = ("truth_masks", "sample_fluorophores", "render_emitters", "apply_camera")
    spent = _timers(scene_mod, names)
    t, c = time.perf_counter(), time.process_time()
    for k in range(8, 8 + n):
        render_scene(shapes, EPI1, cfg, rng=k)
    wall, cpu = (time.perf_counter() - t) / n, (time.process_time() - c) / n
    parts = ", ".join(f"{k} {1000 * v / n:.0f}" for k, v in spent.items())
    print(f"Epi1 scenes: {1000 * wall:.0f} ms wall, {1000 * cpu:.0f} ms CPU per image (target "
          f"<= 150 ms; one process); CPU ms per image: {parts}")  # fmt: skip
    # cell-like scenes at the MCC13 image's sampling (80 nm, 608 nm emission)
    o80 = EPI1.optics.model_copy(update={"pixel_size_nm": 80.0, "emission_wavelength_nm": 608.0})
    mic80 = EPI1.model_copy(update={"name": "Epi1-80nm", "optics": o80})
    cells = CellSceneConfig(acquisition=Acquisition(size_px=256), objects=(30, 60))
    for k in range(3):
        render_cell_scene(shapes[:1], mic80, cells, rng=k)
    # the cell plan is timed in its module; rendering and camera where both scene kinds call
    # them (simulator._scene.image_scene), with the counts of the scenes above cleared
    spent.clear()
    plan = _timers(cell_mod, ("plan_cell_scene",))
    m = max(4, n // 4)
    t, c = time.perf_counter(), time.process_time()
    for k in range(3, 3 + m):
        render_cell_scene(shapes[:1], mic80, cells, rng=k)
    wall, cpu = (time.perf_counter() - t) / m, (time.process_time() - c) / m
    both = {**plan, **{k: spent.get(k, 0.0) for k in ("render_emitters", "apply_camera")}}
    parts = ", ".join(f"{k} {1000 * v / m:.0f}" for k, v in both.items())
    print(f"cell scenes (30-60 objects of instance 1, 80 nm): {1000 * wall:.0f} ms wall, "
          f"{1000 * cpu:.0f} ms CPU per image; CPU ms: {parts}")  # fmt: skip


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
    print(f"ideal PSF: lateral FWHM bead {c.lateral_bead_nm:.0f} nm, ours {c.lateral_model_nm:.0f}"
          f" nm ({c.lateral_ratio:.2f}); axial bead {c.axial_bead_nm:.0f} nm, ours "
          f"{c.axial_model_nm:.0f} nm ({c.axial_ratio:.2f})")  # fmt: skip
    t = time.perf_counter()
    fit = calibrate_psf(bead, o, z_step_nm=300)
    dt = time.perf_counter() - t
    ab = ", ".join(f"{k} {v:+.1f}" for k, v in fit.optics.aberrations.terms.items())
    m, f, p = fit.measured, fit.fitted, fit.psf
    print(f"calibrate_psf ({dt:.0f} s): NA {fit.optics.NA:.3f}, bead diameter "
          f"{fit.bead_diameter_nm:.0f} nm, aberrations nm RMS: {ab}")  # fmt: skip
    for what, bw, fw, pw in (("lateral", m.lateral_nm, f.lateral_nm, p.lateral_nm),
                             ("axial", m.axial_nm, f.axial_nm, p.axial_nm)):  # fmt: skip
        print(f"  {what} FWHM: bead {bw:.0f}, model {fw:.0f} ({fw / bw:.3f}x), fitted PSF alone "
              f"{pw:.0f} nm")  # fmt: skip
    print(f"  normalised residual ||bead - model|| / ||bead - background|| = {fit.residual:.3f}")


def bench_calibration():
    print("## camera calibration from one real image (mcc13_human_mito_80nm.tif)")
    from scipy.ndimage import gaussian_filter

    real = tifffile.imread(DATA / "fluorescence" / "mcc13_human_mito_80nm.tif")
    for model in ("poisson-gaussian", "extended"):
        fit = calibrate_camera(real, model=model)
        c, cf, dev = fit.camera, fit.curve_fit, fit.relative_residuals
        print(f"{model}: curve gain {cf['gain']:.3f} ADU/e-, knee at {cf['offset']:.1f} ADU "
              f"(width {cf['knee_width']:.2f}), read variance {cf['read_variance']:.2f} ADU^2, "
              f"subtracted {cf['delta']:.2f} ADU")  # fmt: skip
        print(f"  model within 10% of the real curve in {int(np.sum(np.abs(dev) < 0.1))} of "
              f"{len(dev)} bins (worst {np.abs(dev).max():.3f})")  # fmt: skip
        print(f"  camera: gain {c.gain_adu_per_e:.3f}, read {c.read_noise_e:.2f} e-, offset "
              f"{c.offset_adu:.1f}, offset field {c.offset_field_std_adu:.2f} ADU over "
              f"{c.offset_field_scale_px:.0f} px, rows {c.row_offset_std_adu:.2f}, columns "
              f"{c.column_offset_std_adu:.2f} ADU, subtracted "
              f"{c.subtracted_background_e:.2f} e-")  # fmt: skip
    pts = zip(fit.curve.mean_adu, fit.curve.variance_adu2, dev, strict=True)
    print(
        "  real curve (mean ADU: variance ADU^2, extended model/real-1): "
        + "; ".join(f"{m:.0f}: {v:.1f} ({d:+.3f})" for m, v, d in pts)
    )
    # synthetic: the real image smoothed as the noise-free truth, then the fitted camera
    truth = np.clip((gaussian_filter(real.astype(float), 2) - c.offset_adu)
                    / (c.gain_adu_per_e * c.quantum_efficiency), 0, None)  # fmt: skip
    syn = mean_variance(apply_camera(truth, c, rng=0), patch_px=16)
    ratio = syn.variance_adu2 / np.interp(syn.mean_adu, fit.curve.mean_adu, fit.curve.variance_adu2)
    print(f"  synthetic (smoothed real as truth, extended camera)/real variance at equal mean: "
          f"{np.round(ratio, 2).tolist()}; within 10% in {int(np.sum(np.abs(ratio - 1) < 0.1))} "
          f"of {len(ratio)} bins")  # fmt: skip


def main(argv=None):
    ap = argparse.ArgumentParser(description="simulator speed and fidelity")
    ap.add_argument("--only", default="views,direct,scenes,ncc,bead,camera")
    ap.add_argument("--scenes", type=int, default=20, help="timed scenes")
    which = set(ap.parse_args(argv).only.split(","))
    args = ap.parse_args(argv)
    (shape1,) = read_shapes(DATA / "3dmsl_samples" / "1")
    (shape920,) = read_shapes(DATA / "3dmsl_samples" / "920")
    if "views" in which:
        bench_views(shape1)
    if "direct" in which:
        bench_direct(shape1)
    if "scenes" in which:
        bench_scenes([shape1, shape920], n=args.scenes)
    if "ncc" in which:
        bench_ncc(shape1, shape920)
    if "bead" in which:
        bench_bead()
    if "camera" in which:
        bench_calibration()


if __name__ == "__main__":
    main()
