"""A rule's result turned into findings: the violated records listed (or counted beyond the
bound per code), each with its place and detail; the records the rule could not evaluate for a
reason nothing else reports (``rule_not_evaluable``); the zones flagged so later rules' unknown
values are explained. Also the reader's own checks of each block's records.

Input: a validation in progress (``validator.run.Run``), a rule's plan and the masks its
closure computed on a scope.
Output: findings added to the run's tally; flags set on the chunk.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from compiler import Compiled, ir
from validator.chunk import Chunk
from validator.explain import Computed, side_values
from validator.plan import RulePlan, no_rows
from validator.reader import PRINTABLE_HIGH, PRINTABLE_LOW, ReaderFinding, reader_finding
from validator.report import Finding
from validator.scope import Scope
from validator.values import Bool, Val, some
from validator.words import Detail, reader_detail

if TYPE_CHECKING:
    from validator.run import Run


def silent(violated: Bool, unexplained: Bool) -> bool:
    """Whether a rule's result has nothing to report (no violation, nothing unexplained)."""
    return not some(violated) and (
        unexplained is no_rows(len(unexplained)) or not some(unexplained)
    )


def emit(
    run: Run,
    rp: RulePlan,
    scope: Scope,
    violated: Bool,
    unexplained: Bool,
    *,
    segment: str | None = None,
    sending: bool = False,
    report_rows: Bool | None = None,
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
    if report_rows is not None:
        violated = violated & report_rows
        unexplained = unexplained & report_rows
    hits = np.flatnonzero(violated)
    tally = run.tally
    assert run.plan.explainer is not None
    sides = run.plan.explainer.sides(rule)
    values: tuple[Val, Val] | None = None
    for k in hits:
        if tally.wants(rule.code):
            computed = None
            if sides is not None:
                if values is None:  # once per scope, when a finding is listed
                    values = side_values(sides, scope)
                computed = (*values, sides, int(k), scope.n)
            tally.add(
                finding(
                    run,
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
            tally.count(rule.code, rule.letter, *place(scope, int(k), segment, sending))
    for k in np.flatnonzero(unexplained & ~violated):
        base = finding(run, rule, rp.layout, scope, int(k), segment, sending)
        run.tally.add(not_evaluable(run.compiled, base, rule.code))


def place(
    scope: Scope, k: int, segment: str | None, sending: bool
) -> tuple[int | None, int | None]:
    """(record, invoice) of the finding on row ``k`` of the scope."""
    if segment is not None or sending:
        return None, None
    row = int(scope.idx[k])
    return int(scope.chunk.ordinals[row]), int(scope.chunk.invoices[row]) or None


def finding(
    run: Run,
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
    detail = (
        run.plan.explainer.detail(rule, value, computed)
        if explain and run.plan.explainer is not None
        else None
    )
    return rule_finding(
        rule,
        layout,
        segment=segment,
        record=record,
        invoice=invoice,
        value=value,
        sending=sending,
        detail=detail,
    )


def rule_finding(
    rule: ir.Rule,
    layout: ir.Layout,
    *,
    segment: str | None,
    record: int | None,
    invoice: int | None,
    value: str | None,
    sending: bool,
    detail: Detail | None = None,
) -> Finding:
    """The finding of ``rule`` at a place: a segment (its digits), a record (its ordinal and
    invoice) or the sending; ``value``: the characters of the rule's zone there."""
    zone = rule.zone
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
        detail=detail,
    )


def not_evaluable(compiled: Compiled, base: Finding, code: str) -> Finding:
    """The finding that rule ``code`` could not be evaluated where ``base`` (its own
    finding there) would have been (``rule_not_evaluable``, RB0008)."""
    info = compiled.reader_code("rule_not_evaluable")
    return dataclasses.replace(
        base,
        code=info.code,
        letter=info.letter,
        fr=info.fr,
        nl=info.nl,
        detail=reader_detail("not_evaluable", code=code),
    )


def reader_checks(run: Run, chunk: Chunk) -> None:
    """The reader's checks of a chunk's new records: unknown record types, characters
    outside printable ASCII."""
    new = chunk.is_new
    unknown = np.flatnonzero(new & (chunk.layout_of < 0))
    for i in unknown:
        key = chunk.rows[i, : run.compiled.message.key_length].tobytes()
        run.tally.add(
            reader_finding(
                run.compiled,
                ReaderFinding(
                    "unknown_record_type",
                    record=int(chunk.ordinals[i]),
                    start=1,
                    end=run.compiled.message.key_length,
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
        run.tally.add(
            reader_finding(
                run.compiled,
                ReaderFinding(
                    "invalid_characters",
                    record=int(chunk.ordinals[i]),
                    start=position,
                    end=position,
                    detail=reader_detail("byte", byte=byte, position=position),
                ),
                record_type=run.plan.records[layout].digits if layout >= 0 else None,
            )
        )
