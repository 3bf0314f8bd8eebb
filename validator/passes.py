"""The passes of one or more validations evaluated together: per chunk the rules of phase 1
(and the amounts), the aggregates' contributions and the rules of phase 2, the rules of the
groups the chunk completes; the segments' format rules; the end-of-file rules; the sending's
governing date. Each rule runs once on the records of its type in all the chunks due, and each
file's share of the result goes to its own validation (``scatter``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from compiler import ir
from validator.aggregate_batch import accumulate_batch
from validator.amounts import amounts_nothing, collect_lines, new_values, zone_ref
from validator.chunk import ChunkRows
from validator.contributions import Contributions, source_contributions
from validator.findings import emit, silent
from validator.plan import RulePlan
from validator.scope import Scope, layout_scope
from validator.values import Bool, Ints, member, some, spread
from validator.zones import zone_value

if TYPE_CHECKING:
    from validator.chunk import Chunk
    from validator.run import Run

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


Target = tuple["Run", Scope, "Emit | None"]  # a file's part of an evaluation (None: not reported)


def scatter(rp: RulePlan, targets: list[Target], violated: Bool, unexplained: Bool) -> None:
    """A rule's result on a scope that is the targets' scopes one after the other: each
    file's share goes to its own validation."""
    if silent(violated, unexplained):
        return
    at = 0
    for run, scope, how in targets:
        lo, at = at, at + scope.n
        if how is not None:
            emit(
                run,
                rp,
                scope,
                violated[lo:at],
                unexplained[lo:at],
                segment=how.segment,
                sending=how.sending,
                report_rows=how.rows,
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
