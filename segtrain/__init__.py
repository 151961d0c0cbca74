"""segtrain: train, predict, evaluate and benchmark segmenters and morphology quantifiers."""

__all__: list[str] = []
