"""Schemas of the structured form, emitted from the compiled rulebook: JSON Schema and XSD.

Input: ``Compiled`` (its message structure and layouts).
Output: ``json_schema`` (a JSON Schema 2020-12 document) and ``xsd`` (an XML Schema text)
for the structured form of a sending (``generator.structured``, ``generator.xmlform``):
segments and records as objects of zone values, groups of the structure as nested objects,
repeated elements as lists. Zone types follow the layouts: ``N`` a whole number of at most
its digits, ``S`` a signed amount in cents, ``D`` an ISO date, ``A`` a text of at most its
length. Every zone may be left out (the generator fills or blanks it).
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import quoteattr

from compiler import Compiled, ir

META = {"message", "as_of", "note"}


# --------------------------------------------------------------------------- JSON Schema


def zone_schema(zone: ir.Zone) -> dict[str, Any]:
    label = f"zone {zone.zone_id}: {zone.fr}" + (f" / {zone.nl}" if zone.nl else "")
    if zone.kind == "A":
        return {"type": "string", "maxLength": zone.length, "description": label}
    if zone.kind == "D":
        return {
            "type": ["string", "null"],
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            "format": "date",
            "description": label,
        }
    if zone.kind == "S":
        top = 10 ** (zone.length - 1) - 1
        return {"type": "integer", "minimum": -top, "maximum": top, "description": label}
    return {"type": "integer", "minimum": 0, "maximum": 10**zone.length - 1, "description": label}


def layout_schema(layout: ir.Layout) -> dict[str, Any]:
    return {
        "type": "object",
        "description": f"{layout.name}: {layout.fr}",
        "properties": {z.name: zone_schema(z) for z in layout.zones},
        "additionalProperties": False,
    }


def json_schema(compiled: Compiled) -> dict[str, Any]:
    msg = compiled.message
    defs: dict[str, Any] = {}
    for name in (*msg.segments, *msg.records):
        defs[name] = layout_schema(compiled.layouts[name])
    for group in msg.productions:
        if group != msg.root:
            defs[group] = _production_schema(msg, msg.productions[group], f"group {group}")
    root = _production_schema(msg, msg.productions[msg.root], f"message {msg.name}")
    root["properties"] = {
        "message": {"const": msg.name, "description": "the message (segment 200 zone 200)"},
        "as_of": {"type": "string", "format": "date", "description": "reference date"},
        "note": {"type": "string"},
        **{s: {"$ref": f"#/$defs/{s}"} for s in msg.segments},
        **root["properties"],
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:rulebook:{compiled.version}:{msg.name}",
        "title": f"{msg.name} {msg.fr} / {msg.nl} (rulebook {compiled.version})",
        **root,
        "$defs": defs,
    }


def _production_schema(
    msg: ir.Message, items: tuple[ir.SItem, ...], description: str
) -> dict[str, Any]:
    props: dict[str, Any] = {}
    _props(items, props, repeated=False)
    return {
        "type": "object",
        "description": description,
        "properties": props,
        "additionalProperties": False,
    }


def _props(items: tuple[ir.SItem, ...], props: dict[str, Any], *, repeated: bool) -> None:
    for it in items:
        if isinstance(it, ir.SAlt):
            for option in it.options:
                _props(option, props, repeated=repeated or it.repeat in ("*", "+"))
            continue
        ref = {"$ref": f"#/$defs/{it.name}"}
        if it.repeat in ("*", "+") or repeated:
            props[it.name] = {"type": "array", "items": ref}
        else:
            props[it.name] = ref


def element_names(compiled: Compiled, items: tuple[ir.SItem, ...]) -> dict[str, bool]:
    """The element names a production contains, each with whether it is a list."""
    props: dict[str, Any] = {}
    _props(items, props, repeated=False)
    return {name: "items" in value for name, value in props.items()}


# --------------------------------------------------------------------------- XSD


def xsd(compiled: Compiled) -> str:
    msg = compiled.message
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">',
        f"  <!-- {msg.name} {_comment(msg.fr)}: rulebook {compiled.version} -->",
        '  <xs:element name="sending">',
        "    <xs:complexType>",
        "      <xs:sequence>",
        '        <xs:element name="note" type="xs:string" minOccurs="0"/>',
    ]
    for seg in msg.segments:
        out.append(f'        <xs:element name="{seg}" type="{seg}" minOccurs="0"/>')
    out.extend(_particles(msg, msg.productions[msg.root], "        "))
    out.extend(
        [
            "      </xs:sequence>",
            f'      <xs:attribute name="message" type="xs:string" fixed="{msg.name}"/>',
            '      <xs:attribute name="as_of" type="xs:date"/>',
            "    </xs:complexType>",
            "  </xs:element>",
        ]
    )
    for name in (*msg.segments, *msg.records):
        out.extend(_layout_type(compiled.layouts[name]))
    for group in msg.productions:
        if group == msg.root:
            continue
        out.append(f'  <xs:complexType name="{group}">')
        out.append("    <xs:sequence>")
        out.extend(_particles(msg, msg.productions[group], "      "))
        out.append("    </xs:sequence>")
        out.append("  </xs:complexType>")
    out.append("</xs:schema>")
    return "\n".join(out) + "\n"


def _occurs(repeat: str) -> str:
    low = "0" if repeat in ("?", "*") else "1"
    high = "unbounded" if repeat in ("*", "+") else "1"
    return f'minOccurs="{low}" maxOccurs="{high}"'


def _particles(msg: ir.Message, items: tuple[ir.SItem, ...], pad: str) -> list[str]:
    out: list[str] = []
    for it in items:
        if isinstance(it, ir.SAlt):
            out.append(f"{pad}<xs:choice {_occurs(it.repeat)}>")
            for option in it.options:
                out.append(f"{pad}  <xs:sequence>")
                out.extend(_particles(msg, option, pad + "    "))
                out.append(f"{pad}  </xs:sequence>")
            out.append(f"{pad}</xs:choice>")
        else:
            out.append(f'{pad}<xs:element name="{it.name}" type="{it.name}" {_occurs(it.repeat)}/>')
    return out


def _layout_type(layout: ir.Layout) -> list[str]:
    out = [f'  <xs:complexType name="{layout.name}">', "    <xs:sequence>"]
    for zone in sorted(layout.zones, key=lambda z: z.offset):
        out.append(f'      <xs:element name="{zone.name}" minOccurs="0">')
        out.append(
            f"        <xs:annotation><xs:documentation>zone {_comment(zone.zone_id)}: "
            f"{_comment(zone.fr)}</xs:documentation></xs:annotation>"
        )
        out.append("        <xs:simpleType>")
        out.extend("          " + line for line in _restriction(zone))
        out.append("        </xs:simpleType>")
        out.append("      </xs:element>")
    out.extend(["    </xs:sequence>", "  </xs:complexType>"])
    return out


def _restriction(zone: ir.Zone) -> list[str]:
    if zone.kind == "A":
        return [
            '<xs:restriction base="xs:string">',
            f'  <xs:maxLength value="{zone.length}"/>',
            "</xs:restriction>",
        ]
    if zone.kind == "D":
        return ['<xs:restriction base="xs:date"/>']
    if zone.kind == "S":
        top = 10 ** (zone.length - 1) - 1
        return [
            '<xs:restriction base="xs:integer">',
            f'  <xs:minInclusive value="{-top}"/>',
            f'  <xs:maxInclusive value="{top}"/>',
            "</xs:restriction>",
        ]
    return [
        '<xs:restriction base="xs:nonNegativeInteger">',
        f'  <xs:maxInclusive value="{10**zone.length - 1}"/>',
        "</xs:restriction>",
    ]


def _comment(text: str) -> str:
    return quoteattr(text)[1:-1].replace("--", "- -")
