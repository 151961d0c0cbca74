"""join_pairs: the one union-find of shapelib, against a plain union-find on random graphs."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from shapelib._graph import join_pairs


def _reference(n, pairs):
    """Textbook union-find, groups numbered by their smallest item."""
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs:
        parent[find(a)] = find(b)
    ids: dict[int, int] = {}
    return [ids.setdefault(find(i), len(ids)) for i in range(n)]


def test_known_answer_and_edge_cases():
    assert join_pairs(5, [(3, 1), (4, 3)]).tolist() == [0, 1, 2, 1, 1]
    assert join_pairs(3, []).tolist() == [0, 1, 2]
    assert join_pairs(0, []).shape == (0,)
    assert join_pairs(2, [(1, 1)]).tolist() == [0, 1]  # a self-pair joins nothing
    assert join_pairs(4, np.array([[3, 0]])).tolist() == [0, 1, 2, 0]


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 60).flatmap(
        lambda n: st.tuples(
            st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)))
        )
    )
)
def test_matches_a_plain_union_find(case):
    n, pairs = case
    assert join_pairs(n, pairs).tolist() == _reference(n, pairs)


def test_a_million_items_in_one_call():
    n = 1_000_000
    chain = np.stack([np.arange(0, n - 1, 2), np.arange(1, n, 2)], axis=1)  # pairs (0,1), (2,3)..
    groups = join_pairs(n, chain)
    assert groups.max() == n // 2 - 1 and np.array_equal(groups[0::2], groups[1::2])
