"""simulator: library shapes to physically modelled fluorescence images with exact ground truth.

Never imports torch.
"""

from ._calibrate import CameraCalibration, MeanVariance, calibrate_camera, mean_variance
from ._camera import apply_camera
from ._compare import central_ncc
from ._config import Acquisition, Camera, Labelling, Microscope, Optics
from ._geometry import VIEWS_3DMSL, random_rotation, sample_fluorophores, view_rotation
from ._image import RenderedView, render_view, simulate_instance
from ._presets import CONF1, CONF2, EPI1, PRESETS, get_preset
from ._psf import PsfTable, best_focus_stage_nm, compute_psf, lateral_fwhm_nm, psf_table
from ._render import render_emitters, render_emitters_direct
from ._scene import Scene, SceneConfig, SceneShape, render_scene
from ._sheet import contact_sheet

__all__ = [
    "Acquisition",
    "Camera",
    "CameraCalibration",
    "CONF1",
    "CONF2",
    "EPI1",
    "Labelling",
    "MeanVariance",
    "Microscope",
    "Optics",
    "PRESETS",
    "PsfTable",
    "RenderedView",
    "Scene",
    "SceneConfig",
    "SceneShape",
    "VIEWS_3DMSL",
    "apply_camera",
    "best_focus_stage_nm",
    "calibrate_camera",
    "central_ncc",
    "compute_psf",
    "contact_sheet",
    "get_preset",
    "lateral_fwhm_nm",
    "mean_variance",
    "psf_table",
    "random_rotation",
    "render_emitters",
    "render_emitters_direct",
    "render_scene",
    "render_view",
    "sample_fluorophores",
    "simulate_instance",
    "view_rotation",
]
