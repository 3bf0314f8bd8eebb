"""The normalised outcome of one answer message, for comparing insurers' answers.

Input: the compiled rulebook, a message read by ``answer.read`` and the file it answers.
Output: a JSON-ready dict: the message's slot (``ack``: the acknowledgement, ``answer``: the
verdict's answer, ``settlement``), its type, refusal type and error percentage (the zones with
those roles), the (letter, code) errors of its segments, and per echoed record the sent
record it repeats (its number in the sent file, found by its characters, not by the answer's
own numbering) with its errors; a settlement also gives the values of its settlement zones.
Two insurers' outcomes are equal when their answers mean the same thing, whatever their bytes.
"""

from __future__ import annotations

from typing import Any

from answer.read import ReadMessage, ReadRecord
from answer.sending import Sending
from compiler import Compiled

SLOTS = ("ack", "answer", "settlement")


def slot_of(compiled: Compiled, message_type: str) -> str:
    """``ack``, ``answer`` or ``settlement``: what the message is to the sent one."""
    msg = compiled.messages.get(message_type)
    kind = msg.answers.kind if msg is not None and msg.answers is not None else "answers"
    return {"acknowledges": "ack", "settles": "settlement"}.get(kind, "answer")


def _pairs(errors: Any) -> list[list[str]]:
    return sorted({(e.letter or "?", e.code) for e in errors})  # type: ignore[misc]


def sent_record(sending: Sending, record: ReadRecord) -> tuple[int | None, bool]:
    """The number of the sent record an echoed record repeats, and whether its characters are
    the sent ones exactly (else the record of that type differing in the fewest characters:
    an answer writes error zones into the records it echoes without a block, and '?' for
    bytes the format forbids)."""
    echoed = record.echoed
    if echoed is None:
        return None, False
    candidates = [r for r in sending.records if r.layout == record.layout]
    if record.layout is None:
        candidates = [r for r in sending.records if r.data[:2] == echoed[:2]]
    best: tuple[int, int] | None = None
    for r in candidates:
        data = r.data[: len(echoed)]
        if data == echoed:
            return r.number, True
        distance = sum(a != b for a, b in zip(data, echoed, strict=False))
        if best is None or distance < best[0]:
            best = (distance, r.number)
    return (best[1] if best is not None else None), False


def observe(compiled: Compiled, read: ReadMessage, sending: Sending) -> dict[str, Any]:
    """The outcome of one message (see the module's docstring)."""
    records: list[dict[str, Any]] = []
    values: list[dict[str, Any]] = []
    inexact: list[int] = []
    for r in read.records:
        if r.values is not None:
            layout = compiled.layouts[r.layout] if r.layout is not None else None
            settles = {s.zone.name for s in layout.settles} if layout is not None else set()
            shown = {k: v for k, v in r.values.items() if k in settles}
            values.append({"record_type": r.record_type, "values": shown})
            continue
        number, exact = sent_record(sending, r)
        if not exact and number is not None:
            inexact.append(number)
        records.append({"record": number, "record_type": r.record_type, "errors": _pairs(r.errors)})
    records.sort(key=lambda x: (x["record"] is None, x["record"] or 0, x["record_type"]))
    out: dict[str, Any] = {
        "slot": slot_of(compiled, read.type),
        "message": read.type,
        "refusal_type": read.refusal_type,
        "error_percentage": read.error_percentage,
        "segments": {seg: _pairs(errors) for seg, errors in read.segments if errors},
        "records": records,
    }
    if values:
        out["settlement"] = values
    if inexact:
        out["echo_differs"] = sorted(set(inexact))
    return out
