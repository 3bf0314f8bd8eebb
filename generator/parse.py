"""Reading a file back into the structured form: bytes -> segments, records -> nested JSON.

Input: a compiled rulebook and the bytes of a file of its message.
Output: ``cut`` gives the segments and the records (layout name or None, bytes), leniently
(the answer writer's view); ``to_structured`` nests the records the way the message's
structure declares them (groups as objects, repeated elements as lists), every zone with its
value, or ``{"raw": …}`` where its characters are not the canonical form of its type or a
derived zone differs from what the generator computes (``as_written``). The structure is
matched deterministically, one record of look-ahead (the structures of the format are LL(1));
records that do not fit it are listed flat, in file order. A file that cannot be cut into
whole segments and records raises ``ParseError`` with the place. For every file it reads,
valid or not, ``generate(to_structured(file))`` gives back the same bytes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from compiler import Compiled, ir
from generator import build
from generator.structured import FLAT, LINE_ENDS, RAW, Item, zone_value


class ParseError(ValueError):
    """Bytes that do not fit the message; the text says where."""


@dataclass(frozen=True, slots=True)
class Cut:
    segments: dict[str, bytes]
    records: list[tuple[str | None, bytes]]  # (layout name, or None for an unknown type)


def cut(compiled: Compiled, data: bytes) -> Cut:
    """Segments, then records of the message's length (line breaks between them ignored; a
    short last record padded with blanks)."""
    if b"\n" in data:
        data = data.replace(b"\r", b"").replace(b"\n", b"")
    return _pieces(compiled, data)


def _pieces(compiled: Compiled, data: bytes) -> Cut:
    msg = compiled.message
    segments: dict[str, bytes] = {}
    pos = 0
    for name in msg.segments:
        length = compiled.layouts[name].length
        segments[name] = data[pos : pos + length].ljust(length, b" ")
        pos += length
    by_key = {compiled.layouts[n].key: n for n in msg.records}
    size = msg.record_length
    records = []
    for start in range(pos, len(data), size):
        chunk = data[start : start + size].ljust(size, b" ")
        records.append((by_key.get(chunk[: msg.key_length].decode("latin-1")), chunk))
    return Cut(segments=segments, records=records)


def exact_cut(compiled: Compiled, data: bytes, name: str) -> tuple[Cut, str | None, bool]:
    """Segments and records exactly as written: every byte in one of them, or a ParseError.

    A file whose segment 200 is followed by a line break (LF or CRLF) has one segment or
    record per line, each followed by that break (the last one may not be): returns the
    break's name and whether the last line has one. Otherwise line-break bytes are
    characters of the zones they are in."""
    msg = compiled.message
    lengths = [compiled.layouts[s].length for s in msg.segments]
    head = sum(lengths)
    if len(data) < head:
        raise ParseError(f"{name}: the file is shorter than its segments ({head} characters)")
    line_end = next((n for n, sep in LINE_ENDS.items() if data[lengths[0] :].startswith(sep)), None)
    last = False
    body = data
    if line_end is not None:
        sep = LINE_ENDS[line_end]
        lines = data.split(sep)
        last = lines[-1] == b""
        if last:
            lines.pop()
        wanted = lengths + [msg.record_length] * (len(lines) - len(lengths))
        for number, (line, size) in enumerate(zip(lines, wanted, strict=False), start=1):
            if len(line) != size:
                at = sum(len(x) + len(sep) for x in lines[: number - 1]) + 1
                raise ParseError(
                    f"{name}: line {number} (position {at}) has {len(line)} characters, not "
                    f"{size}: a file with line breaks has one segment or record per line"
                )
        body = b"".join(lines)
    tail = (len(body) - head) % msg.record_length
    if tail:
        number = (len(body) - head) // msg.record_length + 1
        raise ParseError(
            f"{name}: record {number} (position {len(body) - tail + 1}) has {tail} characters, "
            f"not {msg.record_length}: the structured form holds whole records"
        )
    return _pieces(compiled, body), line_end, last


def as_written(compiled: Compiled, parts: Cut) -> list[set[str]]:
    """Per segment and record (file order), the zones ``generate`` must write as they are:
    those whose characters are not their type's canonical form, and the derived zones whose
    characters are not what the generator computes from the others so kept. Grows the set
    until generating gives back every byte (each round adds at least one zone)."""
    pieces = _in_order(parts)
    items = [_as_item(compiled, layout, raw) for layout, raw in pieces]
    while True:
        content = build(compiled, items, dt.date.today())
        changed = False
        offset = 0
        for item, (layout, raw) in zip(items, pieces, strict=True):
            written = content[offset : offset + len(raw)]
            offset += len(raw)
            if written == raw or layout is None:
                continue
            for z in compiled.layouts[layout].zones:
                if written[z.offset : z.end] != raw[z.offset : z.end]:
                    item.frozen.add(z.name)
                    changed = True
        if not changed:
            return [item.frozen for item in items]


def _as_item(compiled: Compiled, layout: str | None, raw: bytes) -> Item:
    """A segment or record as its characters: the non-canonical zones frozen, the others free
    for the generator to fill."""
    text = raw.decode("latin-1")
    if layout is None:
        return Item(layout="", values={}, path="", text=text)
    zones = compiled.layouts[layout].zones
    chars = {z.name: text[z.offset : z.end] for z in zones}
    frozen = {z.name for z in zones if isinstance(zone_value(z, chars[z.name]), dict)}
    return Item(layout=layout, values={}, path="", raw=chars, frozen=frozen)


def _in_order(parts: Cut) -> list[tuple[str | None, bytes]]:
    """Segments, then records."""
    return [*parts.segments.items(), *parts.records]


def record_values(layout: ir.Layout, data: bytes, kept: set[str]) -> dict[str, Any]:
    """Every zone's value (``zone_value``), raw where ``kept``; empty zones left out."""
    text = data.decode("latin-1")
    values: dict[str, Any] = {}
    for zone in layout.zones:
        chars = text[zone.offset : zone.end]
        value = {RAW: chars} if zone.name in kept else zone_value(zone, chars)
        if value is not None:
            values[zone.name] = value
    return values


def to_structured(compiled: Compiled, data: bytes, name: str = "-") -> dict[str, Any]:
    """The structured form of a file (the input ``rulebook generate`` takes): every byte of
    it, so that ``generate`` gives back the same file, valid or not. Records nest as the
    message's structure says; records that do not fit it (out of order, missing, of a type
    the message does not describe) are listed flat, in file order (``records``), with a
    ``note`` saying where the structure stopped."""
    msg = compiled.message
    head = sum(compiled.layouts[s].length for s in msg.segments)
    parts, line_end, last = exact_cut(compiled, data, name)
    kept = as_written(compiled, parts)
    out: dict[str, Any] = {"message": msg.name}
    if line_end is not None:
        out["line_end"] = line_end
        if not last:
            out["last_line_end"] = False
    for index, (seg, raw) in enumerate(parts.segments.items()):
        out[seg] = record_values(compiled.layouts[seg], raw, kept[index])
    first = len(parts.segments)
    values: list[dict[str, Any]] = [
        record_values(compiled.layouts[layout], raw, kept[first + number])
        if layout is not None
        else {RAW: raw.decode("latin-1")}
        for number, (layout, raw) in enumerate(parts.records)
    ]
    nested = dict(out)
    try:
        for number, (layout, raw) in enumerate(parts.records, start=1):
            if layout is None:
                position = head + (number - 1) * msg.record_length + 1
                key = raw[: msg.key_length].decode("latin-1")
                raise ParseError(
                    f"record {number} (position {position}): record type {key!r} is not "
                    f"described by message {msg.name}"
                )
        matcher = _Matcher(compiled, parts.records, values, head)
        matcher.sequence(msg.productions[msg.root], nested)
        if matcher.pos < len(parts.records):
            matcher.fail(f"does not fit the structure of message {msg.name} here")
    except ParseError as exc:
        out["note"] = (
            f"The records do not fit the structure of message {msg.name} ({exc}): "
            "they are listed in file order."
        )
        out[FLAT] = [
            {layout: value} if layout is not None else value
            for (layout, _), value in zip(parts.records, values, strict=True)
        ]
        return out
    for derivation in compiled.record_derivations:  # none in the file: none written back
        nested.setdefault(derivation.record, [])
    return nested


class _Matcher:
    """LL(1) matching of the record sequence against the message's productions."""

    def __init__(
        self,
        compiled: Compiled,
        records: list[tuple[str | None, bytes]],
        values: list[dict[str, Any]],
        head: int,
    ) -> None:
        self.compiled = compiled
        self.msg = compiled.message
        self.records = records
        self.values = values
        self.head = head
        self.pos = 0
        self._first: dict[int, tuple[frozenset[str], bool]] = {}

    @property
    def next(self) -> str | None:
        return self.records[self.pos][0] if self.pos < len(self.records) else None

    def fail(self, message: str) -> None:
        number = self.pos + 1
        if self.pos < len(self.records):
            start = self.head + self.pos * self.msg.record_length + 1
            key = self.records[self.pos][1][: self.msg.key_length].decode("latin-1")
            where = f"record {number} (ET{key}, position {start})"
        else:
            where = "end of file"
        raise ParseError(f"{where}: {message}")

    # FIRST sets: which record types can start an item, and whether it can be empty
    def first(self, items: tuple[ir.SItem, ...]) -> tuple[frozenset[str], bool]:
        key = id(items)
        found = self._first.get(key)
        if found is None:
            names: set[str] = set()
            nullable = True
            for it in items:
                f, n = self.first_item(it)
                names |= f
                if not n:
                    nullable = False
                    break
            found = (frozenset(names), nullable)
            self._first[key] = found
        return found

    def first_item(self, it: ir.SItem) -> tuple[frozenset[str], bool]:
        starts, nullable = self.once(it)
        return starts, nullable or it.repeat in ("?", "*")

    def once(self, it: ir.SItem) -> tuple[frozenset[str], bool]:
        """FIRST set of one occurrence of an item (its repetition mark left aside)."""
        if isinstance(it, ir.SRef):
            if it.is_group:
                return self.first(self.msg.productions[it.name])
            return frozenset({it.name}), False
        starts = frozenset().union(*(self.first(o)[0] for o in it.options))
        return starts, any(self.first(o)[1] for o in it.options)

    def sequence(self, items: tuple[ir.SItem, ...], obj: dict[str, Any]) -> None:
        for it in items:
            self.item(it, obj)

    def item(self, it: ir.SItem, obj: dict[str, Any]) -> None:
        once, nullable = self.once(it)
        if it.repeat in ("*", "+"):
            count = 0
            while self.next in once:
                self.one(it, obj, repeated=True)
                count += 1
            if it.repeat == "+" and count == 0:
                self.fail(f"expected {self._expected(once)}")
        elif it.repeat == "?":
            if self.next in once:
                self.one(it, obj, repeated=False)
        else:
            if self.next not in once and not nullable:
                self.fail(f"expected {self._expected(once)}")
            self.one(it, obj, repeated=False)

    @staticmethod
    def _expected(names: frozenset[str]) -> str:
        return " or ".join(sorted(names)) or "nothing"

    def one(self, it: ir.SItem, obj: dict[str, Any], *, repeated: bool) -> None:
        if isinstance(it, ir.SAlt):
            nxt = self.next
            option = next((o for o in it.options if nxt in self.first(o)[0]), None)
            if option is None:
                option = next((o for o in it.options if self.first(o)[1]), None)
            if option is None:
                self.fail(f"expected {self._expected(self.once(it)[0])}")
                return
            self.sequence(option, obj)
            return
        if it.is_group:
            value: dict[str, Any] = {}
            self.sequence(self.msg.productions[it.name], value)
        else:
            assert self.records[self.pos][0] == it.name
            value = self.values[self.pos]
            self.pos += 1
        if repeated:
            obj.setdefault(it.name, []).append(value)
        else:
            obj[it.name] = value
