"""Joining things that belong together: the one union-find of shapelib, vectorised.

Extraction merges eroded cores joined by a tube, the skeleton counts the connected parts of
its branch graph, and blockwise connected components of huge volumes will join labels that
meet across block faces (millions of labels): all of them call :func:`join_pairs`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["join_pairs"]


def join_pairs(n: int, pairs) -> np.ndarray:
    """Group ids of ``n`` items after joining every pair ``(a, b)`` (connected components).

    Parameters
    ----------
    n : int
        Number of items, ``0 .. n - 1``.
    pairs : (P, 2) array-like of int
        Items to join; an empty sequence joins nothing.

    Returns
    -------
    groups : (n,) ndarray of int64
        Group id of each item, ``0 .. G - 1``, numbered in the order of each group's smallest
        item (item 0 is always in group 0; items joined to nothing keep a group of their own).

    Examples
    --------
    >>> join_pairs(5, [(3, 1), (4, 3)]).tolist()
    [0, 1, 2, 1, 1]
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = int(n)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if n == 0:
        return np.zeros(0, np.int64)
    graph = coo_matrix(
        (np.ones(len(pairs), np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n)
    ).tocsr()
    _, labels = connected_components(graph, directed=False)
    labels = labels.astype(np.int64, copy=False)
    # Number groups by their smallest item. scipy already does in practice (it labels while
    # scanning items upward); check in O(n) and renumber only if it ever does not.
    top = np.maximum.accumulate(labels)
    if labels[0] != 0 or np.any(np.diff(top) > 1):
        _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
        rank = np.empty(len(first), np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(len(first))
        labels = rank[inverse.ravel()]
    return labels
