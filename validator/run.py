"""Running a validation: stream the file through the plan, then the end-of-file checks.

Input: a compiled rulebook, a binary stream, the reference date ("today") and optionally a
date that overrides the governing date of every rule (``as_of``).
Output: a ``Report``. Each block of records is evaluated together with a few context records
(the previous record, the last record of each type rules refer to) and one lookahead record,
so results do not depend on where blocks are cut. Memory stays bounded by a block.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from compiler import Compiled, ir
from validator.aggregates import AggRuntime, closed_openers
from validator.amounts import (
    AmountsRun,
)
from validator.chunk import Chunk
from validator.findings import reader_checks
from validator.passes import FINAL, OPENERS, PHASE1, PHASE2, SEGMENTS, Emit, Pass
from validator.plan import Plan, RulePlan
from validator.reader import (
    Reader,
    ReaderFinding,
    reader_finding,
)
from validator.scope import Env, Scope
from validator.tally import Tally
from validator.values import Ints
from validator.words import reader_detail

MAX_RETAINED = 100_000
FATAL = frozenset({"empty_file", "not_a_sending", "truncated_header"})  # no rule runs after


def date_int(d: dt.date) -> int:
    return d.year * 10000 + d.month * 100 + d.day


@dataclass(slots=True)
class Carried:
    """A record kept for later chunks: its bytes, ordinal, invoice number, flagged zones."""

    ordinal: int
    row: np.ndarray
    invoice: int
    flags: frozenset[str] = frozenset()
    outside: frozenset[str] = frozenset()  # the groups it is in no occurrence of


def carry(chunk: Chunk, i: int, groups: tuple[ir.Group, ...] = ()) -> Carried:
    """Keep row ``i`` of a chunk, with the zones its findings flagged (and, for the previous
    record of the next chunk, the ``groups`` it is outside of)."""
    flags = frozenset(name for name, mask in chunk.flags.items() if mask[i])
    outside = frozenset(g.name for g in groups if chunk.group_start(g)[i] < 0)
    return Carried(
        int(chunk.ordinals[i]), chunk.rows[i].copy(), int(chunk.invoices[i]), flags, outside
    )


@dataclass(slots=True)
class Run:
    """One validation in progress."""

    plan: Plan
    today: int
    as_of: int | None
    env: Env = field(init=False)
    aggs: list[AggRuntime] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)  # the findings: counted, listed up to a bound
    carried: dict[str, Carried] = field(default_factory=dict)
    previous: Carried | None = None
    last_rows: dict[str, Carried] = field(default_factory=dict)
    retained: dict[str, list[Carried]] = field(default_factory=dict)
    overflow: set[str] = field(default_factory=set)
    invoice_count: int = 0
    open_opener: dict[str, int] = field(default_factory=dict)
    invoices_with: dict[int, set[str]] = field(default_factory=dict)
    segments: dict[str, bytes] = field(default_factory=dict)
    segment_arrays: dict[str, np.ndarray] = field(default_factory=dict)
    seg_flags: dict[str, dict[str, bool]] = field(default_factory=dict)
    amounts: AmountsRun | None = None
    final_scopes: dict[tuple[str, int], Scope] = field(default_factory=dict)  # per pass, phase
    governing: int | None = None  # the sending's default governing date, once read

    def __post_init__(self) -> None:
        totals = self.plan.compiled.amounts
        group = self.plan.compiled.message.groups.get(totals.group) if totals else None
        if totals is not None and group is not None and group.opener is not None:
            self.amounts = AmountsRun(spec=totals, opener=group.opener)
        self.env = Env(
            compiled=self.plan.compiled,
            today=self.today,
            as_of=self.as_of,
            date_fns=self.plan.date_fns,
        )
        runtimes: dict[int, AggRuntime] = {}  # one per aggregate of the plan
        for spec in self.plan.aggregates:
            if spec.runtime not in runtimes:
                runtimes[spec.runtime] = AggRuntime(
                    node=spec.node,
                    mode=spec.mode,
                    parts=spec.parts,
                    this_key=spec.this_key,
                    group=spec.group,
                    share=spec.share,
                )
            self.env.aggregates[id(spec.node)] = runtimes[spec.runtime]
        self.aggs = [runtimes[k] for k in sorted(runtimes)]

    @property
    def compiled(self) -> Compiled:
        return self.plan.compiled

    @property
    def groups(self) -> tuple[ir.Group, ...]:
        return tuple(self.compiled.message.groups.values())

    # ------------------------------------------------------------------ chunks

    def steps(self, rows: np.ndarray, first: int, lookahead: np.ndarray | None) -> Iterator[Pass]:
        """Process one block of records; yields the two passes of stream rules, which the
        caller evaluates (``evaluate``), alone or together with other files' passes."""
        context = sorted(
            {
                c.ordinal: c
                for c in [*self.carried.values(), *([self.previous] if self.previous else [])]
            }.values(),
            key=lambda c: c.ordinal,
        )
        parts = [np.stack([c.row for c in context])] if context else []
        parts.append(rows)
        if lookahead is not None:
            parts.append(lookahead[None, :])
        combined = np.concatenate(parts) if len(parts) > 1 else rows
        n_new = rows.shape[0]
        ordinals = np.concatenate(
            [
                np.array([c.ordinal for c in context], dtype=np.int64),
                np.arange(first, first + n_new, dtype=np.int64),
                np.array([first + n_new] if lookahead is not None else [], dtype=np.int64),
            ]
        )
        is_new = np.zeros(combined.shape[0], dtype=np.bool_)
        is_new[len(context) : len(context) + n_new] = True
        chunk = Chunk(
            rows=combined,
            ordinals=ordinals,
            is_new=is_new,
            invoices=np.zeros(combined.shape[0], dtype=np.int64),
            layouts=self.plan.records,
            key_length=self.compiled.message.key_length,
            eof=lookahead is None,
        )
        for k, c in enumerate(context):
            for name in c.flags:
                chunk.flag(name, np.array([k]))
        if self.previous is not None:  # the last context row: no occurrence goes on past it
            chunk.cut = {name: len(context) - 1 for name in self.previous.outside}
        self._number_invoices(chunk, context)
        chunk.segments = self.segment_arrays
        chunk.segment_flags = self.seg_flags
        reader_checks(self, chunk)
        chunk.flags_at_phase1 = chunk.flag_count
        yield Pass(self, chunk, PHASE1)  # the amounts of its new records, then the rules
        chunk.forget_values()  # values read before phase 1 flagged zones would miss the flags
        yield Pass(self, chunk, PHASE2)  # the aggregates' contributions, then the rules of phase 2
        yield Pass(self, chunk, OPENERS)  # the rules of groups completed in this chunk
        for agg in self.aggs:
            agg.end_chunk()
        self._keep(chunk)
        chunk.release()  # scopes point back at the chunk: break the cycle, free it now

    def _number_invoices(self, chunk: Chunk, context: list[Carried]) -> None:
        group = self.plan.invoice_group
        if group is None or group.opener is None:
            return
        openers = chunk.rows_of(group.opener)
        numbers = np.zeros(chunk.n, dtype=np.int64)
        new_openers = openers[chunk.is_new[openers]]
        numbers[new_openers] = self.invoice_count + np.arange(1, new_openers.size + 1)
        self.invoice_count += int(new_openers.size)
        by_ordinal = {c.ordinal: c.invoice for c in context}
        for i in openers[~chunk.is_new[openers]]:
            numbers[i] = by_ordinal.get(int(chunk.ordinals[i]), 0)
        start = chunk.group_start(group)
        chunk.invoices = np.where(start >= 0, numbers[np.maximum(start, 0)], 0)

    def contribute(self, chunk: Chunk, shared: dict[object, object]) -> None:
        """The chunk's contributions to the running aggregates (``shared``: those already
        computed, by aggregate source)."""
        for agg in self.aggs:
            agg.contributions(chunk, self.env, shared)

    def closed_groups(self, chunk: Chunk) -> dict[str, Ints]:
        """Per group with opener rules, its openers in this chunk whose occurrence is
        complete (their rules can be reported); remembers the one still open."""
        closed_by_group: dict[str, Ints] = {}
        for _, group in self.plan.openers:
            if group.name in closed_by_group:
                continue
            assert group.opener is not None
            candidates = chunk.rows_of(group.opener)
            waiting = self.open_opener.get(group.name)
            eligible = chunk.is_new[candidates] | (chunk.ordinals[candidates] == waiting)
            candidates = candidates[eligible & (chunk.ordinals[candidates] != -1)]
            closed_by_group[group.name] = closed_openers(chunk, group, candidates)
            lasts = np.flatnonzero(chunk.is_new)
            if lasts.size:
                s = int(chunk.group_start(group)[lasts[-1]])
                still_open = s >= 0 and s not in set(closed_by_group[group.name].tolist())
                if still_open:
                    self.open_opener[group.name] = int(chunk.ordinals[s])
                else:
                    self.open_opener.pop(group.name, None)
        return closed_by_group

    def _keep(self, chunk: Chunk) -> None:
        new_idx = np.flatnonzero(chunk.is_new)
        if new_idx.size == 0:
            return
        last = int(new_idx[-1])
        self.previous = carry(chunk, last, self.groups)
        all_new = new_idx.size == chunk.n  # the usual case: no context rows to leave out
        for lay in self.plan.records:
            rows = chunk.rows_of(lay.name)
            if not all_new:
                rows = rows[chunk.is_new[rows]]
            if rows.size == 0:
                continue
            i = int(rows[-1])
            kept = carry(chunk, i)
            self.last_rows[lay.name] = kept
            if lay.name in self.plan.carry:
                self.carried[lay.name] = kept
            if lay.name in self.plan.retain:
                store = self.retained.setdefault(lay.name, [])
                room = MAX_RETAINED - len(store)
                if rows.size > room:
                    self.overflow.add(lay.name)
                for j in rows[: max(room, 0)]:
                    store.append(carry(chunk, int(j)))

    # ------------------------------------------------------------------ end of file

    def start(self, reader: Reader) -> Iterator[Pass]:
        """Once the segments are read: their own-format rules run first (phase 1)."""
        self.segments = dict(reader.segments)
        self.segment_arrays = {
            name: np.frombuffer(raw, dtype=np.uint8) for name, raw in self.segments.items()
        }
        empty = Chunk(
            rows=np.zeros((0, self.compiled.message.record_length), dtype=np.uint8),
            ordinals=np.zeros(0, dtype=np.int64),
            is_new=np.zeros(0, dtype=np.bool_),
            invoices=np.zeros(0, dtype=np.int64),
            layouts=self.plan.records,
            key_length=self.compiled.message.key_length,
            eof=False,
        )
        empty.segments = self.segment_arrays
        empty.segment_flags = self.seg_flags
        yield Pass(self, empty, SEGMENTS)

    def finish(self, reader: Reader) -> Iterator[Pass]:
        self.final_scopes.clear()  # start() evaluated on another chunk
        if any(f.condition in FATAL for f in reader.findings):
            return  # nothing was read: the reader's finding says why, rules would only echo it
        emit_ordinals: set[int] = set()
        rows: dict[int, Carried] = {c.ordinal: c for c in self.last_rows.values()}
        for store in self.retained.values():
            for c in store:
                rows[c.ordinal] = c
                emit_ordinals.add(c.ordinal)
        ordered = sorted(rows.values(), key=lambda c: c.ordinal)
        length = self.compiled.message.record_length
        data = np.stack([c.row for c in ordered]) if ordered else np.zeros((0, length), np.uint8)
        chunk = Chunk(
            rows=data,
            ordinals=np.array([c.ordinal for c in ordered], dtype=np.int64),
            is_new=np.array([c.ordinal in emit_ordinals for c in ordered], dtype=np.bool_),
            invoices=np.array([c.invoice for c in ordered], dtype=np.int64),
            layouts=self.plan.records,
            key_length=self.compiled.message.key_length,
            eof=True,
            final=True,
        )
        chunk.segments = self.segment_arrays
        chunk.segment_flags = self.seg_flags
        for k, c in enumerate(ordered):
            for name in c.flags:
                chunk.flag(name, np.array([k]))
        yield Pass(self, chunk, FINAL)
        for name in sorted(self.overflow):
            self.tally.add(
                reader_finding(
                    self.compiled,
                    ReaderFinding(
                        "too_many_records",
                        detail=reader_detail("overflow", max=MAX_RETAINED, name=name),
                    ),
                    record_type=self.compiled.layouts[name].digits,
                )
            )

    def final_scope(self, chunk: Chunk, rp: RulePlan) -> tuple[Scope, Emit] | None:
        """The scope an end-of-file rule runs on in this file (None: nothing to check), and
        how its findings are reported."""
        rule = rp.rule
        layout = rp.layout
        if layout.kind == "segment":
            raw = self.segments.get(layout.name)
            if raw is None:
                return None  # the reader already reported the missing or broken segments
            # one scope per segment and phase, as stream rules share one per record type
            key = (layout.name, rule.phase)
            scope = self.final_scopes.get(key)
            if scope is None:
                scope = Scope(chunk, layout, np.zeros(1, dtype=np.int64), self.env)
                scope.segment_row = np.frombuffer(raw, dtype=np.uint8)
                scope.seg_flags = self.seg_flags.setdefault(layout.name, {})
                self.final_scopes[key] = scope
            return scope, Emit(segment=layout.digits)
        if rule.per_sending:
            return Scope(chunk, layout, np.zeros(1, dtype=np.int64), self.env), Emit(sending=True)
        idx = chunk.rows_of(layout.name)
        if idx.size == 0:
            return None
        key = (layout.name, rule.phase)  # one scope per record type and phase, as in the stream
        scope = self.final_scopes.get(key)
        if scope is None:
            scope = self.final_scopes[key] = Scope(chunk, layout, idx, self.env)
        return scope, Emit(rows=chunk.is_new[idx])

    # ------------------------------------------------------------------ findings
