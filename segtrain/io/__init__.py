"""segtrain's disk layer: the only segtrain code that reads or writes files."""

from ._demo import train_and_evaluate
from ._files import (
    IMAGE_SUFFIXES,
    LabeledImage,
    list_images,
    read_image,
    read_json,
    read_mask,
    read_pairs_folder,
    read_source,
    read_stack,
    write_tiff,
)
from ._folders import EvaluationResult, evaluate_folders, plot_predictions, predict_folder
from ._quantify import QuantifyResult, plot_comparison, quantify_folder, read_masks
from ._runs import (
    CHECKPOINT_FORMAT,
    load_checkpoint,
    read_train_config,
    read_yaml,
    save_checkpoint,
    write_bench_outputs,
    write_csv,
    write_curves,
    write_log_csv,
    write_run_config,
    write_yaml,
)

__all__ = [
    "CHECKPOINT_FORMAT",
    "EvaluationResult",
    "IMAGE_SUFFIXES",
    "LabeledImage",
    "evaluate_folders",
    "list_images",
    "load_checkpoint",
    "plot_predictions",
    "predict_folder",
    "read_image",
    "read_json",
    "read_mask",
    "read_pairs_folder",
    "read_source",
    "read_stack",
    "read_train_config",
    "save_checkpoint",
    "write_curves",
    "write_bench_outputs",
    "write_csv",
    "write_yaml",
    "read_yaml",
    "QuantifyResult",
    "plot_comparison",
    "quantify_folder",
    "read_masks",
    "write_log_csv",
    "write_run_config",
    "write_tiff",
    "train_and_evaluate",
]
