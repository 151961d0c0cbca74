"""segtrain: train, predict, evaluate and benchmark segmenters and morphology quantifiers.

Layers: workflows: `_workflow.py` (folders through predict and evaluate),
`_quantify_folders.py` (folders through quantify), `_train.py` (the training loop writing a
run folder), `_run.py` (reading one back), `_round.py` (train then evaluate: a short round),
`_bench.py` (the benchmark grid), `_explain_folders.py` (folders through explain),
`_report_folders.py` (the XM-DL report) and `_interactive_folders.py` (refine, the simulated
user, predict with samples); io: `io/` (a leaf); the rest is compute (arrays and configs in,
arrays, tables and figures out).

``import segtrain`` is cheap: torch and the heavy modules load on first use of a name.

Examples
--------
>>> import segtrain
>>> cfg = segtrain.TrainConfig(train=[segtrain.DataSource(path="data/train")],
...                            run_dir="runs/unet")  # the recipe: segtrain.RECIPE
>>> run = segtrain.train(cfg)                                         # doctest: +SKIP
>>> segtrain.predict_folder(run, "data/test/images", "out/pred")       # doctest: +SKIP
>>> segtrain.evaluate_folders("out/pred/masks", "data/test/masks").summary  # doctest: +SKIP
"""

from __future__ import annotations

import importlib

# public name -> private module that defines it (loaded lazily).
_EXPORTS = {
    # configs and the model registry
    "AugmentConfig": "._augment_config",
    "InferenceConfig": "._inference_config",
    "RefineConfig": "._inference_config",
    "SAMPLES": "._inference_config",
    "TTAMode": "._inference_config",
    "ClickConfig": "._config",
    "DataSource": "._config",
    "TrainConfig": "._config",
    "Recipe": "._config",
    "RECIPE": "._config",
    "RECIPES": "._config",
    "LOSSES": "._losses",
    "MODELS": "._registry",
    "PROBABILISTIC_MODELS": "._registry",
    "ModelName": "._registry",
    "build_model": "._registry",
    "model_names": "._registry",
    # compute
    "Batch": "._data",
    "PatchDataset": "._data",
    "prepare_images": "._data",
    "Holdout": "._holdout",
    "split_holdout": "._holdout",
    "PostprocessChoice": "._validate",
    "choose_postprocess": "._validate",
    "augment_patch": "._augment",
    "normalize_percentile": "._augment",
    "pick_device": "._device",
    "autocast_for": "._device",
    "torch_threads": "._device",
    "blend_window": "._predict",
    "predict_image": "._predict",
    "predict_stack": "._predict",
    "resample_zoom": "._predict",
    "zoom_planes": "._predict",
    "unzoom_probabilities": "._predict",
    "stack_context": "._predict",
    "TTA_MODES": "._inference_config",
    "postprocess_mask": "._predict",
    "Connectivity": "._metrics",
    "EvaluationResult": "._metrics",
    "binary_scores": "._metrics",
    "betti_numbers": "._metrics",
    "betti_error": "._metrics",
    "evaluate_images": "._metrics",
    "evaluate_pair": "._metrics",
    "summarize": "._metrics",
    "match_instances": "._instances",
    "InstanceScores": "._instances",
    "QuantifyParams": "._morphology",
    "quantify_mask": "._morphology",
    "quantify_masks": "._morphology",
    "compare_morphology": "._morphology",
    "min_area_rect": "._morphology",
    "quantify_volume": "._morphology3d",
    "plot_training_curves": "._figures",
    "plot_predictions": "._figures",
    "plot_bench_table": "._figures",
    "plot_fold_change": "._figures",
    "plot_explanation": "._figures",
    "plot_click_curves": "._figures",
    "plot_deletion_curves": "._figures",
    "plot_image_report": "._figures",
    "plot_report_summary": "._figures",
    # explanations (compute)
    "LayerInfo": "._cam",
    "cam_batch": "._cam",
    "default_layers": "._cam",
    "list_layers": "._cam",
    "Explanation": "._explain",
    "cam_tiled": "._explain",
    "explain_image": "._explain",
    "DeletionConfig": "._faithfulness",
    "Faithfulness": "._faithfulness",
    "measure_faithfulness": "._faithfulness",
    "plot_realism": "._realism_figure",
    # realism: a classifier two-sample test of synthetic against real images
    "Crops": "._realism",
    "RealismResult": "._realism",
    "RealismScore": "._realism",
    "region_crops": "._realism",
    "roc_auc": "._realism",
    "two_sample_auc": "._realism",
    "realism_test": "._realism",
    # interaction (compute): clicks, samples, refinement, suggestions, the simulated user
    "Click": "._clicks",
    "parse_click": "._clicks",
    "encode_clicks": "._clicks",
    "Samples": "._sampling",
    "sample_prediction": "._sampling",
    "flip_samples": "._sampling",
    "is_probabilistic": "._sampling",
    "prepare_image": "._sampling",
    "Refinement": "._refine",
    "refine": "._refine",
    "refine_input": "._refine",
    "Suggestion": "._suggest",
    "suggest_clicks": "._suggest",
    "CLICKERS": "._clickers",
    "ClickTrace": "._clickers",
    "next_click": "._clickers",
    "simulate_clicks": "._clickers",
    "UncertaintyScores": "._clickeval",
    "SimulatedUser": "._clickeval",
    "auroc": "._clickeval",
    "iou_curve": "._clickeval",
    "noc": "._clickeval",
    "summarize_traces": "._clickeval",
    "uncertainty_quality": "._clickeval",
    "kl_diag_gaussians": "._models._prob_unet",
    # workflows
    "train": "._train",
    "Run": "._run",
    "load_run": "._weights",
    "read_train_config": "._weights",
    "read_postprocess": ".io",
    "read_split": ".io",
    "predict_folder": "._workflow",
    "evaluate_folders": "._workflow",
    "plot_prediction_folders": "._workflow",
    "quantify_folder": "._quantify_folders",
    "QuantifyResult": "._quantify_folders",
    "train_and_evaluate": "._round",
    "plot_comparison": "._quantify_folders",
    "write_curves": "._workflow",
    "BenchConfig": "._bench_config",
    "run_bench": "._bench",
    "merge_bench": "._bench",
    "ExplainResult": "._explain_folders",
    "ReportResult": "._report_folders",
    "explain_folder": "._explain_folders",
    "report_folder": "._report_folders",
    "run_layers": "._explain_folders",
    "ClicksResult": "._interactive_folders",
    "RefineResult": "._interactive_folders",
    "clicks_folder": "._interactive_folders",
    "refine_image": "._interactive_folders",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'segtrain' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
