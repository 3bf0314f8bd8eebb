"""The rows a reference reads (previous, next, anchor, prior, final record), computed once
for the chunks of a batch (``ChunkRows.source_rows``), are each chunk's own
(``Chunk.source_rows``) moved to the batch's rows: never a record of another file."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from compiler import Compiled
from tests.chunks import chunk_of_rows
from validator.chunk import BAD_TYPE, Chunk, ChunkRows, record_types

TYPES = ["10", "20", "50", "51", "80", "90", "95", "96"]
REFERENCES = [("previous", None), ("next", None)] + [
    (access, record)
    for access in ("anchor", "prior", "final")
    for record in ("ET10", "ET20", "ET50", "ET80", "ET96")
]


def chunk_of(compiled: Compiled, types: list[str]) -> Chunk:
    length = compiled.message.record_length
    rows = np.full((len(types), length), ord("0"), dtype=np.uint8)
    for i, key in enumerate(types):
        rows[i, :2] = np.frombuffer(key.encode(), dtype=np.uint8)
    return chunk_of_rows(compiled, rows)


@settings(max_examples=60, deadline=None)
@given(
    files=st.lists(st.lists(st.sampled_from(TYPES), min_size=1, max_size=8), min_size=1, max_size=4)
)
def test_batch_source_rows_are_each_chunks_own(compiled: Compiled, files: list[list[str]]) -> None:
    chunks = [chunk_of(compiled, types) for types in files]
    batch = ChunkRows(chunks)
    for access, record in REFERENCES:
        expected = []
        for chunk in chunks:
            own = chunk.source_rows(np.arange(chunk.n, dtype=np.int64), access, record)
            expected += [-1 if r < 0 else r + batch.offset[id(chunk)] for r in own.tolist()]
        assert batch.source_rows(access, record).tolist() == expected, (access, record)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(min_size=3, max_size=3), min_size=1, max_size=30))
@example([b"5:0", b":50", b"/00", b"0/0", b"99a", b"000", b"999"])  # the digits' edges
def test_record_types_of_two_character_keys(keys: list[bytes]) -> None:
    """The one-lookup path for 2-character keys reads what the digits say, BAD_TYPE else;
    the same as the general path (a key of 3 characters, its last one cut)."""
    rows = np.array([list(k) for k in keys], dtype=np.uint8)
    expected = [
        int(k[:2].decode("latin-1")) if all(48 <= b <= 57 for b in k[:2]) else BAD_TYPE
        for k in keys
    ]
    assert record_types(rows, 2).tolist() == expected
    digits3 = [
        int(k.decode("latin-1")) if all(48 <= b <= 57 for b in k) else BAD_TYPE for k in keys
    ]
    assert record_types(rows, 3).tolist() == digits3


def test_segment_zone_on_a_joined_scope_is_each_files_own(compiled: Compiled) -> None:
    """A segment's zone read by the records of several files at once (one value per file,
    spread over its records) is what each file's records read alone: a file without that
    segment leaves its records' value unknown (explained), a broken zone unexplained unless
    it already has a finding."""
    from compiler import ir
    from validator.scope import Env, Scope, layout_scope
    from validator.zones import zone_value

    s300 = compiled.layouts["S300"]
    zone = next(z for z in s300.zones if z.name == "invoiced_period")
    ref = ir.ZoneRef(access="segment", record="S300", zone=zone, raw=False, ty=ir.INT)
    raw_ref = ir.ZoneRef(
        access="segment", record="S300", zone=zone, raw=True, ty=ir.text(zone.length)
    )
    segment = np.full(s300.length, ord("0"), dtype=np.uint8)
    files = [  # (records, the file's S300 invoiced period, whether that zone has a finding)
        (["10", "20", "50"], b"202611", False),
        (["10", "20"], None, False),  # no S300
        (["10", "50", "50", "20"], b"2026AB", False),  # broken: unexplained
        (["10"], b"20261X", True),  # broken, already reported
    ]
    chunks = []
    for types, period, flagged in files:
        chunk = chunk_of(compiled, types)
        if period is not None:
            seg = segment.copy()
            seg[zone.offset : zone.end] = np.frombuffer(period, dtype=np.uint8)
            chunk.segments["S300"] = seg
            chunk.segment_flags["S300"] = {zone.name: flagged}
        chunks.append(chunk)
    env = Env(compiled=compiled, today=20261122, as_of=None)
    parts = [layout_scope(c, compiled.layouts["ET10"], env) for c in chunks]
    parts += [
        layout_scope(c, compiled.layouts["ET50"], env) for c in chunks if c.rows_of("ET50").size
    ]
    joined = Scope.joined(parts, ChunkRows(chunks))
    for r in (ref, raw_ref):
        alone = [zone_value(p, r) for p in parts]
        together = zone_value(joined, r)
        assert (
            np.asarray(together.data).tolist()
            == np.concatenate([np.asarray(v.data) for v in alone], axis=-1).tolist()
        )
        for mask in ("unknown", "unexplained", "flagged"):
            expected = np.concatenate(
                [
                    np.zeros(p.n, np.bool_) if getattr(v, mask) is None else getattr(v, mask)
                    for p, v in zip(parts, alone, strict=True)
                ]
            )
            got = getattr(together, mask)
            got = np.zeros(joined.n, np.bool_) if got is None else got
            assert got.tolist() == expected.tolist(), (r.raw, mask)
    value = zone_value(joined, ref)
    # ET10 of the four files, then the ET50 of files 1 and 3 (one, then two)
    assert np.asarray(value.data)[[0, 4, 5]].tolist() == [202611, 202611, 0]
    assert value.unknown is not None and value.unexplained is not None
    assert value.unknown.tolist() == [False, True, True, True, False, True, True]
    assert value.unexplained.tolist() == [False, False, True, False, False, True, True]


@settings(max_examples=60, deadline=None)
@given(types=st.lists(st.sampled_from([*TYPES, "77", "AB"]), max_size=40))
def test_rows_of_each_layout(compiled: Compiled, types: list[str]) -> None:
    """The rows of each layout (found for all layouts at once), in order; none for rows of
    no layout (an unknown or broken record type) or a name that is no layout."""
    chunk = chunk_of(compiled, types)
    for layout in chunk.layouts:
        expected = [i for i, t in enumerate(types) if t == layout.key]
        assert chunk.rows_of(layout.name).tolist() == expected, layout.name
    assert chunk.rows_of("S300").tolist() == []


def test_batch_sources_per_access_and_record(compiled: Compiled) -> None:
    """The records a joined scope's records read (``batch_sources``): the anchor and the final
    ET20 of the ET50 records of three files are each their own, in the joined ET20 scope."""
    from validator.scope import Env, Scope, layout_scope
    from validator.zones import batch_sources

    files = [
        ["10", "20", "50", "50", "20", "50", "80", "90"],
        ["10", "20", "50", "80", "90"],
        ["10", "20", "50", "20", "50", "50", "80"],
    ]
    chunks = [chunk_of(compiled, types) for types in files]
    env = Env(compiled=compiled, today=20261122, as_of=None)
    parts = [layout_scope(c, compiled.layouts["ET50"], env) for c in chunks]
    joined = Scope.joined(parts, ChunkRows(chunks))
    joined.registry = {}
    anchor = batch_sources(joined, "anchor", "ET20")
    final = batch_sources(joined, "final", "ET20")
    assert anchor is not None and final is not None
    target = anchor[0]
    assert final[0] is target and target.layout.name == "ET20" and target.n == 5
    # the ET20 records, one after the other: file 1's two, file 2's one, file 3's two
    assert anchor[1].tolist() == [0, 0, 1, 2, 3, 4, 4]
    assert final[1].tolist() == [1, 1, 1, 2, 4, 4, 4]
    assert not anchor[2].any() and not final[2].any()
    after = batch_sources(joined, "anchor", "ET80")  # each file's ET80 follows its ET50s
    assert after is not None and after[2].all()


def test_a_scope_reading_its_own_records_is_freed_without_the_collector(
    compiled: Compiled,
) -> None:
    """The ET20 records read the ET20 before them (``prior``): the joined ET20 scope is its own
    target, and nothing ``batch_sources`` leaves behind may keep it (and its transposed
    records) alive until the garbage collector runs (a memo holding the target did: ~600
    page faults per batch instead of ~75)."""
    import gc
    import weakref

    from validator.scope import Env, Scope, layout_scope
    from validator.zones import batch_sources

    chunks = [chunk_of(compiled, t) for t in (["10", "20", "50", "20", "50"], ["10", "20"])]
    env = Env(compiled=compiled, today=20261122, as_of=None)
    parts = [layout_scope(c, compiled.layouts["ET20"], env) for c in chunks]
    registry: dict[tuple[str, tuple[int, ...]], Scope] = {}
    scope = registry[("ET20", tuple(id(c) for c in chunks))] = Scope.joined(
        parts, ChunkRows(chunks)
    )
    scope.registry = registry
    found = batch_sources(scope, "prior", "ET20")
    assert found is not None and found[0] is scope
    assert found[2].tolist() == [True, False, True]  # the second ET20 reads the first
    assert int(found[1][1]) == 0
    alive = weakref.ref(scope)
    del found, scope
    gc.disable()
    try:
        registry.clear()  # as evaluate does when the next chunks come
        assert alive() is None
    finally:
        gc.enable()
