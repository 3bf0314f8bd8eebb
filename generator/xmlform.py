"""The XML rendering of the structured form, both ways (its XSD: ``compiler.schema.xsd``).

Input: a structured sending (JSON-like dict) or an XML text.
Output: XML (elements in the order of the message structure, one element per zone, empty
dates left out) or the structured dict (zone values typed by the layouts: whole numbers,
amounts, ISO dates, texts). JSON -> XML -> JSON is lossless.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from compiler import Compiled, ir
from compiler.schema import element_names
from generator.structured import StructureError, choose


def to_xml(compiled: Compiled, data: dict[str, Any]) -> str:
    msg = compiled.message
    root = ET.Element("sending", {"message": str(data.get("message", msg.name))})
    if isinstance(data.get("as_of"), str):
        root.set("as_of", data["as_of"])
    if isinstance(data.get("note"), str):
        ET.SubElement(root, "note").text = data["note"]
    for seg in msg.segments:
        if isinstance(data.get(seg), dict):
            _record(compiled, root, seg, data[seg])
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
        if zone.name in values and values[zone.name] is not None:
            ET.SubElement(node, zone.name).text = str(values[zone.name])


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
    names = {**element_names(compiled, msg.productions[msg.root])}
    for child in root:
        path = f"/sending/{child.tag}"
        if child.tag == "note":
            out["note"] = child.text or ""
        elif child.tag in msg.segments:
            out[child.tag] = _values(compiled, child, path)
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
        zone = layout.by_name.get(child.tag)
        where = f"{path}/{child.tag}"
        if zone is None:
            raise StructureError(where, f"{node.tag} has no zone named {child.tag!r}")
        text = child.text or ""
        if zone.kind in ("N", "S"):
            try:
                out[zone.name] = int(text)
            except ValueError:
                raise StructureError(where, f"{text!r} is not a whole number") from None
        else:
            out[zone.name] = text
    return out
