"""The structured form of a sending: nested JSON mirroring the message structure.

Input: a JSON object whose keys are the structure's elements: segments and records by name
(``"S300"``, ``"ET10"``), groups by name (``"invoice"``: a list), repeated records as lists;
inside each record, zone names with their values.
Output: the flat list of records in file order (``Item``: layout name, zone values, JSON
path), and the reverse (records -> structured form). Errors point at the JSON path.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from compiler import Compiled, ir
from generator.encode import EncodeError, encode


class StructureError(ValueError):
    """Structured input that does not fit the message; ``path`` is a JSON path."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


RAW = "raw"  # a zone written as it is: {"raw": "   00000"}
LINE_ENDS = {"LF": b"\n", "CRLF": b"\r\n"}  # "line_end": what follows each segment and record
META = {"message", "as_of", "note", "line_end", "last_line_end"}
FLAT = "records"  # the flat form: every record in file order, for records out of the structure


@dataclass(slots=True)
class Item:
    """One record or segment to write: its layout, its zone values, where it came from."""

    layout: str
    values: dict[str, Any]
    path: str
    raw: dict[str, str] = field(default_factory=dict)  # zone -> characters written as given
    frozen: set[str] = field(default_factory=set)  # zones the generator must not fill
    text: str | None = None  # a record of no described type: its characters, written as given


def _keys_of(items: tuple[ir.SItem, ...]) -> set[str]:
    keys: set[str] = set()
    for it in items:
        if isinstance(it, ir.SRef):
            keys.add(it.name)
        else:
            for option in it.options:
                keys |= _keys_of(option)
    return keys


def add_derived_records(compiled: Compiled, data: dict[str, Any]) -> dict[str, Any]:
    """Add the records the rulebook derives (one ET95 per destination mutuality) if absent."""
    msg = compiled.message
    root = msg.productions[msg.root]
    out = dict(data)
    for derivation in compiled.record_derivations:
        holder = next(
            (it for it in root if isinstance(it, ir.SRef) and it.name == derivation.record), None
        )
        if holder is None or derivation.record in out:  # given, even as none ([]): as given
            continue
        keys: set[int] = set()
        for item in flatten(compiled, out, add_derived=False):
            if item.layout == derivation.source:
                value = item.values.get(derivation.source_zone.name)
                if isinstance(value, int) or (isinstance(value, str) and digits(value)):
                    keys.add(int(value))
        records = [{derivation.zone.name: key} for key in sorted(keys)]
        out[derivation.record] = records if holder.repeat in ("*", "+") else records[:1]
    return out


def flatten(compiled: Compiled, data: dict[str, Any], *, add_derived: bool = True) -> list[Item]:
    """Records (and segments) of a structured sending, in file order."""
    if not isinstance(data, dict):
        raise StructureError("$", "a sending is a JSON object")
    msg = compiled.message
    items: list[Item] = []
    for seg in msg.segments:
        items.append(_record(compiled, seg, data.get(seg), f"$.{seg}", mandatory=True))
    if FLAT in data:
        for key in data:
            if key not in (FLAT, *msg.segments, *META):
                raise StructureError(f"$.{key}", f"beside '{FLAT}', which lists every record")
        items.extend(_flat(compiled, data[FLAT]))
        return items
    if add_derived:
        data = add_derived_records(compiled, data)
    allowed = {*msg.segments, *_keys_of(msg.productions[msg.root]), *META}
    for key in data:
        if key not in allowed:
            raise StructureError(f"$.{key}", f"not an element of message {msg.name}")
    _walk(compiled, msg.productions[msg.root], data, "$", items)
    return items


def _flat(compiled: Compiled, entries: Any) -> list[Item]:
    """The records of the flat form, in file order: each ``{"ET20": {zones}}``, or
    ``{"raw": "…"}`` for a record of a type the message does not describe."""
    msg = compiled.message
    if not isinstance(entries, list):
        raise StructureError(f"$.{FLAT}", "a list of records")
    items: list[Item] = []
    for index, entry in enumerate(entries):
        path = f"$.{FLAT}[{index}]"
        if not isinstance(entry, dict) or len(entry) != 1:
            raise StructureError(path, 'a record is {"ET20": {zones}} or {"raw": "characters"}')
        ((name, value),) = entry.items()
        if name == RAW:
            if not isinstance(value, str) or len(value) != msg.record_length:
                raise StructureError(path, f"a record of {msg.record_length} characters")
            if any(ord(c) > 255 for c in value):
                raise StructureError(path, "characters that are not one byte (over U+00FF)")
            items.append(Item(layout="", values={}, path=path, text=value))
        elif name in msg.records:
            items.append(_record(compiled, name, value, f"{path}.{name}", mandatory=True))
        else:
            raise StructureError(f"{path}.{name}", f"not a record of message {msg.name}")
    return items


def _record(compiled: Compiled, name: str, value: Any, path: str, *, mandatory: bool) -> Item:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise StructureError(path, f"{name} is an object of zone values")
    layout = compiled.layouts[name]
    item = Item(layout=name, values={}, path=path)
    for zone_name, zone_value in value.items():
        zone = layout.by_name.get(zone_name)
        if zone is None:
            raise StructureError(f"{path}.{zone_name}", f"{name} has no zone named {zone_name!r}")
        if isinstance(zone_value, dict):
            item.raw[zone_name] = raw_text(zone, zone_value, f"{path}.{zone_name}")
            item.frozen.add(zone_name)
        else:
            item.values[zone_name] = zone_value
    return item


def raw_text(zone: ir.Zone, value: dict[str, Any], path: str) -> str:
    """The characters of a zone given as ``{"raw": "..."}``: one character per byte (code
    points 0-255, the bytes of latin-1), at most the zone's length (shorter: aligned and
    padded like the zone)."""
    text = value.get(RAW)
    if set(value) != {RAW} or not isinstance(text, str):
        raise StructureError(path, 'a zone is a value or {"raw": "its characters"}')
    if len(text) > zone.length:
        raise StructureError(path, f"{text!r} is longer than the zone ({zone.length})")
    if any(ord(c) > 255 for c in text):
        raise StructureError(path, f"{text!r} has characters that are not one byte (over U+00FF)")
    return text


def _walk(
    compiled: Compiled,
    items: tuple[ir.SItem, ...],
    obj: dict[str, Any],
    path: str,
    out: list[Item],
) -> None:
    for it in items:
        if isinstance(it, ir.SAlt):
            _walk(compiled, choose(compiled, it, obj), obj, path, out)
            continue
        value = obj.get(it.name)
        where = f"{path}.{it.name}"
        if it.repeat in ("*", "+"):
            if value is None:
                continue
            if not isinstance(value, list):
                raise StructureError(where, f"{it.name} is a list")
            for index, element in enumerate(value):
                _one(compiled, it, element, f"{where}[{index}]", out)
        elif value is None and it.repeat == "?":
            continue
        else:
            _one(compiled, it, value, where, out)


def _one(compiled: Compiled, it: ir.SRef, value: Any, path: str, out: list[Item]) -> None:
    if it.is_group:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise StructureError(path, f"{it.name} is an object")
        production = compiled.message.productions[it.name]
        allowed = _keys_of(production)
        for key in value:
            if key not in allowed:
                raise StructureError(f"{path}.{key}", f"not an element of {it.name}")
        _walk(compiled, production, value, path, out)
    else:
        out.append(_record(compiled, it.name, value, path, mandatory=True))


def choose(compiled: Compiled, alt: ir.SAlt, obj: dict[str, Any]) -> tuple[ir.SItem, ...]:
    """The first option whose mandatory elements are present (else the best match)."""
    best: tuple[ir.SItem, ...] = alt.options[0]
    best_score = -1
    for option in alt.options:
        keys = _keys_of(option)
        mandatory = [i.name for i in option if isinstance(i, ir.SRef) and i.repeat in ("", "+")]
        if all(obj.get(k) for k in mandatory):
            return option
        score = sum(1 for k in keys if obj.get(k))
        if score > best_score:
            best, best_score = option, score
    return best


def digits(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` also takes '²' and other Unicode digits)."""
    return text.isascii() and text.isdigit()


def json_value(zone: ir.Zone, text: str) -> Any:
    """The typed value a zone's characters read as (ints for numbers, amounts in cents, ISO
    dates, texts), or None when they read as no value of the zone's type."""
    if zone.kind == "A":
        return text.rstrip(" ")
    if zone.kind == "S":
        if text[:1] in ("+", "-") and digits(text[1:]):
            return int(text[1:]) * (-1 if text[0] == "-" else 1)
        return None
    if not digits(text):
        return None
    if zone.kind == "D":
        try:
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:])).isoformat()
        except ValueError:
            return None
    return int(text)


def zone_value(zone: ir.Zone, text: str) -> Any:
    """The structured form of a zone's characters: its typed value when writing that value
    gives back exactly these characters (None: the empty zone, left out), else
    ``{"raw": text}``: blanks in a number, a sign in a reserve, letters in a numeric zone,
    diacritics, control characters, an impossible date are all carried as they are."""
    value = json_value(zone, text)
    try:
        if encode(zone, value) == text.encode("latin-1"):
            return value
    except EncodeError:
        pass
    return {RAW: text}
