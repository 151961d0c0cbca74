"""Segmentation networks in plain torch: one module per architecture, each with a params model."""
