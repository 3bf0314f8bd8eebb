"""Keyed totals of a batch folded per file and key (``sums_by_file_and_key``): the exact
integer sums, whether counted into bins (narrow key ranges, small values) or sorted; and
folded when first read, every batch ended before included, once."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import Compiled
from validator.aggregate_batch import KeyedBatch, sums_by_file_and_key
from validator.aggregates import AggRuntime
from validator.plan import plan_for
from validator.values import int_sums

contributions = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=5),  # file
        st.one_of(st.integers(min_value=100, max_value=110), st.integers(-(10**12), 10**12)),
        st.one_of(st.integers(-999, 999), st.integers(-(10**17), 10**17)),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(contributions)
def test_sums_per_file_and_key_are_exact(rows: list[tuple[int, int, int]]) -> None:
    expected: Counter[tuple[int, int]] = Counter()
    for f, key, value in rows:
        expected[(f, key)] += value
    owner = np.array([f for f, _, _ in rows], dtype=np.int64)
    keys = np.array([k for _, k, _ in rows], dtype=np.int64)
    values = np.array([v for _, _, v in rows], dtype=np.int64)
    got = sums_by_file_and_key(owner, keys, values)
    assert len({(f, k) for f, k, _ in got}) == len(got)  # each file and key once
    assert {(f, k): v for f, k, v in got if v} == {fk: v for fk, v in expected.items() if v}


def test_narrow_keys_small_values_and_wide_keys_give_the_same_sums() -> None:
    owner = np.array([0, 0, 1, 1, 1], dtype=np.int64)
    values = np.array([5, 7, 1, 2, 3], dtype=np.int64)
    narrow = sums_by_file_and_key(owner, np.array([301, 301, 301, 302, 302]), values)
    assert sorted(narrow) == [(0, 301, 12), (1, 301, 1), (1, 302, 5)]
    wide = sums_by_file_and_key(owner, np.array([1, 1, 1, 10**12, 10**12]), values)
    assert sorted(wide) == [(0, 1, 12), (1, 1, 1), (1, 10**12, 5)]


def test_int_sums_stay_exact_past_float_precision() -> None:
    """Sums that float64 would round (above 2**53) are still exact."""
    big = 2**53 + 1
    values = np.array([big, 1, big, -1], dtype=np.int64)
    assert int_sums(np.array([0, 0, 1, 1]), values, 3).tolist() == [big + 1, big - 1, 0]
    small = np.array([5, 7, -2], dtype=np.int64)
    assert int_sums(np.array([2, 2, 0]), small, 3).tolist() == [-2, 0, 12]


def test_batches_ended_unread_are_folded_when_the_totals_are_read(compiled: Compiled) -> None:
    """Two files' chunks end in two batches with nobody reading their keyed totals (the usual
    case after a file's last chunk): a later read has both batches' sums, and only once."""
    spec = next(s for s in plan_for(compiled).aggregates if s.this_key and s.mode == "stream")
    a, b = (AggRuntime(spec.node, spec.mode, spec.parts, spec.this_key, spec.group) for _ in "ab")

    def batch(keys: list[int], values: list[int], owner: list[int]) -> KeyedBatch:
        return KeyedBatch(
            runtimes=[a, b],
            starts={},
            pos=np.arange(len(keys), dtype=np.int64),
            keys=np.array(keys, dtype=np.int64),
            values=np.array(values, dtype=np.int64),
            owner=np.array(owner, dtype=np.int64),
        )

    for ended in (batch([301, 302, 301], [5, 7, 1], [0, 0, 1]), batch([301], [10], [0])):
        for runtime in (a, b):
            runtime._batch = ended
            runtime.end_chunk()
    for _ in range(2):  # read twice: folded once
        assert {k: t.value for k, t in a.keyed.items()} == {301: 15, 302: 7}
        assert {k: t.value for k, t in b.keyed.items()} == {301: 1}
