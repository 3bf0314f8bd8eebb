"""Reading any message the rulebook describes: answers from insurers, acknowledgements, …

Input: the compiled rulebook and the bytes of one message.
Output: ``ReadMessage`` (JSON and text forms): the message type, its refusal type and error
percentage (the zones with those roles), its segments' errors and, per record, its type, its
place in the message and its errors — the (letter, code) pairs of the echo block and the
2-digit error zones (``for``), each with its FR/NL label from the rulebook's codes. Records the
message does not echo (ET91 / ET92 of a settlement) also give their zone values.

A message the rulebook cannot parse raises ``ReadError`` with its place (positions or record).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compiler import Compiled, ir
from generator.structured import digits, json_value


class ReadError(ValueError):
    """The message cannot be parsed with the rulebook's layouts; the text says where."""


@dataclass(frozen=True, slots=True)
class Error:
    letter: str | None
    code: str
    fr: str | None
    nl: str | None

    def to_json(self) -> dict[str, Any]:
        return {"letter": self.letter, "code": self.code, "fr": self.fr, "nl": self.nl}


@dataclass(frozen=True, slots=True)
class ReadRecord:
    record_type: str
    layout: str | None  # None: an echoed record of a type the message does not describe
    number: int  # place in the message, 1-based
    index: int | None  # the echo block's index zone
    errors: tuple[Error, ...]
    values: dict[str, Any] | None  # zones of a record the message does not echo
    echoed: bytes | None = None  # the sent record's characters, as the message repeats them

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "record_type": self.record_type,
            "layout": self.layout,
            "number": self.number,
            "index": self.index,
            "errors": [e.to_json() for e in self.errors],
        }
        if self.values is not None:
            out["values"] = self.values
        return out


@dataclass(frozen=True, slots=True)
class ReadMessage:
    type: str
    name: str
    fr: str
    nl: str
    refusal_type: str | None
    error_percentage: str | None
    acknowledged: str | None
    segments: tuple[tuple[str, tuple[Error, ...]], ...]
    records: tuple[ReadRecord, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "file": self.name,
            "label": {"fr": self.fr, "nl": self.nl},
            "refusal_type": self.refusal_type,
            "error_percentage": self.error_percentage,
            "acknowledged": self.acknowledged,
            "segments": [
                {"segment": seg, "errors": [e.to_json() for e in errors]}
                for seg, errors in self.segments
            ],
            "records": [r.to_json() for r in self.records],
        }


def read_message(compiled: Compiled, data: bytes, name: str = "-") -> ReadMessage:
    """Positions in errors count the message's characters without line breaks (answers are
    one continuous string; line breaks some tools add between records are ignored)."""
    if b"\n" in data:
        data = data.replace(b"\r", b"").replace(b"\n", b"")
    msg = _dispatch(compiled, data, name)
    pos = 0
    segments: list[tuple[str, tuple[Error, ...]]] = []
    roles: dict[str, str] = {}
    acknowledged = None
    name_zone = _name_zone(compiled, msg)
    for seg in msg.segments:
        layout = compiled.layouts[seg]
        chunk = data[pos : pos + layout.length]
        if len(chunk) < layout.length:
            raise ReadError(
                f"{name}: segment {layout.name} (positions {pos + 1}-{pos + layout.length}) "
                f"is cut short: the message ends at position {len(data)}"
            )
        for role in ("refusal", "percentage"):
            zone = layout.role(role)
            if zone is not None:
                roles[role] = chunk[zone.offset : zone.end].decode("latin-1")
        for copy in layout.copies:
            if copy.source == name_zone:  # an acknowledgement names the message it received
                acknowledged = chunk[copy.zone.offset : copy.zone.end].decode("latin-1")
        segments.append((layout.name, _zone_errors(compiled, layout, chunk)))
        pos += layout.length
    records = _records(compiled, msg, data[pos:], pos, name)
    return ReadMessage(
        type=msg.name,
        name=name,
        fr=msg.fr,
        nl=msg.nl,
        refusal_type=roles.get("refusal"),
        error_percentage=roles.get("percentage"),
        acknowledged=acknowledged,
        segments=tuple(segments),
        records=tuple(records),
    )


def _name_zone(compiled: Compiled, msg: ir.Message) -> ir.Zone | None:
    return compiled.layouts[msg.segments[0]].role("name") if msg.segments else None


def _dispatch(compiled: Compiled, data: bytes, name: str) -> ir.Message:
    if not data:
        raise ReadError(f"{name}: the message is empty")
    known = sorted(compiled.messages)
    for msg in compiled.messages.values():
        zone = _name_zone(compiled, msg)
        if zone is not None and data[zone.offset : zone.end] == msg.name.encode():
            return msg
    zones = {z for m in compiled.messages.values() if (z := _name_zone(compiled, m)) is not None}
    if not zones:
        raise ReadError(f"{name}: the rulebook declares no zone with the message name")
    zone = min(zones, key=lambda z: z.offset)
    found = data[zone.offset : zone.end].decode("latin-1")
    raise ReadError(
        f"{name}: positions {zone.start1}-{zone.end}: {found!r} is not a message this rulebook "
        f"describes (known: {', '.join(known)})"
    )


def _records(
    compiled: Compiled, msg: ir.Message, body: bytes, offset: int, name: str
) -> list[ReadRecord]:
    size = msg.record_length
    if not size:
        if body.strip():
            raise ReadError(
                f"{name}: positions {offset + 1}-{offset + len(body)}: message {msg.name} has "
                "no records, yet characters follow its segments"
            )
        return []
    by_key = {compiled.layouts[n].key: compiled.layouts[n] for n in msg.records}
    block = compiled.layouts[msg.block] if msg.block is not None else None
    out: list[ReadRecord] = []
    for number, start in enumerate(range(0, len(body), size), start=1):
        chunk = body[start : start + size]
        where = f"{name}: record {number} (positions {offset + start + 1}-{offset + start + size})"
        if len(chunk) < size:
            raise ReadError(f"{where} has {len(chunk)} characters, not {size}")
        key = chunk[: msg.key_length].decode("latin-1")
        layout = by_key.get(key)
        if layout is None and block is None:
            expected = ", ".join(sorted(k for k in by_key if k))
            raise ReadError(
                f"{where}: record type {key!r} is not part of message {msg.name} "
                f"(expected one of: {expected})"
            )
        # an echo of a record of a type the message does not describe (the insurer echoes a
        # sent record in error as it came): its error block is read all the same
        errors = (
            [] if layout is None else list(_zone_errors(compiled, layout, chunk[: layout.length]))
        )
        index = None
        values = None
        echoed = size - block.length if block is not None else None
        sent: bytes | None = chunk if block is None else None  # echoed with its error zones
        if block is not None and (layout is None or layout.length == echoed):
            sent = chunk[:echoed]
            tail = chunk[echoed:]
            errors.extend(_pair_errors(compiled, block, tail))
            index_zone = block.role("index")
            if index_zone is not None:
                text = tail[index_zone.offset : index_zone.end]
                index = int(text) if text.isdigit() else None
        elif layout is not None:
            values = {
                z.name: _value(z, chunk[z.offset : z.end])
                for z in layout.zones
                if z.reports is None and not z.name.startswith("reserve")
            }
        out.append(
            ReadRecord(
                record_type=key,
                layout=None if layout is None else layout.name,
                number=number,
                index=index,
                errors=tuple(errors),
                values=values,
                echoed=sent if values is None else None,
            )
        )
    return out


def _error(compiled: Compiled, code: str, letter: str | None) -> Error:
    info = compiled.codes.get(code)
    return Error(
        letter=letter if letter is not None else (info.letter if info else None),
        code=code,
        fr=info.fr if info else None,
        nl=info.nl if info else None,
    )


def _zone_errors(compiled: Compiled, layout: ir.Layout, chunk: bytes) -> tuple[Error, ...]:
    """Non-zero 2-digit error zones: code ``ZONE-VALUE`` (letter from the rulebook's codes)."""
    found: list[Error] = []
    for zone in sorted(layout.zones, key=lambda z: z.offset):
        if zone.reports is None:
            continue
        text = chunk[zone.offset : zone.end].decode("latin-1")
        if text.strip(" 0"):
            found.append(_error(compiled, f"{zone.reports}-{text}", None))
    return tuple(found)


def _pair_errors(compiled: Compiled, block: ir.Layout, tail: bytes) -> list[Error]:
    found: list[Error] = []
    for letter_zone, code_zone in block.pairs:
        letter = tail[letter_zone.offset : letter_zone.end].decode("latin-1").strip()
        code = tail[code_zone.offset : code_zone.end].decode("latin-1").strip()
        if letter in ("", "0") and code.strip("0") == "":
            continue
        found.append(_error(compiled, code, letter or None))
    return found


def _value(zone: ir.Zone, raw: bytes) -> Any:
    """A zone's typed value (``generator.structured.json_value``), else its characters."""
    text = raw.decode("latin-1")
    value = json_value(zone, text)
    return text if value is None else value


READ_WORDS = {
    "fr": {
        "refusal": "type de refus {x}",
        "percentage": "pourcentage d'erreurs {x}",
        "acknowledges": "accuse réception de « {x} »",
        "acknowledges_blank": "accuse réception (référence vide)",
        "record": "enregistrement",
        "unknown_code": "(code absent de ce recueil de règles)",
    },
    "nl": {
        "refusal": "type weigering {x}",
        "percentage": "foutenpercentage {x}",
        "acknowledges": "bevestigt ontvangst van « {x} »",
        "acknowledges_blank": "bevestigt ontvangst (lege referentie)",
        "record": "record",
        "unknown_code": "(code niet in dit regelboek)",
    },
}


def to_text(messages: list[ReadMessage], lang: str = "fr") -> str:
    """The messages for a person, every word in ``lang``."""
    from validator.words import percent

    w = READ_WORDS["nl" if lang == "nl" else "fr"]
    lines: list[str] = []
    for m in messages:
        head = f"{m.name}: {m.type} {m.nl if lang == 'nl' else m.fr}"
        extras = []
        if m.refusal_type is not None:
            extras.append(w["refusal"].format(x=m.refusal_type))
        if m.error_percentage is not None and digits(m.error_percentage):
            share = percent(int(m.error_percentage) / 10000, lang)
            extras.append(w["percentage"].format(x=share))
        if m.acknowledged is not None:
            reference = m.acknowledged.strip()
            if reference:
                extras.append(w["acknowledges"].format(x=reference))
            else:
                extras.append(w["acknowledges_blank"])
        lines.append(head + (f" ({', '.join(extras)})" if extras else ""))
        for seg, errors in m.segments:
            for e in errors:
                lines.append(f"  segment {seg}: {_error_text(e, lang)}")
        for r in m.records:
            label = f"  {w['record']} {r.number:>4}  ET{r.record_type}"
            if not r.errors:
                lines.append(label)
            for e in r.errors:
                lines.append(f"{label}  {_error_text(e, lang)}")
            if r.values is not None:
                shown = ", ".join(
                    f"{k}={v}" for k, v in r.values.items() if not k.startswith("error_")
                )
                lines.append(f"      {shown}")
    return "\n".join(lines) + "\n"


def _error_text(e: Error, lang: str) -> str:
    label = (e.nl if lang == "nl" else e.fr) or READ_WORDS["nl" if lang == "nl" else "fr"][
        "unknown_code"
    ]
    return f"{e.letter or '?'} {e.code}  {label}"
