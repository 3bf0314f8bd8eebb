"""A sending validated by the reference interpreter: its findings, record by record.

The order is the language's: the segments' format rules; on every record the rules of phase
1 (their findings explain the values later rules cannot read), then those of phase 2; on each
group opener the rules waiting for the group; at the end the end-of-sending rules (they see
every finding of the records). A rule is violated where its condition is known false (in
force, ``when`` true, ``require`` false); where it is unknown and unexplained it could not be
evaluated (``rule_not_evaluable``).
"""

from __future__ import annotations

import datetime as dt
import io

from compiler import Compiled, ir
from compiler.passes import walk
from tests.reference.interpreter import At, Interpreter, Sending
from tests.reference.values import V, kleene_and, kleene_not
from validator.findings import not_evaluable, rule_finding
from validator.reader import PRINTABLE_HIGH, PRINTABLE_LOW, Reader, ReaderFinding, reader_finding
from validator.report import Finding
from validator.words import reader_detail

FATAL = frozenset({"empty_file", "not_a_sending", "truncated_header"})


def date_int(d: dt.date) -> int:
    return d.year * 10000 + d.month * 100 + d.day


class Reference:
    """One validation by the reference."""

    def __init__(self, compiled: Compiled, data: bytes, today: dt.date, as_of: dt.date | None):
        self.compiled = compiled
        reader = Reader(stream=io.BytesIO(data), compiled=compiled, block_records=1 << 30)
        reader.read_header()
        rows: list[bytes] = []
        ordinals: list[int] = []
        for block, first in reader.blocks():
            rows += [bytes(r) for r in block]
            ordinals += range(first, first + len(block))
        reader.drain()
        self.reader = reader
        self.sending = Sending(
            compiled=compiled,
            rows=rows,
            ordinals=ordinals,
            segments=dict(reader.segments),
            today=date_int(today),
            as_of=date_int(as_of) if as_of else None,
        )
        self.evaluate = Interpreter(self.sending)
        self.findings: list[Finding] = []
        self.flags: set[tuple[int, str]] = set()
        self.seg_flags: set[tuple[str, str]] = set()

    def run(self) -> list[Finding]:
        s = self.sending
        rules = self.compiled.rules
        self.read_checks()
        for rule in rules:  # the segments' own format
            layout = self.compiled.layouts[rule.record]
            if rule.mode == "final" and layout.kind == "segment" and rule.phase == 1:
                self.on_segment(rule, layout, frozenset())
        for phase in (1, 2):
            visible = frozenset(self.flags)  # phase 2 sees the findings of phase 1
            if phase == 2:
                s.phase1_flags = visible
            for rule in rules:
                if rule.mode == "stream" and rule.phase == phase:
                    self.on_records(rule, visible)
        for rule in rules:
            if rule.mode == "opener":
                self.on_records(rule, s.phase1_flags)
        if not any(f.condition in FATAL for f in self.reader.findings):
            visible = frozenset(self.flags)
            final = [r for r in rules if r.mode == "final"]
            for rule in sorted(final, key=lambda r: r.phase):
                layout = self.compiled.layouts[rule.record]
                if layout.kind == "segment":
                    if rule.phase != 1:
                        self.on_segment(rule, layout, visible)
                elif rule.per_sending:
                    at = self.at(rule, layout, None, visible)
                    self.check(rule, layout, at)
                else:
                    self.on_records(rule, visible)
        self.findings += [reader_finding(self.compiled, f) for f in self.reader.findings]
        return sorted(self.findings, key=Finding.sort_key)

    def at(
        self, rule: ir.Rule, layout: ir.Layout, row: int | None, flags: frozenset[tuple[int, str]]
    ) -> At:
        segment = layout.name if layout.kind == "segment" else None
        return At(
            layout, row, segment, rule.governed_by, rule.mode, flags, frozenset(self.seg_flags)
        )

    def on_records(self, rule: ir.Rule, flags: frozenset[tuple[int, str]]) -> None:
        layout = self.compiled.layouts[rule.record]
        for row, lay in enumerate(self.sending.layouts):
            if lay is layout or (lay is not None and lay.name == layout.name):
                self.check(rule, layout, self.at(rule, layout, row, flags))

    def on_segment(
        self, rule: ir.Rule, layout: ir.Layout, flags: frozenset[tuple[int, str]]
    ) -> None:
        """A segment's rule; ``flags``: the records' findings it sees (at the end: all)."""
        if layout.name in self.sending.segments:
            self.check(rule, layout, self.at(rule, layout, None, flags))

    def check(self, rule: ir.Rule, layout: ir.Layout, at: At) -> None:
        """The rule on one record (segment, sending): a finding if violated, RB0008 if it
        could not be evaluated and nothing explains why."""
        if not self.evaluate.in_force(rule.start, rule.end, at):
            return
        v = kleene_not(self.evaluate(rule.require, at))
        if rule.when is not None:
            v = kleene_and(v, self.evaluate(rule.when, at))
        if v.true:
            self.flag(rule, at)
            self.findings.append(self.finding(rule, layout, at))
        elif v.unknown and v.unexplained:
            base = self.finding(rule, layout, at)
            self.findings.append(not_evaluable(self.compiled, base, rule.code))

    def flag(self, rule: ir.Rule, at: At) -> None:
        """A violated rule's finding explains its zone (a format rule: every own zone it reads)."""
        names = [rule.zone.name]
        if rule.phase == 1:
            for e in (x for x in (rule.when, rule.require) if x is not None):
                names += [
                    n.zone.name for n in walk(e) if isinstance(n, ir.ZoneRef) and n.access == "self"
                ]
        for name in names:
            if at.segment is not None:
                self.seg_flags.add((at.segment, name))
            elif at.row is not None:
                self.flags.add((at.row, name))

    def finding(self, rule: ir.Rule, layout: ir.Layout, at: At) -> Finding:
        zone = rule.zone
        s = self.sending
        record = invoice = None
        value = None
        if at.segment is not None:
            value = s.segments[at.segment][zone.offset : zone.end].decode("latin-1")
        elif at.row is not None:
            record = s.ordinals[at.row]
            invoice = s.invoices[at.row] or None
            value = s.rows[at.row][zone.offset : zone.end].decode("latin-1")
        return rule_finding(
            rule,
            layout,
            segment=None if at.segment is None else layout.digits,
            record=record,
            invoice=invoice,
            value=value,
            sending=at.row is None and at.segment is None,
        )

    def read_checks(self) -> None:
        """Records of no known type, characters outside printable ASCII."""
        s = self.sending
        key_length = self.compiled.message.key_length
        for row, (data, lay) in enumerate(zip(s.rows, s.layouts, strict=True)):
            if lay is None:
                key = data[:key_length].decode("latin-1")
                self.findings.append(
                    reader_finding(
                        self.compiled,
                        ReaderFinding(
                            "unknown_record_type",
                            record=s.ordinals[row],
                            start=1,
                            end=key_length,
                            detail=reader_detail("record_type", found=ascii(key)),
                        ),
                        record_type=key,
                    )
                )
            bad = [k for k, c in enumerate(data) if c < PRINTABLE_LOW or c > PRINTABLE_HIGH]
            if bad:
                position = bad[0] + 1
                self.findings.append(
                    reader_finding(
                        self.compiled,
                        ReaderFinding(
                            "invalid_characters",
                            record=s.ordinals[row],
                            start=position,
                            end=position,
                            detail=reader_detail(
                                "byte", byte=data[position - 1], position=position
                            ),
                        ),
                        record_type=lay.digits if lay is not None else None,
                    )
                )


def reference_findings(
    compiled: Compiled, data: bytes, today: dt.date, as_of: dt.date | None = None
) -> list[Finding]:
    """The findings the language defines for this file."""
    return Reference(compiled, data, today, as_of).run()


def comparable(findings: list[Finding] | tuple[Finding, ...]) -> list[tuple[object, ...]]:
    """What the two validators must agree on, finding by finding."""
    return sorted(
        (
            f.code,
            f.segment or "",
            f.record or 0,
            f.record_type or "",
            f.zone or "",
            f.start or 0,
            f.end or 0,
            f.invoice or 0,
            f.value or "",
        )
        for f in findings
    )


__all__ = ["V", "comparable", "reference_findings"]
