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


class StructureError(ValueError):
    """Structured input that does not fit the message; ``path`` is a JSON path."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(slots=True)
class Item:
    """One record or segment to write: its layout, its zone values, where it came from."""

    layout: str
    values: dict[str, Any]
    path: str
    raw: dict[str, str] = field(default_factory=dict)  # zone -> characters written as given
    frozen: set[str] = field(default_factory=set)  # zones the generator must not fill


def _records_of(items: tuple[ir.SItem, ...], compiled: Compiled) -> set[str]:
    found: set[str] = set()
    for it in items:
        if isinstance(it, ir.SRef):
            if it.is_group:
                found |= _records_of(compiled.message.productions[it.name], compiled)
            else:
                found.add(it.name)
        else:
            for option in it.options:
                found |= _records_of(option, compiled)
    return found


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
        if holder is None or out.get(derivation.record):
            continue
        keys: set[int] = set()
        for item in flatten(compiled, out, add_derived=False):
            if item.layout == derivation.source:
                value = item.values.get(derivation.source_zone.name)
                if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
                    keys.add(int(value))
        records = [{derivation.zone.name: key} for key in sorted(keys)]
        out[derivation.record] = records if holder.repeat in ("*", "+") else records[:1]
    return out


def flatten(compiled: Compiled, data: dict[str, Any], *, add_derived: bool = True) -> list[Item]:
    """Records (and segments) of a structured sending, in file order."""
    if not isinstance(data, dict):
        raise StructureError("$", "a sending is a JSON object")
    if add_derived:
        data = add_derived_records(compiled, data)
    msg = compiled.message
    items: list[Item] = []
    for seg in msg.segments:
        items.append(_record(compiled, seg, data.get(seg), f"$.{seg}", mandatory=True))
    allowed = {*msg.segments, *_keys_of(msg.productions[msg.root]), "message", "as_of", "note"}
    for key in data:
        if key not in allowed:
            raise StructureError(f"$.{key}", f"not an element of message {msg.name}")
    _walk(compiled, msg.productions[msg.root], data, "$", items)
    return items


def _record(compiled: Compiled, name: str, value: Any, path: str, *, mandatory: bool) -> Item:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise StructureError(path, f"{name} is an object of zone values")
    layout = compiled.layouts[name]
    for zone in value:
        if zone not in layout.by_name:
            raise StructureError(f"{path}.{zone}", f"{name} has no zone named {zone!r}")
    return Item(layout=name, values=dict(value), path=path)


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


def json_value(zone: ir.Zone, text: str) -> Any:
    """The structured value of a zone's characters (ints for numbers, ISO dates, strings)."""
    if zone.kind == "A":
        return text.rstrip(" ")
    if zone.kind == "S":
        if text[:1] in "+-" and text[1:].isdigit():
            return int(text[1:]) * (-1 if text[0] == "-" else 1)
        return text
    if not text.isdigit():
        return text
    if zone.kind == "D":
        if text == "0" * 8:
            return None
        try:
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:])).isoformat()
        except ValueError:
            return text
    return int(text)
