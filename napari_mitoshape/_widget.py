"""The Segment widget (Plugins > mitoshape > Segment): a run folder or a shipped model, the
image layer -> its instance labels and probability (magicgui; loaded by napari only)."""

import napari
from magicgui import magic_factory


@magic_factory(call_button="Segment", run={"label": "run folder or shipped model"})
def segment_widget(
    image: napari.layers.Image, run: str = "mito-fluo-2d"
) -> list[napari.types.LayerDataTuple]:
    """Predict the image layer (2D, or a stack slice by slice) into Labels and Image layers."""
    from ._segment import segment_image

    return segment_image(image.data, run, scale=image.scale)
