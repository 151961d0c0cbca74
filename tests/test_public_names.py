"""Every public name the packages listed in ``__all__`` (as of the segtrain house move: the Run
object, sub-packages by idea) is still importable: a rename or a move must keep the old name
working. New names may come; none of these may go."""

from __future__ import annotations

import importlib

import pytest

# package -> the names of its ``__all__`` when this list was taken (space-separated).
PUBLIC = {
    "shapelib": """
        ClassThresholds ExtractParams FileName InputError Instance LibrarySummary
        MitoshapeError Occupancy PointCloud SHAPE_CLASSES Shape ShapeParams Skeleton
        TaskRunner as_grey_image as_spacing_nm build_shape check_array_size
        check_file_name classify_mesh classify_shape extract_instances extract_library
        library_gallery library_summary mesh_genus mesh_instance noisy_view
        points_inside random_rotation read_instance read_shape rotate_points
        sample_occupancy sample_pointcloud skeletonize_mask voxelize_mesh write_shape
        xyz_to_zyx zyx_to_xyz
    """,
    "shapelib.io": """
        DiskFullError LazyVolume MANIFEST_FILE OutputExistsError OutputFolder RELEASED_VOXEL_SIZE_NM
        TIFF_SUFFIXES TiffImage Volume atomic_path atomic_write check_label_volume
        check_output_files check_output_folder claim_output_file claim_output_files
        is_complete open_output_folder open_volume read_config read_instance
        read_library_table read_manifest read_mesh read_meta read_shape read_tiff
        read_volume save_figure to_plain write_config write_shape write_tiff
        write_volume
    """,
    "shapelib.phantoms": """
        DEFAULT_KIND_WEIGHTS Phantom PhantomVolume branched_tube capsule ellipsoid mega
        nano_tunnel phantom_volume random_rotation torus
    """,
    "simulator": """
        Aberrations Acquisition BeadComparison BeadWidths CONF1 CONF2 Camera
        CameraCalibration CellPlan CellSceneConfig EPI1 Labelling MeanVariance
        Microscope Optics PRESETS PhysicalCamera PsfCalibration PsfTable RenderedView
        Scene SceneConfig SceneShape ThreeDMSLCamera VIEWS_3DMSL apply_camera
        best_focus_stage_nm calibrate_camera calibrate_psf central_ncc compare_bead_psf
        compute_psf contact_sheet get_preset lateral_fwhm_nm mean_variance name_key
        plan_cell_scene psf_table random_rotation render_cell_scene render_emitters
        render_emitters_direct render_scene render_view sample_fluorophores
        simulate_instance simulate_shape view_rotation with_noise_mode write_dataset
        write_simulations
    """,
    "simulator.io": """
        microscope_from prepare_out read_camera read_config read_image read_microscope
        read_shapes read_tiff with_noise_mode write_config write_json write_png
        write_tiff write_yaml
    """,
    "segtrain": """
        AugmentConfig Batch BenchConfig CLICKERS Click ClickConfig ClickTrace
        ClicksResult Connectivity Crops DataSource EvaluationResult ExplainResult
        Explanation Faithfulness Holdout InstanceScores LOSSES LayerInfo MODELS
        ModelName PROBABILISTIC_MODELS PatchDataset PostprocessChoice QuantifyParams
        QuantifyResult RECIPE RECIPES RealismResult RealismScore Recipe RefineResult
        Refinement ReportResult Samples Suggestion TTA_MODES TrainConfig
        UncertaintyScores augment_patch auroc autocast_for betti_error betti_numbers
        binary_scores blend_window build_model cam_batch cam_tiled choose_postprocess
        clicks_folder compare_morphology default_layers encode_clicks evaluate_folders
        evaluate_images evaluate_pair explain_folder explain_image flip_samples
        iou_curve is_probabilistic kl_diag_gaussians list_layers load_run
        match_instances measure_faithfulness merge_bench min_area_rect model_names
        next_click noc normalize_percentile parse_click pick_device plot_bench_table
        plot_click_curves plot_comparison plot_deletion_curves plot_explanation
        plot_fold_change plot_image_report plot_prediction_folders plot_predictions
        plot_realism plot_report_summary plot_training_curves postprocess_mask
        predict_folder predict_image predict_stack prepare_image prepare_images
        quantify_folder quantify_mask quantify_masks quantify_volume read_postprocess
        read_split read_train_config realism_test refine refine_image refine_input
        region_crops report_folder resample_zoom roc_auc run_bench run_layers
        sample_prediction simulate_clicks split_holdout stack_context suggest_clicks
        summarize summarize_traces torch_threads train train_and_evaluate two_sample_auc
        uncertainty_quality unzoom_probabilities write_curves zoom_planes
    """,
    "segtrain.io": """
        CHECKPOINT_FORMAT IMAGE_DIRS IMAGE_SUFFIXES INSTANCE_DIR LabeledImage MASK_DIRS
        MaskFile POSTPROCESS_FILE SPLIT_FILE as_mask image_folder instance_folder
        list_images load_checkpoint mask_folder parse_slice read_bench_seeds
        read_clicks_csv read_grey read_image read_instances read_json read_log_csv
        read_mask read_masks read_pairs_folder read_postprocess read_run_config
        read_scaled_image read_source read_split read_stack read_yaml save_checkpoint
        write_bench_outputs write_csv write_figure write_log_csv write_run_config
        write_tiff write_yaml
    """,
    "webapp": """
        Bound Screenshots ServeConfig bind create_app is_loopback launch_chromium
        running_server screenshots serve with_token
    """,
    "cli": """
        UserError app main
    """,
}


@pytest.mark.parametrize("pkg", sorted(PUBLIC))
def test_every_old_public_name_is_still_importable(pkg):
    module = importlib.import_module(pkg)
    names = PUBLIC[pkg].split()
    missing = [n for n in names if not hasattr(module, n)]
    assert not missing, f"{pkg} lost public names: {missing}"
    unlisted = [n for n in names if n not in module.__all__]
    assert not unlisted, f"{pkg} no longer lists in __all__: {unlisted}"
