"""Filling derived zones from the rulebook's declarations, with the validator's evaluator
(``validator.compute``, its seam for the generator).

Input: the records of a sending as a byte array, the compiled rulebook, the zones that must
keep their value (set by hand or by a mutant).
Output: the same records with every derived zone filled: a rule's ``fills`` zone gets the
other side of its equation (``require control = control97(…)``), a ``derive`` zone its
expression. Fillers run in dependency order (totals before control digits); sequence numbers
(``order_number = previous.order_number + 1``) are numbered in one pass.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from compiler import Compiled, ir
from compiler.passes import walk
from validator.compute import compute, layouts_of


class DeriveError(ValueError):
    """The derived zones cannot be ordered (a cycle in the declarations)."""


@dataclass(slots=True)
class Filler:
    """One way of computing one zone."""

    layout: str  # the record or segment whose zone is written
    zone: ir.Zone
    scope: str  # the record the expression is evaluated on
    expr: ir.Expr
    access: str  # how the written record is reached from the scope record
    ref_record: str | None
    rule: ir.Rule | None
    reads: set[tuple[str, str]] = field(default_factory=set)
    step: int | None = None  # set for sequence numbers: previous + step


def _reads(expr: ir.Expr, record: str, compiled: Compiled) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for node in walk(expr):
        if isinstance(node, ir.ZoneRef):
            if node.access in ("previous", "next"):
                found.add(("*", node.zone.name))
            else:
                found.add((node.record or record, node.zone.name))
        elif isinstance(node, ir.RecordText):
            found.add((record, "*"))
        elif isinstance(node, ir.RecordKey):
            continue
        elif isinstance(node, ir.Aggregate):
            for part in node.parts:
                for sub in (part.value, part.where, part.key):
                    if sub is not None:
                        found |= _reads(sub, part.record, compiled)
        elif isinstance(node, ir.DateRef):
            date_expr = compiled.date_exprs.get((node.name, record))
            if date_expr is not None:
                found |= _reads(date_expr, record, compiled)
    # aggregate parts above were walked twice (walk descends into them); harmless
    return found


def _sequence_step(rule: ir.Rule, side: ir.Expr) -> int | None:
    """``previous.X + k`` on the zone X the rule fills: a sequence number."""
    assert rule.fills is not None
    if (
        isinstance(side, ir.Arith)
        and side.op == "+"
        and isinstance(side.left, ir.ZoneRef)
        and side.left.access == "previous"
        and side.left.zone.name == rule.fills.zone.name
        and isinstance(side.right, ir.Const)
        and isinstance(side.right.value, int)
    ):
        return side.right.value
    return None


_FILLERS: dict[str, list[Filler]] = {}


def fillers(compiled: Compiled) -> list[Filler]:
    """Every filler the rulebook declares, in dependency order (computed once per rulebook)."""
    cached = _FILLERS.get(compiled.hash)
    if cached is None:
        cached = _build_fillers(compiled)
        _FILLERS[compiled.hash] = cached
    return cached


def _build_fillers(compiled: Compiled) -> list[Filler]:
    found: list[Filler] = []
    for rule in compiled.rules:
        target = rule.fills
        if target is None:
            continue
        req = rule.require
        assert isinstance(req, ir.Compare)
        side = req.right if _same(req.left, target) else req.left
        layout = target.record if target.access != "self" else rule.record
        assert layout is not None
        filler = Filler(
            layout=layout,
            zone=target.zone,
            scope=rule.record,
            expr=side,
            access=target.access,
            ref_record=target.record,
            rule=rule,
            step=_sequence_step(rule, side),
        )
        filler.reads = _reads(side, rule.record, compiled)
        if rule.when is not None:
            filler.reads |= _reads(rule.when, rule.record, compiled)
        found.append(filler)
    for d in compiled.derivations:
        filler = Filler(
            layout=d.record,
            zone=d.zone,
            scope=d.record,
            expr=d.expr,
            access="self",
            ref_record=d.record,
            rule=None,
        )
        filler.reads = _reads(d.expr, d.record, compiled)
        found.append(filler)
    return _ordered(found)


def _same(a: ir.Expr, b: ir.ZoneRef) -> bool:
    return isinstance(a, ir.ZoneRef) and a.access == b.access and a.zone == b.zone


def _same_sequence(a: Filler, b: Filler) -> bool:
    """Sequence numbers of one zone are numbered together, in file order."""
    return a.zone.name == b.zone.name and (a.step is not None or b.step is not None)


def _ordered(items: list[Filler]) -> list[Filler]:
    """Topological order: a filler runs after those that write what it reads."""

    def writes(f: Filler, read: tuple[str, str]) -> bool:
        layout, zone = read
        return (layout in (f.layout, "*")) and (zone in (f.zone.name, "*"))

    remaining = list(range(len(items)))
    order: list[Filler] = []
    while remaining:
        ready = [
            i
            for i in remaining
            if not any(
                j != i
                and (items[j].layout, items[j].zone.name) != (items[i].layout, items[i].zone.name)
                and not _same_sequence(items[i], items[j])
                and any(writes(items[j], r) for r in items[i].reads)
                for j in remaining
            )
        ]
        if not ready:
            names = ", ".join(f"{items[i].layout}.{items[i].zone.name}" for i in remaining)
            raise DeriveError(f"derived zones depend on each other in a cycle: {names}")
        for i in ready:
            order.append(items[i])
        remaining = [i for i in remaining if i not in ready]
    return order


@dataclass(slots=True)
class Sending:
    """Records and segments being generated (mutable byte arrays)."""

    rows: np.ndarray  # (n, record length) uint8
    segments: dict[str, np.ndarray]  # name -> (length,) uint8
    frozen_rows: set[tuple[int, str]] = field(default_factory=set)
    frozen_segments: set[tuple[str, str]] = field(default_factory=set)


def encode_many(zone: ir.Zone, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Characters of many values at once, and which of them fit the zone."""
    m = data.shape[0]
    if data.ndim == 2:  # characters already
        if data.shape[1] == zone.length:
            return data.astype(np.uint8), np.ones(m, dtype=np.bool_)
        out = np.full((m, zone.length), 32 if zone.kind == "A" else 48, dtype=np.uint8)
        width = min(zone.length, data.shape[1])
        out[:, :width] = data[:, :width]
        return out, np.full(m, zone.kind == "A")
    values = data.astype(np.int64)
    signed = zone.kind == "S"
    width = zone.length - (1 if signed else 0)
    magnitude = np.abs(values) if signed else values
    ok = (magnitude >= 0) & (magnitude < 10**width if width < 19 else True)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = (np.where(ok, magnitude, 0)[:, None] // powers) % 10 + 48
    if signed:
        sign = np.where(values < 0, ord("-"), ord("+"))[:, None]
        digits = np.concatenate([sign, digits], axis=1)
    return digits.astype(np.uint8), ok


def _is_frozen(sending: Sending, rows: np.ndarray, zone: str) -> np.ndarray:
    if not sending.frozen_rows:
        return np.zeros(rows.shape[0], dtype=np.bool_)
    return np.array([(int(r), zone) in sending.frozen_rows for r in rows], dtype=np.bool_)


def fill(
    compiled: Compiled, sending: Sending, today: int, only: Collection[str] | None = None
) -> None:
    """Fill every derived zone in place (or only the zones named in ``only``)."""
    done_sequences: set[str] = set()
    for filler in fillers(compiled):
        if only is not None and filler.zone.name not in only:
            continue
        if filler.step is not None or _is_sequence_seed(compiled, filler):
            if filler.zone.name not in done_sequences:
                _number(compiled, sending, filler.zone.name)
                done_sequences.add(filler.zone.name)
            continue
        done = compute(
            compiled,
            sending.rows,
            sending.segments,
            record=filler.scope,
            expr=filler.expr,
            today=today,
            rule=filler.rule,
        )
        zone, data, active = filler.zone, done.data, done.active
        if filler.access == "segment" or compiled.layouts[filler.layout].kind == "segment":
            seg = sending.segments.get(filler.layout)
            if seg is None or (filler.layout, zone.name) in sending.frozen_segments:
                continue
            picked = np.flatnonzero(active)[:1]
            if picked.size:
                chars, ok = encode_many(zone, data[picked])
                if ok[0]:
                    seg[zone.offset : zone.end] = chars[0]
            continue
        targets = done.targets(filler.access, filler.ref_record)
        keep = active & (targets >= 0)
        rows = targets[keep]
        if rows.size == 0:
            continue
        chars, ok = encode_many(zone, data[keep])
        ok &= ~_is_frozen(sending, rows, zone.name)
        sending.rows[rows[ok], zone.offset : zone.end] = chars[ok]


def _is_sequence_seed(compiled: Compiled, filler: Filler) -> bool:
    """A constant filler of a zone that other records number as a sequence (ET10 = 1)."""
    return any(
        f.step is not None and f.zone.name == filler.zone.name for f in _sequence_fillers(compiled)
    ) and isinstance(filler.expr, ir.Const)


_SEQUENCE_CACHE: dict[str, list[Filler]] = {}


def _sequence_fillers(compiled: Compiled) -> list[Filler]:
    found = _SEQUENCE_CACHE.get(compiled.hash)
    if found is None:
        found = [f for f in fillers(compiled) if f.step is not None]
        _SEQUENCE_CACHE[compiled.hash] = found
    return found


def _number(compiled: Compiled, sending: Sending, zone_name: str) -> None:
    """Number a sequence zone: seeds keep their constant, the others previous + step."""
    layouts, layout_of = layouts_of(compiled, sending.rows)
    seeds: dict[str, int] = {}
    steps: dict[str, int] = {}
    for f in fillers(compiled):
        if f.zone.name != zone_name:
            continue
        if f.step is not None:
            steps[f.layout] = f.step
        elif isinstance(f.expr, ir.Const) and isinstance(f.expr.value, int):
            seeds[f.layout] = f.expr.value
    # vectorised: a seed starts a run, an unknown record ends it, steps add up in between
    n = sending.rows.shape[0]
    is_seed = np.zeros(n, dtype=np.bool_)
    seed_value = np.zeros(n, dtype=np.int64)
    step = np.zeros(n, dtype=np.int64)
    is_step = np.zeros(n, dtype=np.bool_)
    for index, layout in enumerate(layouts):
        if zone_name not in layout.by_name:
            continue
        rows = layout_of == index
        if layout.name in seeds:
            is_seed |= rows
            seed_value[rows] = seeds[layout.name]
        elif layout.name in steps:
            is_step |= rows
            step[rows] = steps[layout.name]
    event = is_seed | (layout_of < 0)
    positions = np.arange(n)
    last = np.maximum.accumulate(np.where(event, positions, -1))
    started = (last >= 0) & is_seed[np.maximum(last, 0)]
    added = np.cumsum(step)
    origin = np.maximum(last, 0)
    value = seed_value[origin] + added - added[origin]
    write = is_seed | (is_step & started)
    frozen = [row for row, name in sending.frozen_rows if name == zone_name]
    if frozen:
        write[np.asarray(frozen, dtype=np.int64)] = False
    for index, layout in enumerate(layouts):
        zone = layout.by_name.get(zone_name)
        if zone is None:
            continue
        rows = np.flatnonzero(write & (layout_of == index))
        if rows.size == 0:
            continue
        chars, ok = encode_many(zone, value[rows])
        sending.rows[rows[ok], zone.offset : zone.end] = chars[ok]
