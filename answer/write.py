"""Writing the insurer's answers to a validated sending, from the answer messages of the rulebook.

Input: the compiled rulebook, the sent file's bytes and its validation report.
Output: ``Answer`` values (message name, bytes, findings the format had no room for): the
acknowledgement (the message that ``acknowledges`` the sent one) and the answer the verdict
calls for (the message whose ``answers`` cases name the verdict; ``envelope`` when a finding
is a bordereau error ``ZONE-VALUE``).

Everything format-specific comes from the rulebook: which records are echoed (``echo``), the
block appended to them (``block`` with its ``errors`` pairs, ``index``, ``comment`` and
``copy`` zones), the zones of the segments with a role (``name``, ``refusal``,
``percentage``) and the 2-digit error zones (``for``). This module only places values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from answer.sending import Sending, split
from compiler import Compiled, ir
from generator.encode import ascii_text, encode
from validator.report import LETTERS, Finding, Report

ENVELOPE = re.compile(r"(\d+)-(\d{2})")


class AnswerError(ValueError):
    """The rulebook describes no answer for this case (a rulebook problem, not a file one)."""


@dataclass(frozen=True, slots=True)
class Omission:
    """A finding an answer cannot carry, and why."""

    finding: Finding
    reason: str


@dataclass(frozen=True, slots=True)
class Answer:
    message: str
    content: bytes
    omitted: tuple[Omission, ...] = ()  # findings the answer has no room for


NO_RECORD = "the file has no record to carry it"
NOT_ECHOED = "its record is not one the answer echoes"
NO_ROOM = "the record already carries as many errors as its block holds"
NO_ZONE = "its zone has no 2-digit error zone"
ZONE_TAKEN = "the error zone already holds an earlier error"
NOT_BORDEREAU = "not on a segment or a record of known type"


def envelope_code(code: str) -> tuple[str, str] | None:
    match = ENVELOPE.fullmatch(code)
    return (match.group(1), match.group(2)) if match else None


def answers_for(
    compiled: Compiled, data: bytes, report: Report, lang: str = "fr", *, settle: bool = False
) -> list[Answer]:
    """The acknowledgement, then the answer the verdict calls for, then (``settle``, for an
    accepted sending) the settlement."""
    sending = split(compiled, data)
    out = [acknowledgement(compiled, sending)]
    envelope = [f for f in report.findings if envelope_code(f.code)]
    case = "envelope" if envelope else report.verdict
    msg, refusal = answer_message(compiled, "answers", case)
    if msg.block is None:
        out.append(_bordereau(compiled, msg, sending, envelope))
    else:
        out.append(_echo(compiled, msg, sending, report, refusal, lang))
    if settle and not envelope and report.verdict in ("accepted", "accepted_with_errors"):
        out.append(settlement(compiled, data, report, lang))
    return out


def answer_message(
    compiled: Compiled, kind: str, case: str | None
) -> tuple[ir.Message, str | None]:
    name = compiled.message.name
    for msg in compiled.messages.values():
        a = msg.answers
        if a is None or a.kind != kind or a.message != name:
            continue
        if case is None:
            return msg, None
        for verdict, refusal in a.cases:
            if verdict == case:
                return msg, refusal
    raise AnswerError(f"the rulebook declares no message that {kind} {name} for {case}")


def acknowledgement(compiled: Compiled, sending: Sending) -> Answer:
    msg, _ = answer_message(compiled, "acknowledges", None)
    return Answer(message=msg.name, content=_segments(compiled, msg, sending, {}))


# --------------------------------------------------------------------------- segments


def _segments(
    compiled: Compiled, msg: ir.Message, sending: Sending, roles: dict[str, object]
) -> bytes:
    """The answer's segments: the sent segments at the same place, zone by zone name, then the
    zones with a role and the ``copy`` zones."""
    answered = list(sending.segments)
    parts: list[bytes] = []
    for place, name in enumerate(msg.segments):
        layout = compiled.layouts[name]
        buf = bytearray(_blank(layout))
        if place < len(answered):
            source = compiled.layouts[answered[place]]
            data = sending.segments[answered[place]]
            for zone in layout.zones:
                other = source.by_name.get(zone.name)
                if other is not None and other.length == zone.length and zone.reports is None:
                    buf[zone.offset : zone.end] = data[other.offset : other.end]
        _copies(compiled, layout, buf, sending, None)
        for role, value in roles.items():
            held = layout.role(role)
            if held is not None:
                buf[held.offset : held.end] = encode(held, value)
        name_zone = layout.role("name")
        if name_zone is not None:
            buf[name_zone.offset : name_zone.end] = encode(name_zone, msg.name)
        parts.append(bytes(buf))
    return b"".join(parts)


def _blank(layout: ir.Layout) -> bytes:
    return b"".join(z.blank() for z in sorted(layout.zones, key=lambda z: z.offset))


def _copies(
    compiled: Compiled, layout: ir.Layout, buf: bytearray, sending: Sending, number: int | None
) -> None:
    for copy in layout.copies:
        source = sending.source_bytes(compiled, copy.record, number)
        if source is not None:
            buf[copy.zone.offset : copy.zone.end] = source[copy.source.offset : copy.source.end]


# --------------------------------------------------------------------------- 920098 / 920099


def _ordered(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (LETTERS.index(f.letter), f.code))


def _echo(
    compiled: Compiled,
    msg: ir.Message,
    sending: Sending,
    report: Report,
    refusal: str | None,
    lang: str,
    extra: bytes = b"",
) -> Answer:
    """Segments with the verdict's roles, then each echoed record followed by its block."""
    assert msg.block is not None
    block = compiled.layouts[msg.block]
    by_record, unplaced = _by_record(report, sending)
    echoed = _echoed(msg, sending, by_record)
    percentage = min(10000, round(report.error_rate * 10000))
    roles: dict[str, object] = {"percentage": percentage}
    if refusal is not None:
        roles["refusal"] = refusal
    parts = [_segments(compiled, msg, sending, roles)]
    # what the echo cannot show is said, never dropped: findings of records the message does
    # not echo (a record outside any invoice) and of a file without records
    shown = set(echoed)
    omitted = [Omission(f, NO_RECORD) for f in unplaced]
    for number in sorted(by_record.keys() - shown):
        omitted.extend(Omission(f, NOT_ECHOED) for f in by_record[number])
    for index, number in enumerate(echoed, start=1):
        findings = _ordered(by_record.get(number, ()))
        kept = findings[: len(block.pairs)]
        omitted.extend(Omission(f, NO_ROOM) for f in findings[len(block.pairs) :])
        buf = bytearray(_blank(block))
        _copies(compiled, block, buf, sending, number)
        for (letter_zone, code_zone), finding in zip(block.pairs, kept, strict=False):
            buf[letter_zone.offset : letter_zone.end] = encode(letter_zone, finding.letter)
            buf[code_zone.offset : code_zone.end] = encode(code_zone, finding.code)
        index_zone = block.role("index")
        if index_zone is not None:
            buf[index_zone.offset : index_zone.end] = encode(index_zone, index)
        comment = block.role("comment")
        if comment is not None and kept:
            label = ascii_text(kept[0].nl if lang == "nl" else kept[0].fr)
            text = label.encode("ascii", "replace")[: comment.length]
            buf[comment.offset : comment.end] = text.ljust(comment.length)
        parts.append(sending.record(number).data + bytes(buf))
    parts.append(extra)
    return Answer(message=msg.name, content=b"".join(parts), omitted=tuple(omitted))


# --------------------------------------------------------------------------- 920900


def settlement(compiled: Compiled, data: bytes, report: Report, lang: str = "fr") -> Answer:
    """The settlement (the message that ``settles`` the sent one): the echo of an acceptance,
    then its settlement records — one per destination for a record with a ``settle key`` zone,
    one for the whole file otherwise — filled from the report's amounts."""
    if report.verdict not in ("accepted", "accepted_with_errors"):
        raise AnswerError(f"a {report.verdict} sending is not settled")
    if report.amounts is None:
        raise AnswerError("the rulebook declares no amounts: a settlement needs them")
    amounts = report.amounts
    sending = split(compiled, data)
    msg, _ = answer_message(compiled, "settles", None)
    own = [compiled.layouts[n] for n in msg.records if compiled.layouts[n].settles]
    records: list[bytes] = []
    for layout in own:
        per_key = any(st.kind == "key" for st in layout.settles)
        targets = amounts.destinations if per_key else (None,)
        for destination in targets:
            buf = bytearray(_blank(layout))
            first = min(layout.zones, key=lambda z: z.offset)
            if layout.key is not None:
                buf[first.offset : first.end] = encode(first, layout.key)
            _copies(compiled, layout, buf, sending, None)
            for st in layout.settles:
                if st.kind == "key":
                    assert destination is not None
                    value: object = destination.key
                else:
                    sums = (
                        destination.account(st.account)
                        if destination is not None
                        else amounts.total(st.account)
                    )
                    value = getattr(sums, st.kind)
                buf[st.zone.offset : st.zone.end] = encode(st.zone, value)
            records.append(bytes(buf))
    return _echo(compiled, msg, sending, report, "00", lang, extra=b"".join(records))


def _by_record(report: Report, sending: Sending) -> tuple[dict[int, list[Finding]], list[Finding]]:
    """Findings per record number, and those no record can carry (a file without records).
    Findings on a segment go with the first record, findings of the whole file (a missing
    record, a total) with the last one."""
    grouped: dict[int, list[Finding]] = {}
    unplaced: list[Finding] = []
    last = len(sending.records)
    for finding in report.findings:
        if finding.record is not None:
            number = finding.record
        elif finding.segment is not None:
            number = 1
        else:
            number = last
        if 1 <= number <= last:
            grouped.setdefault(number, []).append(finding)
        else:
            unplaced.append(finding)
    return grouped, unplaced


def _echoed(msg: ir.Message, sending: Sending, by_record: dict[int, list[Finding]]) -> list[int]:
    chosen: set[int] = set()
    for echo in msg.echo:
        for name in echo.names:
            if name in sending.message.groups:
                for (group, _), numbers in sending.members.items():
                    if group == name and (echo.always or any(n in by_record for n in numbers)):
                        chosen.update(numbers)
            else:
                for rec in sending.records:
                    if rec.layout == name and (echo.always or rec.number in by_record):
                        chosen.add(rec.number)
    # records of no known type cannot be placed by the rules above; echo them when in error
    chosen.update(r.number for r in sending.records if r.layout is None and r.number in by_record)
    return sorted(chosen)


# --------------------------------------------------------------------------- 920999


def _bordereau(
    compiled: Compiled, msg: ir.Message, sending: Sending, findings: list[Finding]
) -> Answer:
    """Segments and the bordereau records in error, each error written as its 2-digit value in
    the zone declared ``for`` the zone in error."""
    head = bytearray(_segments(compiled, msg, sending, {}))
    starts: dict[str, int] = {}
    pos = 0
    for name in msg.segments:
        starts[name] = pos
        pos += compiled.layouts[name].length
    omitted: list[Omission] = []
    records: dict[int, bytearray] = {}
    for finding in _ordered(findings):
        parsed = envelope_code(finding.code)
        assert parsed is not None
        zone_id, value = parsed
        if finding.segment is not None:
            segment = next(
                (s for s in msg.segments if compiled.layouts[s].digits == finding.segment), None
            )
            if segment is None:
                omitted.append(Omission(finding, NOT_BORDEREAU))
                continue
            target, base, layout = head, starts[segment], compiled.layouts[segment]
        elif finding.record is not None:
            rec = sending.record(finding.record)
            if rec.layout is None:
                omitted.append(Omission(finding, NOT_BORDEREAU))
                continue
            layout = compiled.layouts[rec.layout]
            if rec.number not in records:
                records[rec.number] = bytearray(rec.data)
                for error_zone in (z for z in layout.zones if z.reports is not None):
                    records[rec.number][error_zone.offset : error_zone.end] = error_zone.blank()
            target, base = records[rec.number], 0
        else:
            omitted.append(Omission(finding, NOT_BORDEREAU))
            continue
        zone = layout.error_zone(zone_id)
        if zone is None:
            omitted.append(Omission(finding, NO_ZONE))
            continue
        if target[base + zone.offset : base + zone.end] != zone.blank():
            omitted.append(Omission(finding, ZONE_TAKEN))
            continue
        target[base + zone.offset : base + zone.end] = encode(zone, value)
    echoed = _echoed(msg, sending, {n: [] for n in records})
    for number in sorted(records.keys() - set(echoed)):
        omitted.extend(Omission(f, NOT_ECHOED) for f in findings if f.record == number)
    body = b"".join(bytes(records.get(n, bytearray(sending.record(n).data))) for n in echoed)
    return Answer(message=msg.name, content=bytes(head) + body, omitted=tuple(omitted))
