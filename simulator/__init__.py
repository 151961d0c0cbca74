"""simulator: library shapes to physically modelled fluorescence images with exact ground truth.

Layers: compute (``_config``, ``_presets``, ``_geometry``, ``_seeds``, ``_aberration``,
``_psf``, ``_render``, ``_spread``, ``_direct``, ``_truth``, ``_camera``, ``_calibrate``,
``_beadmodel``, ``_beadfit``, ``_image``, ``_scene``, ``_cell``, ``_cellgeom``, ``_network``,
``_tubes``, ``_variation``, ``_fit_stats``, ``_fit``, ``_fit_figure``, ``_sheet``,
``_compare``, ``_widths``, ``_blas``: arrays and configs in, arrays and dataclasses out) and
io (``io``: library shapes, real images and configs in, PNG and output folders out, over
shapelib.io's TIFF and config owners) sit below the one workflow, ``_batch``
(``write_simulations``, ``write_dataset``: renders to folders on all cores).
Compute never imports io; io never imports the workflow.

Never imports torch.
"""

from ._batch import write_dataset, write_simulations
from ._beadfit import BeadWidths, PsfCalibration, calibrate_psf
from ._calibrate import CameraCalibration, MeanVariance, calibrate_camera, mean_variance
from ._camera import apply_camera
from ._cell import CellPlan, plan_cell_scene, render_cell_scene
from ._cell_config import CellSceneConfig
from ._compare import BeadComparison, central_ncc, compare_bead_psf
from ._config import (
    Aberrations,
    Acquisition,
    Camera,
    Labelling,
    Microscope,
    Optics,
    PhysicalCamera,
    ThreeDMSLCamera,
    with_noise_mode,
)
from ._fit import FitConfig, SceneFit, fit_scene
from ._fit_figure import fit_figure
from ._fit_stats import FieldStats, classical_mask, field_stats
from ._geometry import VIEWS_3DMSL, random_rotation, sample_fluorophores, view_rotation
from ._image import RenderedView, render_view, simulate_instance, simulate_shape
from ._network import Network, Region, Tubule, TubuleConfig, grow_network
from ._presets import CONF1, CONF2, EPI1, PRESETS, get_preset
from ._psf import PsfTable, best_focus_stage_nm, lateral_fwhm_nm, psf_table
from ._psf_stack import compute_psf
from ._render import render_emitters, render_emitters_direct
from ._scene import Scene, SceneConfig, SceneShape, render_scene
from ._seeds import name_key
from ._sheet import contact_sheet
from ._variation import Export, Randomize, export_image

__all__ = [
    "Aberrations",
    "Acquisition",
    "BeadComparison",
    "BeadWidths",
    "Camera",
    "CameraCalibration",
    "CellPlan",
    "CellSceneConfig",
    "CONF1",
    "CONF2",
    "EPI1",
    "Export",
    "FieldStats",
    "FitConfig",
    "Labelling",
    "MeanVariance",
    "Microscope",
    "Network",
    "Optics",
    "PhysicalCamera",
    "PRESETS",
    "PsfCalibration",
    "PsfTable",
    "Randomize",
    "Region",
    "RenderedView",
    "Scene",
    "SceneFit",
    "SceneConfig",
    "SceneShape",
    "ThreeDMSLCamera",
    "Tubule",
    "TubuleConfig",
    "VIEWS_3DMSL",
    "apply_camera",
    "best_focus_stage_nm",
    "calibrate_camera",
    "calibrate_psf",
    "classical_mask",
    "central_ncc",
    "compare_bead_psf",
    "compute_psf",
    "contact_sheet",
    "export_image",
    "field_stats",
    "fit_figure",
    "fit_scene",
    "get_preset",
    "grow_network",
    "lateral_fwhm_nm",
    "mean_variance",
    "name_key",
    "plan_cell_scene",
    "psf_table",
    "random_rotation",
    "render_emitters",
    "render_emitters_direct",
    "render_cell_scene",
    "render_scene",
    "render_view",
    "sample_fluorophores",
    "simulate_instance",
    "simulate_shape",
    "view_rotation",
    "with_noise_mode",
    "write_dataset",
    "write_simulations",
]
