"""The amounts' per-line columns (``Growing``): the values appended chunk by chunk, in order and
in the column's type, whether the column is still an ordinary array or lives in a memory map
of its own; and the amounts of a file read in many small chunks, with columns in maps, are
those of the file read at once."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from compiler import Compiled
from tests.sendings import TODAY, build
from validator import growing, validate
from validator.growing import Growing

CHUNKS = st.lists(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=700), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(chunks=CHUNKS, heap_bytes=st.sampled_from([0, 64, 4096, 1 << 20]))
@example(chunks=[[], [1, 2, 3], []], heap_bytes=0)
@example(chunks=[list(range(1024)), [7]], heap_bytes=4096)  # grows past 1,024 into a map
def test_values_in_order_whatever_the_storage(chunks: list[list[int]], heap_bytes: int) -> None:
    column = Growing(np.int32)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(growing, "HEAP_BYTES", heap_bytes)
        for chunk in chunks:
            column.extend(np.array(chunk, dtype=np.int64))  # converted to the column's type
    expected = np.array([v for chunk in chunks for v in chunk], dtype=np.int32)
    got = column.array()
    assert got.dtype == np.int32
    assert got.tolist() == expected.tolist()
    assert column.size == len(expected) <= column.capacity
    if column.capacity:  # once it has grown, a map beyond HEAP_BYTES and only then
        assert column.mapped == (column.capacity * 4 > heap_bytes)


def test_growth_doubles_and_switches_to_a_map(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(growing, "HEAP_BYTES", 8 * 2048)
    column = Growing(np.int64)
    column.extend(np.arange(10))
    assert (column.capacity, column.mapped) == (1024, False)
    column.extend(np.arange(10, 1500))
    assert (column.capacity, column.mapped) == (2048, False)  # 16 kB: still the heap
    column.extend(np.arange(1500, 2100))
    assert (column.capacity, column.mapped) == (4096, True)
    column.extend(np.arange(2100, 10_000))
    assert column.capacity == 10_000  # one extend larger than the doubling
    assert column.array().tolist() == list(range(10_000))


def test_amounts_read_in_small_chunks_with_mapped_columns(
    compiled: Compiled, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = build(compiled, 6, None, "hospital")
    whole = validate(compiled, io.BytesIO(data), today=TODAY)
    monkeypatch.setattr(growing, "HEAP_BYTES", 0)  # every column in a map
    monkeypatch.setattr(growing, "FIRST_CAPACITY", 1)
    chunked = validate(compiled, io.BytesIO(data), today=TODAY, block_records=3)
    assert whole.amounts is not None and whole.amounts.destinations
    assert chunked.amounts == whole.amounts
    assert chunked.verdict == whole.verdict == "accepted"
