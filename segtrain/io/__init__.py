"""segtrain's disk layer, a leaf: read and write images, masks, datasets, run folders, tables and
figures. It imports nothing else of segtrain; it returns plain data and the caller validates."""

from shapelib.io import read_config, write_config, write_ome_zarr, write_tiff

from ._bioimageio_read import ModelFiles, is_model_package, read_model_package
from ._clicks import read_clicks_csv
from ._datasets import (
    LabeledImage,
    UnlabelledImage,
    parse_slice,
    read_pairs_folder,
    read_source,
    read_stack,
    read_unlabelled,
    source_kind,
)
from ._images import (
    IMAGE_DIRS,
    IMAGE_SUFFIXES,
    INSTANCE_DIR,
    MASK_DIRS,
    MaskFile,
    as_mask,
    check_names_match,
    image_folder,
    instance_folder,
    list_images,
    mask_folder,
    read_grey,
    read_image,
    read_instances,
    read_mask,
    read_masks,
    read_scaled_image,
)
from ._page import write_page
from ._runs import (
    CHECKPOINT_FORMAT,
    POSTPROCESS_FILE,
    SPLIT_FILE,
    load_checkpoint,
    read_bench_seeds,
    read_log_csv,
    read_postprocess,
    read_run_config,
    read_split,
    save_checkpoint,
    write_bench_outputs,
    write_csv,
    write_figure,
    write_log_csv,
    write_run_config,
)

# Old names of the one config reader and writer (shapelib.io.read_config / write_config).
read_yaml = read_config
read_json = read_config
write_yaml = write_config

__all__ = [
    "write_page",
    "CHECKPOINT_FORMAT",
    "POSTPROCESS_FILE",
    "SPLIT_FILE",
    "IMAGE_DIRS",
    "IMAGE_SUFFIXES",
    "ModelFiles",
    "INSTANCE_DIR",
    "LabeledImage",
    "UnlabelledImage",
    "MASK_DIRS",
    "MaskFile",
    "as_mask",
    "check_names_match",
    "image_folder",
    "instance_folder",
    "is_model_package",
    "list_images",
    "load_checkpoint",
    "mask_folder",
    "parse_slice",
    "read_grey",
    "read_bench_seeds",
    "read_clicks_csv",
    "read_image",
    "read_instances",
    "read_json",
    "read_log_csv",
    "read_mask",
    "read_model_package",
    "read_masks",
    "read_pairs_folder",
    "read_postprocess",
    "read_run_config",
    "read_scaled_image",
    "read_source",
    "read_split",
    "read_stack",
    "read_unlabelled",
    "source_kind",
    "read_yaml",
    "save_checkpoint",
    "write_bench_outputs",
    "write_csv",
    "write_figure",
    "write_log_csv",
    "write_run_config",
    "write_tiff",
    "write_ome_zarr",
    "write_yaml",
]
