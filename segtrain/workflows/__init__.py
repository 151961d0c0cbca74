"""Workflows: files through the compute of the other sub-packages, reading and writing through
`segtrain.io`. A trained run opened once (`Run`, with where its weights come from), training
(the stages, where it starts, the run folder), and the folders through predict, evaluate,
quantify, refine, the simulated user, explain, the report, a short round and the bench grid;
the models that ship with mitoshape (`shipped_models`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._exports import attach

if TYPE_CHECKING:  # the public names, loaded on first use (segtrain._exports)
    from ._bench import merge_bench, run_bench
    from ._explain import ExplainResult, explain_folder, run_layers
    from ._export import export_bioimageio
    from ._interactive import ClicksResult, RefineResult, clicks_folder, refine_image
    from ._package import ForeignRun, open_run
    from ._predict import evaluate_folders, plot_prediction_folders, predict_folder, write_curves
    from ._quantify import QuantifyResult, plot_comparison, quantify_folder
    from ._report import ReportResult, report_folder
    from ._round import train_and_evaluate
    from ._run import Run
    from ._shipped import ShippedModel, shipped_model, shipped_models
    from ._sim2real import Sim2RealConfig, sim2real
    from ._train import train
    from ._weights import load_run, read_train_config

__getattr__, __dir__, __all__ = attach(__name__, __file__)
