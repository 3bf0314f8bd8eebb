"""The generator: structured data -> a 920000 file, derived zones filled by the rulebook.

Input: a compiled rulebook and a sending in structured form (``generator.structured``),
optionally mutations (a mutant's edits: set, raw, delete, duplicate).
Output: the file's bytes. Every zone that a rule ``fills`` or a ``derive`` declaration
computes (sequence numbers, totals, control digits, the ET95/ET96 recapitulation) is filled
from the rulebook; zones set by a mutation keep their value.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable
from typing import Any

import numpy as np

from compiler import Compiled, ir
from generator.derive import Sending, fill
from generator.encode import EncodeError, encode, encode_raw
from generator.structured import LINE_ENDS, Item, StructureError, flatten

__all__ = [
    "StructureError",
    "apply_mutations",
    "build",
    "filled_items",
    "generate",
    "variants",
]


def apply_mutations(items: list[Item], mutations: Iterable[ir.Mutation]) -> list[Item]:
    """Apply a mutant's edits to the records (occurrence n = the n-th record of that type)."""
    items = [copy.deepcopy(i) for i in items]
    for m in mutations:
        positions = [k for k, it in enumerate(items) if it.layout == m.record]
        if len(positions) < m.occurrence:
            raise StructureError(
                f"{m.record}[{m.occurrence}]",
                f"the scenario has no {m.record} number {m.occurrence}",
            )
        k = positions[m.occurrence - 1]
        if m.op == "delete":
            del items[k]
        elif m.op == "duplicate":
            items.insert(k + 1, copy.deepcopy(items[k]))
        elif m.op == "raw":
            assert m.zone is not None
            items[k].raw[m.zone.name] = str(m.value)
            items[k].frozen.add(m.zone.name)
        else:
            assert m.zone is not None
            items[k].values[m.zone.name] = m.value
            items[k].raw.pop(m.zone.name, None)
            items[k].frozen.add(m.zone.name)
    return items


def _encode_item(compiled: Compiled, item: Item) -> bytes:
    if item.text is not None:
        return item.text.encode("latin-1")
    layout = compiled.layouts[item.layout]
    parts: list[bytes] = []
    for zone in layout.zones:
        if (
            zone.offset == 0
            and layout.key
            and zone.name not in item.values
            and zone.name not in item.raw
        ):
            parts.append(layout.key.encode("ascii"))
            continue
        if zone.name in item.raw:
            parts.append(encode_raw(zone, item.raw[zone.name]))
            continue
        try:
            parts.append(encode(zone, item.values.get(zone.name)))
        except EncodeError as exc:
            raise StructureError(f"{item.path}.{zone.name}", str(exc)) from None
    return b"".join(parts)


def build(compiled: Compiled, items: list[Item], today: dt.date) -> bytes:
    """Encode records, fill the derived zones, and return the file's bytes."""
    msg = compiled.message
    segments: dict[str, np.ndarray] = {}
    frozen_segments: set[tuple[str, str]] = set()
    rows: list[bytes] = []
    frozen_rows: set[tuple[int, str]] = set()
    for item in items:
        data = _encode_item(compiled, item)
        if item.layout in msg.segments:
            segments[item.layout] = np.frombuffer(bytearray(data), dtype=np.uint8)
            frozen_segments |= {(item.layout, z) for z in item.frozen}
        else:
            frozen_rows |= {(len(rows), z) for z in item.frozen}
            rows.append(data)
    length = msg.record_length
    array = (
        np.frombuffer(bytearray(b"".join(rows)), dtype=np.uint8).reshape(len(rows), length)
        if rows
        else np.zeros((0, length), dtype=np.uint8)
    )
    sending = Sending(
        rows=array,
        segments=segments,
        frozen_rows=frozen_rows,
        frozen_segments=frozen_segments,
    )
    fill(compiled, sending, today.year * 10000 + today.month * 100 + today.day)
    head = b"".join(segments[s].tobytes() for s in msg.segments if s in segments)
    return head + sending.rows.tobytes()


def filled_items(compiled: Compiled, items: list[Item], content: bytes) -> list[Item]:
    """The items with every zone holding the characters ``content`` gave it (none frozen)."""
    out: list[Item] = []
    offset = 0
    for item in items:
        if item.text is not None:  # a record of no described type
            length = compiled.message.record_length
            out.append(Item(layout="", values={}, path=item.path, text=item.text))
            offset += length
            continue
        layout = compiled.layouts[item.layout]
        chars = content[offset : offset + layout.length].decode("latin-1")
        offset += layout.length
        raw = {z.name: chars[z.offset : z.end] for z in layout.zones}
        out.append(Item(layout=item.layout, values={}, path=item.path, raw=raw))
    return out


def scenario_date(data: dict[str, Any], today: dt.date | None) -> dt.date:
    if today is not None:
        return today
    if isinstance(data.get("as_of"), str):
        return dt.date.fromisoformat(data["as_of"])
    return dt.date.today()


def generate(
    compiled: Compiled,
    data: dict[str, Any],
    *,
    mutations: Iterable[ir.Mutation] = (),
    today: dt.date | None = None,
) -> bytes:
    """Write a sending given in structured form, optionally with a mutant's edits.

    Edits apply to the complete, derived baseline: derived zones are then refilled where
    they can be computed and keep their baseline value where they cannot, so an edit breaks
    what it targets and nothing more.
    """
    when = scenario_date(data, today)
    items = flatten(compiled, data)
    content = build(compiled, items, when)
    edits = list(mutations)
    if edits:
        mutated = apply_mutations(filled_items(compiled, items, content), edits)
        content = build(compiled, mutated, when)
    return with_line_ends(compiled, data, content)


def variants(
    compiled: Compiled,
    data: dict[str, Any],
    mutation_sets: Iterable[Iterable[ir.Mutation]],
    *,
    today: dt.date | None = None,
) -> list[bytes]:
    """``generate(compiled, data, mutations=m, today=today)`` for each ``m``, the baseline
    written once (a campaign writes every mutant of a scenario)."""
    when = scenario_date(data, today)
    items = flatten(compiled, data)
    content = build(compiled, items, when)
    filled = filled_items(compiled, items, content)
    out = []
    for mutations in mutation_sets:
        edits = list(mutations)
        mutated = build(compiled, apply_mutations(filled, edits), when) if edits else content
        out.append(with_line_ends(compiled, data, mutated))
    return out


def with_line_ends(compiled: Compiled, data: dict[str, Any], content: bytes) -> bytes:
    """The file with the line break ``line_end`` names after each segment and record (the
    last one too unless ``last_line_end`` is false); unchanged without ``line_end``."""
    name = data.get("line_end")
    if name is None:
        return content
    if name not in LINE_ENDS:
        raise StructureError("$.line_end", f"{name!r} is not one of {', '.join(LINE_ENDS)}")
    last = data.get("last_line_end", True)
    if not isinstance(last, bool):
        raise StructureError("$.last_line_end", f"{last!r} is not true or false")
    msg = compiled.message
    pieces: list[bytes] = []
    pos = 0
    for segment in msg.segments:
        length = compiled.layouts[segment].length
        pieces.append(content[pos : pos + length])
        pos += length
    size = msg.record_length
    pieces.extend(content[start : start + size] for start in range(pos, len(content), size))
    sep = LINE_ENDS[name]
    return sep.join(pieces) + (sep if last else b"")
