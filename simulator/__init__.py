"""simulator: library shapes to physically modelled fluorescence images with exact ground truth."""

__all__: list[str] = []
