"""Reading a file back into the structured form: bytes -> segments, records -> nested JSON.

Input: a compiled rulebook and the bytes of a file of its message.
Output: ``cut`` gives the segments and the records (layout name or None, bytes);
``to_structured`` nests the records the way the message's structure declares them (groups as
objects, repeated elements as lists), every zone with its value (``json_value``). The
structure is matched deterministically, one record of look-ahead (the structures of the
format are LL(1)): a record that does not fit raises ``ParseError`` with its place.
On a valid file, ``generate(to_structured(file))`` gives back the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compiler import Compiled, ir
from generator.structured import json_value


class ParseError(ValueError):
    """Bytes that do not fit the message; the text says where."""


@dataclass(frozen=True, slots=True)
class Cut:
    segments: dict[str, bytes]
    records: list[tuple[str | None, bytes]]  # (layout name, or None for an unknown type)


def cut(compiled: Compiled, data: bytes) -> Cut:
    """Segments, then records of the message's length (line breaks between them ignored; a
    short last record padded with blanks)."""
    msg = compiled.message
    if b"\n" in data:
        data = data.replace(b"\r", b"").replace(b"\n", b"")
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


def record_values(layout: ir.Layout, data: bytes) -> dict[str, Any]:
    """Every zone's value; empty dates are left out (they are written back as zeros)."""
    text = data.decode("latin-1")
    values = {}
    for zone in layout.zones:
        value = json_value(zone, text[zone.offset : zone.end])
        if value is not None:
            values[zone.name] = value
    return values


def to_structured(compiled: Compiled, data: bytes, name: str = "-") -> dict[str, Any]:
    """The structured form of a file (the input ``rulebook generate`` takes)."""
    msg = compiled.message
    head = sum(compiled.layouts[s].length for s in msg.segments)
    if len(data) < head:
        raise ParseError(f"{name}: the file is shorter than its segments ({head} characters)")
    parts = cut(compiled, data)
    out: dict[str, Any] = {"message": msg.name}
    for seg, raw in parts.segments.items():
        out[seg] = record_values(compiled.layouts[seg], raw)
    for number, (layout, raw) in enumerate(parts.records, start=1):
        if layout is None:
            where = (
                f"{name}: record {number} (position {head + (number - 1) * msg.record_length + 1})"
            )
            key = raw[: msg.key_length].decode("latin-1")
            raise ParseError(f"{where}: record type {key!r} is not described by message {msg.name}")
    matcher = _Matcher(compiled, parts.records, name, head)
    matcher.sequence(msg.productions[msg.root], out)
    if matcher.pos < len(parts.records):
        matcher.fail(f"does not fit the structure of message {msg.name} here")
    return out


class _Matcher:
    """LL(1) matching of the record sequence against the message's productions."""

    def __init__(
        self, compiled: Compiled, records: list[tuple[str | None, bytes]], name: str, head: int
    ) -> None:
        self.compiled = compiled
        self.msg = compiled.message
        self.records = records
        self.name = name
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
        raise ParseError(f"{self.name}: {where}: {message}")

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
            layout, raw = self.records[self.pos]
            assert layout == it.name
            value = record_values(self.compiled.layouts[layout], raw)
            self.pos += 1
        if repeated:
            obj.setdefault(it.name, []).append(value)
        else:
            obj[it.name] = value
