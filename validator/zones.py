"""Zones read by the records of a scope: their own, the previous or next record's, their
anchor's (the last record of a type before them), the last of the file's, a segment's.

Input: a scope and a zone reference of the IR.
Output: a ``Val``: the zone's values, unknown where the characters do not fit its format or
there is no such record, unexplained unless the record is missing or the zone already has a
finding. Each zone is read once per scope (``Scope.cache``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from compiler import ir
from validator.chunk import Chunk
from validator.functions import parse_digits
from validator.values import (
    Bool,
    Ints,
    Val,
    some,
)

if TYPE_CHECKING:
    pass

from validator.scope import Scope, join_masks, layout_scope


def parse_zone(text: np.ndarray, zone: ir.Zone, raw: bool) -> tuple[np.ndarray, Bool | None]:
    """(value, invalid records) of a zone's (width, n) characters."""
    if raw or zone.kind == "A":
        return text, None
    if zone.kind == "S":
        sign = text[0]
        mag = text[1:]
        digits, value = parse_digits(mag)
        ok = ((sign == 43) | (sign == 45)) & digits
        if not np.logical_and.reduce(ok):
            value = np.where(ok, value, 0)  # as for a magnitude that is not all digits
        return np.where(sign == 45, -value, value), ~ok
    ok, value = parse_digits(text)
    return value, ~ok


def _take(v: Val, pos: Ints, missing: Bool) -> Val:
    """Values of another scope's records at positions ``pos`` (missing rows: explained)."""
    data = np.asarray(v.data)
    data = data.take(pos, axis=-1)  # along the records (faster than fancy indexing in 2-D)
    unknown = missing if v.unknown is None else v.unknown[pos] | missing
    unexplained = None if v.unexplained is None else v.unexplained[pos] & ~missing
    flagged = None if v.flagged is None else v.flagged[pos]
    return Val(data, unknown if some(unknown) else None, unexplained, flagged)


_OWN_REFS: dict[int, tuple[ir.ZoneRef, ir.ZoneRef]] = {}  # id(ref) -> (ref, own ref)


def own_ref(ref: ir.ZoneRef) -> ir.ZoneRef:
    """The same zone read on its own record (cached: IR nodes are immutable)."""
    found = _OWN_REFS.get(id(ref))  # by identity: IR nodes hash deeply; ref is kept alive
    if found is None:
        own = ir.ZoneRef(
            access="self", record=ref.zone.layout, zone=ref.zone, raw=ref.raw, ty=ref.ty
        )
        found = _OWN_REFS[id(ref)] = (ref, own)
    return found[1]


def zone_value(scope: Scope, ref: ir.ZoneRef) -> Val:
    key = (ref.access, ref.record, ref.zone.name, ref.raw)
    cached = scope.cache.get(key)
    if cached is not None:
        return cached
    chunk = scope.chunk
    if (
        scope.parts is None
        and ref.access in ("anchor", "prior", "final")
        and ref.record is not None
        and chunk.n
        and ref.record in chunk.layout_index
        and chunk.rows_of(ref.record).size
    ):
        # parse the zone once in its own record type's scope, then pick the anchor rows
        src = chunk.source_rows(scope.idx, ref.access, ref.record)
        target = layout_scope(chunk, chunk.layouts[chunk.layout_index[ref.record]], scope.env)
        own = zone_value(target, own_ref(ref))
        found = _take(own, chunk.position(ref.record)[np.maximum(src, 0)], src < 0)
        scope.cache[key] = found
        return found
    if scope.batch is not None and ref.access in ("anchor", "prior", "final"):
        taken = batch_take(scope, ref)
        if taken is not None:
            scope.cache[key] = taken
            return taken
    if ref.access == "segment":
        # one value per file, read once, then spread over its records
        parts, sizes = (
            (scope.parts, scope.sizes) if scope.parts is not None else ((scope,), [scope.n])
        )
        found = repeat_val(sourced_value(*segment_sources(parts, ref), ref), sizes)
        scope.cache[key] = found
        return found
    if scope.batch is not None and ref.access in ("previous", "next", "anchor", "prior", "final"):
        text, missing, flagged = batch_source(scope, ref)
    elif scope.parts is not None and ref.access != "self":
        # each file's characters, parsed once (a missing record's characters never count)
        sources = [zone_source(part, ref) for part in scope.parts]
        text = np.concatenate([t for t, _, _ in sources], axis=1)
        missing = join_masks([m for _, m, _ in sources], scope.sizes)
        flagged = join_masks([f for _, _, f in sources], scope.sizes)
    else:
        text, missing, flagged = zone_source(scope, ref)
    result = sourced_value(text, missing, flagged, ref)
    scope.cache[key] = result
    return result


def sourced_value(
    text: np.ndarray, missing: Bool | None, flagged: Bool | None, ref: ir.ZoneRef
) -> Val:
    """A zone's value from its characters as the records see them (``zone_source``): a
    character that does not fit the zone's format makes the value unknown, unexplained
    unless the record is missing or the zone already has a finding."""
    data, invalid = parse_zone(text, ref.zone, ref.raw)
    unknown = missing
    unexplained = None
    if invalid is not None and some(invalid):
        fresh = invalid if missing is None else invalid & ~missing
        unexplained = fresh if flagged is None else fresh & ~flagged
        unknown = invalid if missing is None else invalid | missing
    if unknown is not None and not some(unknown):
        unknown = None
    return Val(data, unknown, unexplained, flagged)


def segment_sources(
    parts: tuple[Scope, ...], ref: ir.ZoneRef
) -> tuple[np.ndarray, Bool | None, Bool | None]:
    """A segment's zone as ``zone_source`` gives other zones, but with one column per part's
    file (not per record): the characters of each file's segment, the files without that
    segment, and those whose zone has a finding."""
    zone = ref.zone
    text = np.full((zone.length, len(parts)), 32, dtype=np.uint8)
    missing = np.zeros(len(parts), dtype=np.bool_)
    flagged = np.zeros(len(parts), dtype=np.bool_)
    for f, part in enumerate(parts):
        chunk = part.chunk
        seg = chunk.segments.get(ref.record or "")
        if seg is None:
            missing[f] = True
        else:
            text[:, f] = seg[zone.offset : zone.end]
            flagged[f] = chunk.segment_flags.get(ref.record or "", {}).get(zone.name, False)
    return text, missing if missing.any() else None, flagged if flagged.any() else None


def repeat_val(v: Val, sizes: list[int]) -> Val:
    """A value with one entry per file, repeated for each of the file's ``sizes`` records."""
    counts = np.asarray(sizes, dtype=np.int64)

    def rep(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else np.repeat(a, counts, axis=-1)

    return Val(
        np.repeat(np.asarray(v.data), counts, axis=-1),
        rep(v.unknown),
        rep(v.unexplained),
        rep(v.flagged),
    )


def zone_source(scope: Scope, ref: ir.ZoneRef) -> tuple[np.ndarray, Bool | None, Bool | None]:
    """A zone's characters as the scope's records see it, (width, n), with the records for
    which there is no such record (``missing``) and those whose zone has a finding (a
    segment's zones: ``segment_sources``)."""
    zone = ref.zone
    chunk = scope.chunk
    missing: Bool | None = None
    flagged: Bool | None = None
    if ref.access == "self":
        text = scope.text(zone.offset, zone.length)
        flagged = scope.flagged(zone.name)
    elif chunk.n == 0:
        text = np.zeros((zone.length, scope.n), dtype=np.uint8)
        missing = np.ones(scope.n, dtype=np.bool_)
    else:
        src = chunk.source_rows(scope.idx, ref.access, ref.record)
        text, missing = read_records(chunk, chunk.rows, chunk.layout_of, src, ref)
        flagged = chunk.flagged(zone.name, src)
    return text, missing, flagged


def read_records(
    chunk: Chunk, rows: np.ndarray, layout_of: Ints, src: Ints, ref: ir.ZoneRef
) -> tuple[np.ndarray, Bool]:
    """The zone's characters in rows ``src`` of ``rows`` (-1: no such record), and the
    records missing: none, or (previous / next record) one without that zone."""
    zone = ref.zone
    safe = np.maximum(src, 0)
    missing = src < 0
    if ref.access in ("previous", "next"):
        holds = chunk.holds(zone.name, zone.offset)  # by layout index, -1 last
        missing = missing | ~holds[layout_of[safe]]
    return np.ascontiguousarray(rows[safe, zone.offset : zone.end].T), missing


def batch_take(scope: Scope, ref: ir.ZoneRef) -> Val | None:
    """For a joined scope with a batch, a zone of a given record type (anchor, prior or
    final): parsed once on that record type's joined scope (the one its own rules use, from
    ``registry``), then picked for each record, as ``zone_value`` does on one chunk. None
    when the batch has no record of that type or the scope no registry."""
    found = None if ref.record is None else batch_sources(scope, ref.access, ref.record)
    if found is None:
        return None
    target, positions, missing = found
    return _take(zone_value(target, own_ref(ref)), positions, missing)


def batch_sources(scope: Scope, access: str, record: str) -> tuple[Scope, Ints, Bool] | None:
    """For a joined scope with a batch, the records of type ``record`` its records read
    (``access``: anchor, prior or final): the joined scope of that type's records (the one
    its own rules use, from ``registry``), each record's position in it, and the records
    that have none. None when the batch has no record of that type or the scope no registry."""
    assert scope.parts is not None and scope.batch is not None
    chunk = scope.parts[0].chunk
    if scope.registry is None or record not in chunk.layout_index:
        return None
    layout = chunk.layouts[chunk.layout_index[record]]
    holders = [p for p in scope.parts if p.chunk.rows_of(record).size]
    if len(holders) < 2:
        return None
    key = (layout.name, tuple(id(p.chunk) for p in holders))
    target = scope.registry.get(key)
    if target is None:
        parts = [layout_scope(p.chunk, layout, p.env) for p in holders]
        target = scope.registry[key] = Scope.joined(parts, scope.batch)
        target.registry = scope.registry
    if target.parts is None or target.batch is not scope.batch:
        return None
    rows = scope.sources(access, record)  # in the batch's rows, -1: none
    return target, target.batch_positions[np.maximum(rows, 0)], rows < 0


def chunk_sources(scope: Scope, access: str, record: str) -> tuple[Scope, Ints, Bool] | None:
    """``batch_sources`` for the scope of one chunk: the scope of the chunk's ``record``
    records, the position in it of the one each record reads, and the records without one."""
    chunk = scope.chunk
    if record not in chunk.layout_index:
        return None
    target = layout_scope(chunk, chunk.layouts[chunk.layout_index[record]], scope.env)
    src = chunk.source_rows(scope.idx, access, record)
    return target, np.searchsorted(target.idx, np.maximum(src, 0)), src < 0


def batch_source(scope: Scope, ref: ir.ZoneRef) -> tuple[np.ndarray, Bool | None, Bool | None]:
    """``zone_source`` for a joined scope with a batch: the records read, gathered at once
    from the batch's rows (a missing record's characters never count)."""
    assert scope.parts is not None and scope.batch is not None
    zone = ref.zone
    rows = scope.sources(ref.access, ref.record)
    batch = scope.batch
    text, missing = read_records(scope.parts[0].chunk, batch.rows, batch.layout_of, rows, ref)
    flagged = None
    if any(zone.name in p.chunk.flags for p in scope.parts):
        own = scope.own_sources(ref.access, ref.record)
        flagged = join_masks(
            [p.chunk.flagged(zone.name, src) for p, src in zip(scope.parts, own, strict=True)],
            scope.sizes,
        )
    return text, missing, flagged


def as_columns(v: Val, n: int) -> Val:
    """A text value with one column per record (constants are broadcast)."""
    data = np.asarray(v.data)
    if data.ndim == 1:
        data = data.reshape(-1, 1)
    if data.shape[1] != n:
        data = np.broadcast_to(data, (data.shape[0], n))
    return Val(data, v.unknown, v.unexplained, v.flagged)
