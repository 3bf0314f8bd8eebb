"""The XML rendering of the structured form, both ways (its XSD: ``compiler.schema.xsd``).

Input: a structured sending (JSON-like dict) or an XML text.
Output: XML (elements in the order of the message structure, one element per zone, empty
dates left out; a zone written as it is: ``<name.raw>`` with its characters, ``<name.hex>``
with their bytes in hexadecimal when XML cannot carry them) or the structured dict (zone
values typed by the layouts: whole numbers, amounts, ISO dates, texts, ``{"raw": …}``).
JSON -> XML -> JSON is lossless.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from compiler import Compiled, ir
from compiler.schema import element_names
from generator.structured import FLAT, RAW, StructureError, choose


def to_xml(compiled: Compiled, data: dict[str, Any]) -> str:
    msg = compiled.message
    root = ET.Element("sending", {"message": str(data.get("message", msg.name))})
    if isinstance(data.get("as_of"), str):
        root.set("as_of", data["as_of"])
    if isinstance(data.get("line_end"), str):
        root.set("line_end", data["line_end"])
    if isinstance(data.get("last_line_end"), bool):
        root.set("last_line_end", "true" if data["last_line_end"] else "false")
    derived = [d.record for d in compiled.record_derivations]
    none = [name for name in derived if data.get(name) == []]
    if none:
        root.set("none", " ".join(none))
    if isinstance(data.get("note"), str):
        ET.SubElement(root, "note").text = data["note"]
    for seg in msg.segments:
        if isinstance(data.get(seg), dict):
            _record(compiled, root, seg, data[seg])
    if isinstance(data.get(FLAT), list):
        flat = ET.SubElement(root, FLAT)
        for entry in data[FLAT]:
            ((name, value),) = entry.items()
            if name == RAW:
                _raw(flat, "", value)
            else:
                _record(compiled, flat, name, value)
    else:
        _items(compiled, root, msg.productions[msg.root], data)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _items(
    compiled: Compiled, parent: ET.Element, items: tuple[ir.SItem, ...], obj: dict[str, Any]
) -> None:
    for it in items:
        if isinstance(it, ir.SAlt):
            _items(compiled, parent, choose(compiled, it, obj), obj)  # as 'generate' chooses
            continue
        value = obj.get(it.name)
        if value is None:
            continue
        for element in value if isinstance(value, list) else [value]:
            if it.is_group:
                node = ET.SubElement(parent, it.name)
                _items(compiled, node, compiled.message.productions[it.name], element)
            else:
                _record(compiled, parent, it.name, element)


def _record(compiled: Compiled, parent: ET.Element, name: str, values: dict[str, Any]) -> None:
    node = ET.SubElement(parent, name)
    for zone in sorted(compiled.layouts[name].zones, key=lambda z: z.offset):
        value = values.get(zone.name)
        if isinstance(value, dict):
            _raw(node, f"{zone.name}.", str(value.get(RAW, "")))
        elif value is not None:
            ET.SubElement(node, zone.name).text = str(value)


def _raw(parent: ET.Element, prefix: str, text: str) -> None:
    """Characters as they are: ``<PREFIXraw>`` if XML can carry them, else ``<PREFIXhex>``."""
    if all(c in XML_SAFE for c in text):
        ET.SubElement(parent, f"{prefix}raw").text = text
    else:
        ET.SubElement(parent, f"{prefix}hex").text = text.encode("latin-1").hex()


def _unraw(node: ET.Element, where: str) -> str:
    """The characters of a ``raw`` / ``hex`` element."""
    text = node.text or ""
    if not node.tag.endswith("hex"):
        return text
    try:
        return bytes.fromhex(text).decode("latin-1")
    except ValueError:
        raise StructureError(where, f"{text!r} is not hexadecimal") from None


# characters a raw zone keeps as XML text (printable ASCII, latin-1 letters); XML 1.0 cannot
# hold most control characters and turns a CR into a line feed
XML_SAFE = frozenset(map(chr, [*range(0x20, 0x7F), *range(0xA0, 0x100)]))


def from_xml(compiled: Compiled, text: str | bytes) -> dict[str, Any]:
    """The structured form of an XML sending; errors name the element's path."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise StructureError("/", f"not well-formed XML: {exc}") from None
    msg = compiled.message
    if root.tag != "sending":
        raise StructureError(f"/{root.tag}", "the root element is <sending>")
    out: dict[str, Any] = {}
    if root.get("message") is not None:
        out["message"] = root.get("message")
    if root.get("as_of") is not None:
        out["as_of"] = root.get("as_of")
    if root.get("line_end") is not None:
        out["line_end"] = root.get("line_end")
    if root.get("last_line_end") is not None:
        out["last_line_end"] = root.get("last_line_end") in ("true", "1")
    for record in (root.get("none") or "").split():
        out[record] = []
    names = {**element_names(compiled, msg.productions[msg.root])}
    for child in root:
        path = f"/sending/{child.tag}"
        if child.tag == "note":
            out["note"] = child.text or ""
        elif child.tag in msg.segments:
            out[child.tag] = _values(compiled, child, path)
        elif child.tag == FLAT:
            out[FLAT] = [
                {RAW: _unraw(node, f"{path}/{node.tag}[{index}]")}
                if node.tag in ("raw", "hex")
                else {node.tag: _values(compiled, node, f"{path}/{node.tag}[{index}]")}
                for index, node in enumerate(child)
            ]
        elif child.tag in names:
            _place(out, child.tag, names[child.tag], _element(compiled, child, path))
        else:
            raise StructureError(path, f"not an element of message {msg.name}")
    return out


def _place(obj: dict[str, Any], name: str, is_list: bool, value: Any) -> None:
    if is_list:
        obj.setdefault(name, []).append(value)
    else:
        obj[name] = value


def _element(compiled: Compiled, node: ET.Element, path: str) -> dict[str, Any]:
    msg = compiled.message
    if node.tag not in msg.productions:
        return _values(compiled, node, path)
    names = element_names(compiled, msg.productions[node.tag])
    out: dict[str, Any] = {}
    for index, child in enumerate(node):
        where = f"{path}/{child.tag}[{index}]"
        if child.tag not in names:
            raise StructureError(where, f"not an element of {node.tag}")
        _place(out, child.tag, names[child.tag], _element(compiled, child, where))
    return out


def _values(compiled: Compiled, node: ET.Element, path: str) -> dict[str, Any]:
    layout = compiled.layouts[node.tag]
    out: dict[str, Any] = {}
    for child in node:
        name, _, form = child.tag.partition(".")
        zone = layout.by_name.get(name)
        where = f"{path}/{child.tag}"
        if zone is None or form not in ("", "raw", "hex"):
            raise StructureError(where, f"{node.tag} has no zone named {child.tag!r}")
        text = child.text or ""
        if form:
            out[zone.name] = {RAW: _unraw(child, where)}
        elif zone.kind in ("N", "S"):
            try:
                out[zone.name] = int(text)
            except ValueError:
                raise StructureError(where, f"{text!r} is not a whole number") from None
        else:
            out[zone.name] = text
    return out
