"""Shape forms on phantoms: accuracy against closed forms, and time per build_shape step.

Run: .venv/bin/python benchmarks/bench_shape_forms.py
"""

from __future__ import annotations

import time

import numpy as np

from shapelib import Instance, build_shape
from shapelib import phantoms as ph


def accuracy_table() -> None:
    rows = [
        ("ellipsoid 250x180x150 nm, 20 nm voxels", ph.ellipsoid(voxel_size_nm=20)),
        ("capsule 2000 x r150 nm, 20 nm", ph.capsule(2000, 150, voxel_size_nm=20)),
        ("capsule bent 120 deg, 20 nm", ph.capsule(3000, 150, voxel_size_nm=20, bend_deg=120)),
        ("torus R600 r150 nm, 20 nm", ph.torus(voxel_size_nm=20)),
        ("branched tube 3 arms, 20 nm", ph.branched_tube(voxel_size_nm=20)),
        ("mega 12 um x r300 nm, 30 nm", ph.mega()),
        ("nano-tunnel 32 um x r75 nm, 30 nm", ph.nano_tunnel()),
    ]
    print("| phantom | voxels | volume err | area err | genus (truth) | skeleton / axis "
          "| class (expected) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for name, p in rows:
        s = build_shape(Instance(1, p.mask, (0, 0, 0), p.voxel_size_nm), rng=0)
        m = s.measurements
        if p.skeleton_length_nm:
            sk = f"{m['skeleton_length_um'] * 1000 / p.skeleton_length_nm:.3f}"
        else:
            sk = f"{m['skeleton_length_um']:.2f} um"
        vol_err = m["mesh_volume_um3"] * 1e9 / p.volume_nm3 - 1
        print(
            f"| {name} | {int(p.mask.sum())} | {vol_err:+.1%} "
            f"| {m['surface_area_um2'] * 1e6 / p.surface_area_nm2 - 1:+.1%} "
            f"| {m['genus']} ({p.genus}) | {sk} | {s.shape_class} ({p.expected_class}) |"
        )


def timing(n_objects: int = 60) -> None:
    from scipy import ndimage
    from skimage.measure import marching_cubes

    vol = ph.phantom_volume(n_objects, voxel_size_nm=30, rng=0)
    build_shape(Instance(1, np.ones((3, 3, 3), bool), (0, 0, 0), vol.voxel_size_nm))  # warm-up
    steps: dict[str, float] = {}
    total = bare = 0.0
    for i, sl in enumerate(ndimage.find_objects(vol.labels)):
        mask = vol.labels[sl] == i + 1
        t0 = time.perf_counter()
        marching_cubes(np.pad(mask, 1).astype(np.float32), 0.5, spacing=vol.voxel_size_nm)
        bare += time.perf_counter() - t0
        inst = Instance(i + 1, mask, tuple(s.start for s in sl), vol.voxel_size_nm)
        t0 = time.perf_counter()
        s = build_shape(inst, rng=i)
        total += time.perf_counter() - t0
        for k, v in s.timings_s.items():
            steps[k] = steps.get(k, 0.0) + v
    n = len(vol.objects)
    per = ", ".join(f"{k} {1000 * v / n:.0f}" for k, v in steps.items())
    print(f"\nphantom_volume({n_objects}, 30 nm): build_shape {1000 * total / n:.0f} ms/instance "
          f"({per} ms); bare marching cubes {1000 * bare / n:.1f} ms/instance; "
          f"ratio {total / bare:.1f}")  # fmt: skip


if __name__ == "__main__":
    accuracy_table()
    timing()
