"""Shape classes of 3DMSL from skeleton measurements (DESIGN.md step 3)."""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from ._skeleton import Skeleton

__all__ = ["ClassThresholds", "classify_shape", "SHAPE_CLASSES"]

SHAPE_CLASSES: tuple[str, ...] = ("donut", "dot", "nano-tunnel", "mega", "rod", "network")


class ClassThresholds(BaseModel):
    """Thresholds of the class rules (defaults: the 3DMSL data article)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dot_max_length_um: float = Field(
        1.0, gt=0, description="Skeleton length below which a shape is a dot (um)."
    )
    nano_tunnel_min_length_um: float = Field(
        30.0, gt=0, description="Skeleton length above which a shape is a nano-tunnel (um)."
    )
    mega_min_length_um: float = Field(
        10.0, gt=0, description="Skeleton length above which a large body is mega (um)."
    )
    mega_min_mesh_volume_um3: float = Field(
        1.0,
        gt=0,
        description="Mesh volume above which a long body is mega (um^3).",
        # the name before the volumes were told apart (mesh_ / voxel_) still loads
        validation_alias=AliasChoices("mega_min_mesh_volume_um3", "mega_min_volume_um3"),
    )


def classify_shape(
    skeleton: Skeleton,
    mesh_volume_um3: float,
    *,
    thresholds: ClassThresholds = ClassThresholds(),
) -> str:
    """Class of a shape, rules tried in this order (the first that holds wins):

    donut (any loop) > dot (length < 1 um) > nano-tunnel (length > 30 um) > mega (length > 10 um
    and volume > 1 um^3) > rod (no junction) > network.

    Parameters
    ----------
    skeleton : Skeleton
        From :func:`skeletonize_mask`.
    mesh_volume_um3 : float
        Volume enclosed by the shape's mesh, um^3.
    thresholds : ClassThresholds

    Returns
    -------
    str
        One of ``SHAPE_CLASSES``.
    """
    t = thresholds
    length = skeleton.length_um
    if skeleton.n_loops > 0:
        return "donut"
    if length < t.dot_max_length_um:
        return "dot"
    if length > t.nano_tunnel_min_length_um:
        return "nano-tunnel"
    if length > t.mega_min_length_um and mesh_volume_um3 > t.mega_min_mesh_volume_um3:
        return "mega"
    if skeleton.n_junctions == 0:
        return "rod"
    return "network"
