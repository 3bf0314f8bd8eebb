"""Running a validation: stream the file through the plan, then the end-of-file checks.

Input: a compiled rulebook, a binary stream, the reference date ("today") and optionally a
date that overrides the governing date of every rule (``as_of``).
Output: a ``Report``. Each block of records is evaluated together with a few context records
(the previous record, the last record of each type rules refer to) and one lookahead record,
so results do not depend on where blocks are cut. Memory stays bounded by a block.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field

import numpy as np

from compiler import Compiled, ir
from validator.aggregates import (
    AggRuntime,
    Contributions,
    accumulate_batch,
    closed_openers,
    source_contributions,
)
from validator.amounts import (
    REJECTED,
    AmountsRun,
    amounts_nothing,
    collect_lines,
    new_values,
    zone_ref,
)
from validator.chunk import Chunk, ChunkRows
from validator.evaluate import Env, Scope, layout_scope, zone_value
from validator.explain import Computed, side_values
from validator.plan import Plan, RulePlan, no_rows, plan_for
from validator.reader import (
    DEFAULT_BLOCK_RECORDS,
    PRINTABLE_HIGH,
    PRINTABLE_LOW,
    ByteSource,
    Reader,
    ReaderFinding,
    reader_finding,
)
from validator.report import Finding, Report
from validator.tally import Tally
from validator.values import Bool, Ints, Val, member, some, spread
from validator.verdict import decide, error_rate
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


def carry(chunk: Chunk, i: int) -> Carried:
    """Keep row ``i`` of a chunk, with the zones its findings flagged."""
    flags = frozenset(name for name, mask in chunk.flags.items() if mask[i])
    return Carried(int(chunk.ordinals[i]), chunk.rows[i].copy(), int(chunk.invoices[i]), flags)


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
        self._number_invoices(chunk, context)
        chunk.segments = self.segment_arrays
        chunk.segment_flags = self.seg_flags
        self._reader_checks(chunk)
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

    def _reader_checks(self, chunk: Chunk) -> None:
        new = chunk.is_new
        unknown = np.flatnonzero(new & (chunk.layout_of < 0))
        for i in unknown:
            key = chunk.rows[i, : self.compiled.message.key_length].tobytes()
            self.tally.add(
                reader_finding(
                    self.compiled,
                    ReaderFinding(
                        "unknown_record_type",
                        record=int(chunk.ordinals[i]),
                        start=1,
                        end=self.compiled.message.key_length,
                        detail=reader_detail("record_type", found=ascii(key.decode("latin-1"))),
                    ),
                    record_type=key.decode("latin-1"),
                )
            )
        rows = chunk.rows
        if not rows.size or (rows.min() >= PRINTABLE_LOW and rows.max() <= PRINTABLE_HIGH):
            return  # the usual case, told by two whole-array reductions
        suspect = (rows.min(axis=1) < PRINTABLE_LOW) | (rows.max(axis=1) > PRINTABLE_HIGH)
        rows_bad = np.flatnonzero(new & suspect)
        for i in rows_bad:
            bad = (chunk.rows[i] < PRINTABLE_LOW) | (chunk.rows[i] > PRINTABLE_HIGH)
            position = int(np.argmax(bad)) + 1
            byte = int(chunk.rows[i, position - 1])
            layout = chunk.layout_of[i]
            self.tally.add(
                reader_finding(
                    self.compiled,
                    ReaderFinding(
                        "invalid_characters",
                        record=int(chunk.ordinals[i]),
                        start=position,
                        end=position,
                        detail=reader_detail("byte", byte=byte, position=position),
                    ),
                    record_type=self.plan.records[layout].digits if layout >= 0 else None,
                )
            )

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
        self.previous = carry(chunk, last)
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

    def emit(
        self,
        rp: RulePlan,
        scope: Scope,
        violated: Bool,
        unexplained: Bool,
        *,
        segment: str | None = None,
        sending: bool = False,
        emit: Bool | None = None,
    ) -> None:
        """Record findings for the rows to report; flag every violated row (context too)."""
        if silent(violated, unexplained):
            return
        rule = rp.rule
        chunk = scope.chunk
        if segment is None and not sending:
            flagged = np.flatnonzero(violated)
            for name in rp.flags:
                chunk.flag(name, scope.idx[flagged])
        elif segment is not None and some(violated) and scope.seg_flags is not None:
            for name in rp.flags:
                scope.seg_flags[name] = True
        if emit is not None:
            violated = violated & emit
            unexplained = unexplained & emit
        hits = np.flatnonzero(violated)
        tally = self.tally
        assert self.plan.explainer is not None
        sides = self.plan.explainer.sides(rule)
        values: tuple[Val, Val] | None = None
        for k in hits:
            if tally.wants(rule.code):
                computed = None
                if sides is not None:
                    if values is None:  # once per scope, when a finding is listed
                        values = side_values(sides, scope)
                    computed = (*values, sides, int(k), scope.n)
                tally.add(
                    self._finding(
                        rule,
                        rp.layout,
                        scope,
                        int(k),
                        segment,
                        sending,
                        explain=True,
                        computed=computed,
                    )
                )
            else:  # counted, not listed: no Finding made
                tally.count(rule.code, rule.letter, *self._place(scope, int(k), segment, sending))
        info = self.compiled.reader_code("rule_not_evaluable")
        for k in np.flatnonzero(unexplained & ~violated):
            base = self._finding(rule, rp.layout, scope, int(k), segment, sending)
            self.tally.add(
                Finding(
                    code=info.code,
                    letter=info.letter,
                    segment=base.segment,
                    record=base.record,
                    record_type=base.record_type,
                    zone=base.zone,
                    start=base.start,
                    end=base.end,
                    invoice=base.invoice,
                    fr=info.fr,
                    nl=info.nl,
                    source=base.source,
                    line=base.line,
                    zone_label_fr=base.zone_label_fr,
                    zone_label_nl=base.zone_label_nl,
                    value=base.value,
                    detail=reader_detail("not_evaluable", code=rule.code),
                )
            )

    @staticmethod
    def _place(
        scope: Scope, k: int, segment: str | None, sending: bool
    ) -> tuple[int | None, int | None]:
        """(record, invoice) of the finding on row ``k`` of the scope."""
        if segment is not None or sending:
            return None, None
        row = int(scope.idx[k])
        return int(scope.chunk.ordinals[row]), int(scope.chunk.invoices[row]) or None

    def _finding(
        self,
        rule: ir.Rule,
        layout: ir.Layout,
        scope: Scope,
        k: int,
        segment: str | None,
        sending: bool,
        *,
        explain: bool = False,
        computed: Computed | None = None,
    ) -> Finding:
        """The finding of ``rule`` on row ``k``; with ``explain``, its detail (what the rule
        expected, ``computed``: a comparison's sides on this scope)."""
        zone = rule.zone
        chunk = scope.chunk
        record = invoice = None
        value: str | None = None
        if segment is not None:
            assert scope.segment_row is not None
            value = scope.segment_row[zone.offset : zone.end].tobytes().decode("latin-1")
        elif not sending:
            row = int(scope.idx[k])
            record = int(chunk.ordinals[row])
            invoice = int(chunk.invoices[row]) or None
            value = chunk.rows[row, zone.offset : zone.end].tobytes().decode("latin-1")
        return Finding(
            code=rule.code,
            letter=rule.letter,
            segment=segment,
            record=record,
            record_type=None if segment is not None else layout.digits,
            zone=rule.zone_label,
            start=zone.start1 if not sending else None,
            end=zone.end if not sending else None,
            invoice=invoice,
            fr=rule.fr,
            nl=rule.nl,
            source=rule.source,
            line=rule.line,
            zone_label_fr=zone.fr,
            zone_label_nl=zone.nl,
            value=value,
            detail=self.plan.explainer.detail(rule, value, computed)
            if explain and self.plan.explainer is not None
            else None,
        )


def silent(violated: Bool, unexplained: Bool) -> bool:
    """Whether a rule's result has nothing to report (no violation, nothing unexplained)."""
    return not some(violated) and (
        unexplained is no_rows(len(unexplained)) or not some(unexplained)
    )


PHASE1, PHASE2, OPENERS = "phase 1", "phase 2", "openers"  # the stream rules of a chunk
SEGMENTS, FINAL = "segments", "end of file"  # the segments' format rules; end-of-file rules
GOVERNING = "governing date"  # the sending's default governing date


@dataclass(frozen=True, slots=True)
class Pass:
    """A chunk of one validation whose rules of one kind are due (the kinds above)."""

    run: Run
    chunk: Chunk
    kind: str


@dataclass(frozen=True, slots=True)
class Emit:
    """How a rule's findings in one file are reported: on a segment, on the sending, or on
    the records of its scope marked in ``rows``."""

    segment: str | None = None
    sending: bool = False
    rows: Bool | None = None


Target = tuple[Run, Scope, Emit | None]  # a file's part of an evaluation (None: not reported)


def scatter(rp: RulePlan, targets: list[Target], violated: Bool, unexplained: Bool) -> None:
    """A rule's result on a scope that is the targets' scopes one after the other: each
    file's share goes to its own validation."""
    if silent(violated, unexplained):
        return
    at = 0
    for run, scope, how in targets:
        lo, at = at, at + scope.n
        if how is not None:
            run.emit(
                rp,
                scope,
                violated[lo:at],
                unexplained[lo:at],
                segment=how.segment,
                sending=how.sending,
                emit=how.rows,
            )


Joined = dict[tuple[str, tuple[int, ...]], Scope]  # (layout, ids of the chunks) -> scope


def evaluate(passes: list[Pass], joined: Joined | None = None) -> None:
    """Run the stream rules of one phase on the chunks of one or more validations.

    The records of a type are evaluated together across the chunks (``Scope.joined``),
    and each chunk's findings go to its own validation: the same findings as evaluating
    each chunk alone, for the fixed cost of one evaluation."""
    plan = passes[0].run.plan
    kind = passes[0].kind
    if joined is None:
        joined = {}
    elif kind == PHASE2:
        if any(p.chunk.flagged_in_phase1 for p in passes):  # as Chunk.forget_values
            for scope in joined.values():
                scope.cache.clear()
    elif kind != OPENERS:  # openers see the values of phase 2, as on one chunk alone
        joined.clear()  # new chunks
    if kind in (SEGMENTS, FINAL):
        evaluate_final(passes, joined)
        return
    if kind == GOVERNING:
        evaluate_governing(passes)
        return
    batch = ChunkRows([p.chunk for p in passes]) if len(passes) > 1 else None
    streamed: dict[str, list[int]] = {}  # per record type, the chunks with new records of it

    def members_of(layout: str) -> list[int]:
        found = streamed.get(layout)
        if found is None:
            found = streamed[layout] = []
            for k, p in enumerate(passes):
                idx = p.chunk.rows_of(layout)
                if idx.size and some(p.chunk.is_new[idx]):  # else only context rows
                    found.append(k)
        return found

    phase = 1 if kind == PHASE1 else 2

    def scope_of(layout: ir.Layout, members: list[int]) -> Scope:
        """The scope of ``layout`` over the chunks of these passes (joined if several)."""
        if len(members) == 1:
            p = passes[members[0]]
            return layout_scope(p.chunk, layout, p.run.env)
        key = (layout.name, tuple(id(passes[k].chunk) for k in members))
        found = joined.get(key)
        if found is None:
            parts = [layout_scope(passes[k].chunk, layout, passes[k].run.env) for k in members]
            found = joined[key] = Scope.joined(parts, batch)
            found.registry = joined
        return found

    if kind == OPENERS:
        evaluate_openers(passes, scope_of, members_of)
        return
    if kind == PHASE1:
        add_amounts(passes, scope_of, members_of)
    if phase == 2:
        if len(passes) > 1:
            batch_accumulate(passes, scope_of)
        else:
            passes[0].run.contribute(passes[0].chunk, {})
    rules = plan.phase1 if phase == 1 else plan.phase2
    for layout_name, plans in rules.items():
        members = members_of(layout_name)  # context rows only: their flags came along
        if not members:
            continue
        targets: list[Target] = []
        for k in members:
            p = passes[k]
            scope = layout_scope(p.chunk, plans[0].layout, p.run.env)
            targets.append((p.run, scope, Emit(rows=p.chunk.is_new[scope.idx])))
        whole = scope_of(plans[0].layout, members)
        screen = plan.screens.get((phase, layout_name))
        for rp in plans if screen is None else screen.keep(whole, plans):
            scatter(rp, targets, *rp.fn(whole))


def add_amounts(
    passes: list[Pass],
    scope_of: Callable[[ir.Layout, list[int]], Scope],
    members_of: Callable[[str], list[int]],
) -> None:
    """Each chunk's amounts (``AmountsRun``), its zones read through the record types'
    scopes that the rules then use: for several chunks, the joined ones, the lines of all
    the chunks collected at once, then each chunk's share kept by its validation."""
    first = passes[0].run.amounts
    if first is None:
        return
    if len(passes) == 1:
        first.add(passes[0].chunk, passes[0].run.env)
        return
    layouts = {layout.name: layout for layout in passes[0].run.plan.records}
    offsets = np.cumsum([0, *(p.chunk.n for p in passes)])

    def read(name: str, zone: ir.Zone) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The zone on the new records of that type in all the chunks (rows: one after
        the other)."""
        members = members_of(name) if name in layouts else []
        if not members:
            return amounts_nothing()
        whole = scope_of(layouts[name], members)
        value = zone_value(whole, zone_ref(name, zone))
        parts = whole.parts if whole.parts is not None else (whole,)
        values, unknown, rows = [], [], []
        at = 0
        for k, part in zip(members, parts, strict=True):
            data, bad, idx = new_values(part, value, at)
            at += part.n
            values.append(data)
            unknown.append(bad)
            rows.append(idx + offsets[k])
        return np.concatenate(values), np.concatenate(unknown), np.concatenate(rows)

    key, bad, openers = read(first.opener, first.spec.key)
    lines, index, amount = collect_lines(first.spec, read)
    o_cut = np.searchsorted(openers, offsets).tolist()
    l_cut = np.searchsorted(lines, offsets).tolist()
    for k, p in enumerate(passes):
        run = p.run.amounts
        assert run is not None
        a, b = o_cut[k], o_cut[k + 1]
        run.add_openers(p.chunk, key[a:b], bad[a:b], openers[a:b] - offsets[k])
        a, b = l_cut[k], l_cut[k + 1]
        run.add_lines(p.chunk, lines[a:b] - offsets[k], index[a:b], amount[a:b])


def evaluate_openers(
    passes: list[Pass],
    scope_of: Callable[[ir.Layout, list[int]], Scope],
    members_of: Callable[[str], list[int]],
) -> None:
    """The opener rules (``mode opener``) of the groups each chunk completes: evaluated on
    every opener of the chunk, on the scope the stream rules used (its values as they were),
    reported for the openers whose group is complete."""
    closed = [p.run.closed_groups(p.chunk) for p in passes]
    completed: dict[tuple[int, str], Bool] = {}  # per chunk and group: its openers to report

    def emit_rows(k: int, scope: Scope, group: str) -> Bool:
        found = completed.get((k, group))
        if found is None:  # both sorted rows of the chunk: a binary search
            found = completed[(k, group)] = member(scope.idx, closed[k][group])
        return found

    for rp, group in passes[0].run.plan.openers:
        due = [k for k in range(len(passes)) if closed[k][group.name].size]
        if not due:
            continue
        streamed = members_of(rp.layout.name)
        groups = [(streamed, [k for k in due if k in streamed])]
        groups += [([k], [k]) for k in due if k not in streamed]  # context openers only
        for members, report in groups:
            if not report:
                continue
            targets: list[Target] = []
            for k in members:
                p = passes[k]
                scope = layout_scope(p.chunk, rp.layout, p.run.env)
                how = Emit(rows=emit_rows(k, scope, group.name)) if k in report else None
                targets.append((p.run, scope, how))
            scatter(rp, targets, *rp.fn(scope_of(rp.layout, members)))


def evaluate_final(passes: list[Pass], joined: Joined) -> None:
    """The segments' format rules (``SEGMENTS``) or the end-of-file rules (``FINAL``) of one
    or more validations, each rule once on the joined scopes of the files it applies to."""
    plan = passes[0].run.plan
    segments = passes[0].kind == SEGMENTS
    batch = ChunkRows([p.chunk for p in passes]) if len(passes) > 1 and not segments else None
    shared: dict[tuple[str, int], tuple[list[Target], Scope | None]] = {}  # per type, phase
    for rp in plan.final:
        early = rp.layout.kind == "segment" and rp.rule.phase == 1
        if early != segments:
            continue  # the segments' own format rules run once, before the records
        group = None if rp.rule.per_sending else (rp.layout.name, rp.rule.phase)
        found = shared.get(group) if group is not None else None
        if found is None:
            found = final_targets(passes, rp, batch, joined)
            if group is not None:
                shared[group] = found  # the same scopes for every rule of the group
        targets, whole = found
        if whole is not None:
            scatter(rp, targets, *rp.fn(whole))


def final_targets(
    passes: list[Pass], rp: RulePlan, batch: ChunkRows | None, joined: Joined
) -> tuple[list[Target], Scope | None]:
    """Where an end-of-file rule runs in each file, and the scope joining them (None: in
    none of the files)."""
    targets: list[Target] = []
    for p in passes:
        found = p.run.final_scope(p.chunk, rp)
        if found is not None:
            targets.append((p.run, *found))
    if not targets:
        return targets, None
    scopes = [scope for _, scope, _ in targets]
    if len(scopes) == 1:
        return targets, scopes[0]
    # other records are read at once through the batch's rows (a segment's from its file's
    # first row)
    if rp.rule.per_sending:
        return targets, Scope.joined(scopes, batch)  # a scope of its own, as for one file
    key = (f"{rp.layout.name} {rp.rule.phase}", tuple(id(s) for s in scopes))
    whole = joined.get(key)
    if whole is None:
        whole = joined[key] = Scope.joined(scopes, batch)
    return targets, whole


def batch_accumulate(passes: list[Pass], scope_of: Callable[[ir.Layout, list[int]], Scope]) -> None:
    """The aggregates' contributions of the chunks of several passes, computed once on their
    records one after the other (joined scopes), and folded into each file's runtimes: at
    once for the batch when nothing unknown is involved (``accumulate_batch``), else each
    chunk's share as ``Run.contribute`` would on that chunk alone."""
    sizes = [p.chunk.n for p in passes]
    offsets = np.cumsum([0, *sizes]).tolist()
    chunks = [p.chunk for p in passes]
    found: dict[str, tuple[Scope, Ints, Bool] | None] = {}

    def rows(layout: ir.Layout) -> tuple[Scope, Ints, Bool] | None:
        if layout.name not in found:
            members = [k for k, p in enumerate(passes) if p.chunk.rows_of(layout.name).size]
            if not members:
                found[layout.name] = None
            else:
                idx = [passes[k].chunk.rows_of(layout.name) for k in members]
                found[layout.name] = (
                    scope_of(layout, members),
                    np.concatenate([offsets[k] + i for k, i in zip(members, idx, strict=True)]),
                    np.concatenate(
                        [passes[k].chunk.is_new[i] for k, i in zip(members, idx, strict=True)]
                    ),
                )
        return found[layout.name]

    computed: dict[int, Contributions] = {}
    shared: list[dict[object, object]] = [{} for _ in passes]
    for r, agg in enumerate(passes[0].run.aggs):
        whole = computed.get(agg.share)
        if whole is None:
            whole = computed[agg.share] = source_contributions(agg.parts, offsets[-1], rows)
        runtimes = [p.run.aggs[r] for p in passes]
        if accumulate_batch(runtimes, chunks, offsets, whole):
            continue
        c, cu, cx, keyed = whole
        for k, (p, runtime) in enumerate(zip(passes, runtimes, strict=True)):
            lo, hi = offsets[k], offsets[k + 1]
            own = shared[k].get(agg.share)
            if own is None:
                unknown = cu is not None and cx is not None and some(cu[lo:hi])
                own_keyed = []
                for idx, kdata, kunk, kunx in keyed:
                    a, b = np.searchsorted(idx, [lo, hi]).tolist()
                    own_keyed.append(
                        (
                            idx[a:b] - lo,
                            kdata[a:b],
                            None if kunk is None else kunk[a:b],
                            None if kunx is None else kunx[a:b],
                        )
                    )
                own = shared[k][agg.share] = (
                    c[lo:hi],
                    cu[lo:hi] if unknown and cu is not None else None,
                    cx[lo:hi] if unknown and cx is not None else None,
                    own_keyed,
                )
            runtime.contributions(p.chunk, p.run.env, shared[k])


Validation = Generator[Pass, None, Report]


def drive(validations: list[Validation]) -> list[Report]:
    """Run validations side by side: whenever several wait for the same pass, their chunks
    are evaluated together (``evaluate``). One validation alone runs as before."""
    reports: list[Report | None] = [None] * len(validations)
    waiting: list[tuple[int, Pass]] = []
    joined: Joined = {}  # kept from phase 1 to phase 2 of the same chunks

    def advance(i: int) -> None:
        try:
            waiting.append((i, next(validations[i])))
        except StopIteration as done:
            reports[i] = done.value

    for i in range(len(validations)):
        advance(i)
    while waiting:
        kind = waiting[0][1].kind
        due = [(i, p) for i, p in waiting if p.kind == kind]
        waiting = [(i, p) for i, p in waiting if p.kind != kind]
        evaluate([p for _, p in due], joined)
        for i, _ in due:
            advance(i)
    return [r for r in reports if r is not None]


def validate(
    compiled: Compiled,
    stream: ByteSource,
    *,
    name: str = "-",
    today: dt.date | None = None,
    as_of: dt.date | None = None,
    block_records: int = DEFAULT_BLOCK_RECORDS,
    keep: int | None = None,
) -> Report:
    """Validate one file; never raises for bad file content (bad input becomes findings).
    ``keep``: findings listed per code (the others counted; None: all listed)."""
    (report,) = validate_many(
        compiled,
        [(name, stream)],
        today=today,
        as_of=as_of,
        block_records=block_records,
        keep=keep,
    )
    return report


def validate_many(
    compiled: Compiled,
    files: list[tuple[str, ByteSource]],
    *,
    today: dt.date | None = None,
    as_of: dt.date | None = None,
    block_records: int = DEFAULT_BLOCK_RECORDS,
    keep: int | None = None,
) -> list[Report]:
    """Validate several files together (``drive``): each report is the one ``validate``
    gives for that file alone, for less work than validating them one by one."""
    return drive(
        [
            validation(
                compiled,
                stream,
                name=name,
                today=today,
                as_of=as_of,
                block_records=block_records,
                keep=keep,
            )
            for name, stream in files
        ]
    )


def validation(
    compiled: Compiled,
    stream: ByteSource,
    *,
    name: str = "-",
    today: dt.date | None = None,
    as_of: dt.date | None = None,
    block_records: int = DEFAULT_BLOCK_RECORDS,
    keep: int | None = None,
) -> Validation:
    """One validation as a generator: it yields the passes of stream rules it needs
    evaluated (see ``drive``) and returns the report."""
    plan = plan_for(compiled)
    today_int = date_int(today or dt.date.today())
    run = Run(plan=plan, today=today_int, as_of=date_int(as_of) if as_of else None)
    run.tally.keep = keep
    reader = Reader(stream=stream, compiled=compiled, block_records=block_records)
    reader.read_header()
    yield from run.start(reader)
    blocks = reader.blocks()
    current = next(blocks, None)
    while current is not None:
        following = next(blocks, None)
        lookahead = following[0][0] if following is not None else None
        yield from run.steps(current[0], current[1], lookahead)
        current = following
    reader.drain()
    yield from run.finish(reader)
    yield from governing_pass(run)
    tally = run.tally
    for f in reader.findings:
        tally.add(reader_finding(compiled, f))
    findings = sorted(tally.listed, key=Finding.sort_key)
    governing = run.governing
    decisive = governing if governing is not None else today_int
    # amounts refused by the findings alone (the rate's "amounts" basis), then as the verdict has it
    refusals = run.amounts.result(tally, "accepted_with_errors") if run.amounts else None
    rate = error_rate(
        compiled,
        tally,
        invoices=run.invoice_count,
        records=reader.records,
        date=decisive,
        amounts=refusals,
    )
    seg200 = (
        reader.segments.get(compiled.message.segments[0]) if compiled.message.segments else None
    )
    verdict = decide(compiled, tally, rate, decisive)
    amounts = refusals
    if run.amounts is not None and verdict in REJECTED:
        amounts = run.amounts.result(tally, verdict)
    return Report(
        rulebook_version=compiled.version,
        rulebook_hash=compiled.hash,
        file_name=name,
        file_sha256=reader.sha256,
        message=seg200[:6].decode("latin-1") if seg200 else None,
        records=reader.records,
        invoices=run.invoice_count,
        verdict=verdict,
        findings=tuple(findings),
        code_counts=dict(sorted(tally.by_code.items())),
        letter_counts=dict(tally.by_letter),
        omitted=tally.omitted,
        error_rate=round(rate, 6),
        reference_date=_iso(today_int),
        governing_date=_iso(governing) if governing is not None else None,
        amounts=amounts,
    )


def _iso(value: int) -> str:
    return f"{value // 10000:04d}-{value // 100 % 100:02d}-{value % 100:02d}"


def governing_pass(run: Run) -> Iterator[Pass]:
    """The pass that reads the default governing date of the sending from its first record
    (``evaluate_governing``), when the rulebook has one and ``as_of`` does not set it."""
    if run.as_of is not None:
        run.governing = run.as_of
        return
    first = run.plan.records[0]
    kept = run.last_rows.get(first.name)
    if kept is None or (run.compiled.default_date, first.name) not in run.plan.date_fns:
        return
    chunk = Chunk(  # the first record alone: the date is read from it, not from others
        rows=kept.row[None, :],
        ordinals=np.array([kept.ordinal]),
        is_new=np.array([True]),
        invoices=np.zeros(1, np.int64),
        layouts=run.plan.records,
        key_length=run.compiled.message.key_length,
        eof=True,
    )
    yield Pass(run, chunk, GOVERNING)


def evaluate_governing(passes: list[Pass]) -> None:
    """The default governing date of each sending: its date expression evaluated once on
    the first records of all the passes (one per file), each file's value kept on its run."""
    plan = passes[0].run.plan
    first = plan.records[0]
    fn = plan.date_fns[(plan.compiled.default_date, first.name)]
    scopes = [Scope(p.chunk, first, np.zeros(1, dtype=np.int64), p.run.env) for p in passes]
    batch = ChunkRows([p.chunk for p in passes]) if len(passes) > 1 else None
    whole = scopes[0] if len(scopes) == 1 else Scope.joined(scopes, batch)
    value = fn(whole)
    data = spread(np.asarray(value.data), whole.n).tolist()
    unknown = [False] * whole.n if value.unknown is None else spread(value.unknown, whole.n)
    for p, date, bad in zip(passes, data, unknown, strict=True):
        p.run.governing = None if bad else int(date)
