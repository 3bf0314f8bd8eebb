"""A one-dimensional array that grows chunk by chunk for a whole file, kept out of the heap.

Input: the values of each chunk (``extend``). Output: all of them as one array (``array``).

Data kept for a whole file (the amounts' per-line columns) is small per chunk but lives long,
while each chunk's own arrays are large and short-lived. Kept as one array per chunk, the
long-lived ones land among the chunks' in the allocator's heap and pin it: on the 2 GB
benchmark file the process held ~55 MB more at its peak than it used (peak RSS 291 MB, 234
with the same data out of the heap). Here a column grows by doubling: in an ordinary array
while small (a 1,000-record file never leaves it), beyond ``HEAP_BYTES`` in its own anonymous
memory map, returned to the system as soon as the column grows out of it or is dropped. Pages
of a map are only taken when written, so the doubling's unused half costs address space only.
"""

from __future__ import annotations

import mmap

import numpy as np
import numpy.typing as npt

HEAP_BYTES = 1 << 20  # a column larger than this lives in a memory map of its own
FIRST_CAPACITY = 1024  # values


class Growing:
    """Values appended in order; ``array()`` is a view of those appended so far."""

    __slots__ = ("_data", "dtype", "size")

    def __init__(self, dtype: npt.DTypeLike) -> None:
        self.dtype = np.dtype(dtype)
        self.size = 0
        self._data: np.ndarray = np.empty(0, dtype=self.dtype)

    def extend(self, values: npt.ArrayLike) -> None:
        """Append ``values`` (converted to the column's type)."""
        values = np.asarray(values)
        end = self.size + values.size
        if end > self._data.size:
            self._grow(end)
        self._data[self.size : end] = values
        self.size = end

    def array(self) -> np.ndarray:
        return self._data[: self.size]

    @property
    def capacity(self) -> int:
        return int(self._data.size)

    @property
    def mapped(self) -> bool:
        """Whether the values live in a memory map (not in the heap)."""
        base = self._data.base  # np.frombuffer's: a memoryview of the map
        return isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap)

    def _grow(self, needed: int) -> None:
        capacity = max(needed, 2 * self._data.size, FIRST_CAPACITY)
        nbytes = capacity * self.dtype.itemsize
        if nbytes <= HEAP_BYTES:
            data = np.empty(capacity, dtype=self.dtype)
        else:  # the array keeps its map alive; the map is unmapped when both are dropped
            data = np.frombuffer(mmap.mmap(-1, nbytes), dtype=self.dtype, count=capacity)
        data[: self.size] = self._data[: self.size]
        self._data = data
