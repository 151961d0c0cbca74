"""segtrain: train, predict, evaluate and benchmark segmenters and morphology quantifiers.

``import segtrain`` is cheap: torch and the heavy modules load on first use of a name.

Examples
--------
>>> import segtrain
>>> cfg = segtrain.TrainConfig(train=[segtrain.DataSource(path="data/train")],
...                            run_dir="runs/unet", max_steps=200)
>>> run = segtrain.train(cfg)                                         # doctest: +SKIP
>>> segtrain.predict_folder(run, "data/test/images", "out/pred")       # doctest: +SKIP
>>> segtrain.evaluate_folders("out/pred/masks", "data/test/masks").summary  # doctest: +SKIP
"""

from __future__ import annotations

import importlib

# public name -> private module that defines it (loaded lazily).
_EXPORTS = {
    "AugmentConfig": "._config",
    "DataSource": "._config",
    "TrainConfig": "._config",
    "MODELS": "._registry",
    "build_model": "._registry",
    "model_names": "._registry",
    "PatchDataset": "._data",
    "prepare_images": "._data",
    "augment_patch": "._augment",
    "normalize_percentile": "._augment",
    "train": "._train",
    "load_run": "._train",
    "pick_device": "._train",
    "blend_window": "._predict",
    "predict_image": "._predict",
    "predict_stack": "._predict",
    "postprocess_mask": "._predict",
    "predict_folder": ".io._folders",
    "evaluate_folders": ".io._folders",
    "EvaluationResult": ".io._folders",
    "plot_predictions": ".io._folders",
    "plot_prediction_folders": ".io._folders",
    "binary_scores": "._metrics",
    "betti_numbers": "._metrics",
    "betti_error": "._metrics",
    "evaluate_pair": "._metrics",
    "summarize": "._metrics",
    "match_instances": "._instances",
    "InstanceScores": "._instances",
    "BenchConfig": "._bench",
    "run_bench": "._bench",
    "QuantifyParams": "._morphology",
    "quantify_mask": "._morphology",
    "quantify_masks": "._morphology",
    "compare_morphology": "._morphology",
    "min_area_rect": "._morphology",
    "quantify_volume": "._morphology3d",
    "quantify_folder": ".io._quantify",
    "QuantifyResult": ".io._quantify",
    "train_and_evaluate": ".io._demo",
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
