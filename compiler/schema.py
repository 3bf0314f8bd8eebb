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

LINE_ENDS = ("LF", "CRLF")  # generator.structured.LINE_ENDS gives their bytes


# --------------------------------------------------------------------------- JSON Schema


def zone_schema(zone: ir.Zone) -> dict[str, Any]:
    """A zone's value of its type, or its characters as they are: ``{"raw": "…"}``."""
    label = f"zone {zone.zone_id}: {zone.fr}" + (f" / {zone.nl}" if zone.nl else "")
    return {"anyOf": [typed_schema(zone), raw_schema(zone)], "description": label}


def typed_schema(zone: ir.Zone) -> dict[str, Any]:
    if zone.kind == "A":
        return {"type": "string", "maxLength": zone.length, "pattern": PRINTABLE}
    if zone.kind == "D":
        return {
            "type": ["string", "null"],
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            "format": "date",
        }
    if zone.kind == "S":
        top = 10 ** (zone.length - 1) - 1
        return {"type": "integer", "minimum": -top, "maximum": top}
    return {"type": "integer", "minimum": 0, "maximum": 10**zone.length - 1}


PRINTABLE = "^[^\\u0000-\\u001f\\u007f]*$"  # no control characters (diacritics are folded)
BYTES = "^[\\u0000-\\u00ff]*$"  # one byte a character


def plain_error(error: Any) -> Any:
    """The ``jsonschema`` error to show for a zone: inside its ``anyOf``, the error of the
    branch the value is written in (``{"raw": …}`` or a typed value), not 'not valid under
    any of the given schemas'."""
    if error.validator == "anyOf" and error.context:
        branch = 1 if isinstance(error.instance, dict) else 0
        for inner in error.context:
            if inner.relative_schema_path and inner.relative_schema_path[0] == branch:
                return inner
    return error


def raw_schema(zone: ir.Zone) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "raw": {
                "type": "string",
                "maxLength": zone.length,
                "pattern": BYTES,
                "description": "the zone's characters as they are, one byte each "
                "(shorter: aligned and padded like the zone); never recomputed",
            }
        },
        "required": ["raw"],
        "additionalProperties": False,
    }


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
        "line_end": {
            "enum": list(LINE_ENDS),
            "description": "a line break after each segment and record (none when absent)",
        },
        "last_line_end": {"type": "boolean", "description": "false: none after the last one"},
        "records": {
            "type": "array",
            "description": "instead of the structure: every record in file order, each "
            '{"ET20": {zones}} or {"raw": "its characters"} (a type the message does not '
            "describe); what parse gives for records that do not fit the structure",
            "items": {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "properties": {
                    **{r: {"$ref": f"#/$defs/{r}"} for r in msg.records},
                    "raw": {
                        "type": "string",
                        "minLength": msg.record_length,
                        "maxLength": msg.record_length,
                        "pattern": BYTES,
                    },
                },
                "additionalProperties": False,
            },
        },
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
    out.append("        <xs:choice>")
    out.append("          <xs:sequence>")
    out.extend(_particles(msg, msg.productions[msg.root], "            "))
    out.append("          </xs:sequence>")
    out.append("          <!-- or every record in file order (records out of the structure) -->")
    out.append('          <xs:element name="records">')
    out.append("            <xs:complexType>")
    out.append('              <xs:choice minOccurs="0" maxOccurs="unbounded">')
    for record in msg.records:
        out.append(f'                <xs:element name="{record}" type="{record}"/>')
    out.extend(_as_written("", f'<xs:length value="{msg.record_length}"/>', " " * 16))
    out.append("              </xs:choice>")
    out.append("            </xs:complexType>")
    out.append("          </xs:element>")
    out.append("        </xs:choice>")
    out.extend(
        [
            "      </xs:sequence>",
            f'      <xs:attribute name="message" type="xs:string" fixed="{msg.name}"/>',
            '      <xs:attribute name="as_of" type="xs:date"/>',
            '      <xs:attribute name="line_end">',
            '        <xs:simpleType><xs:restriction base="xs:string">',
            *(f'          <xs:enumeration value="{name}"/>' for name in LINE_ENDS),
            "        </xs:restriction></xs:simpleType>",
            "      </xs:attribute>",
            '      <xs:attribute name="last_line_end" type="xs:boolean"/>',
            "      <!-- records the rulebook derives that the sending has none of -->",
            '      <xs:attribute name="none">',
            '        <xs:simpleType><xs:list><xs:simpleType><xs:restriction base="xs:string">',
            *(
                f'          <xs:enumeration value="{d.record}"/>'
                for d in compiled.record_derivations
            ),
            "        </xs:restriction></xs:simpleType></xs:list></xs:simpleType>",
            "      </xs:attribute>",
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
    """Each zone: its value (``<name>``), or its characters as they are (``<name.raw>``;
    ``<name.hex>`` for those XML cannot carry: control characters)."""
    out = [f'  <xs:complexType name="{layout.name}">', "    <xs:sequence>"]
    for zone in sorted(layout.zones, key=lambda z: z.offset):
        out.append('      <xs:choice minOccurs="0">')
        out.append(f'        <xs:element name="{zone.name}">')
        out.append(
            f"          <xs:annotation><xs:documentation>zone {_comment(zone.zone_id)}: "
            f"{_comment(zone.fr)}</xs:documentation></xs:annotation>"
        )
        out.append("          <xs:simpleType>")
        out.extend("            " + line for line in _restriction(zone))
        out.append("          </xs:simpleType>")
        out.append("        </xs:element>")
        out.extend(_as_written(f"{zone.name}.", f'<xs:maxLength value="{zone.length}"/>', " " * 8))
        out.append("      </xs:choice>")
    out.extend(["    </xs:sequence>", "  </xs:complexType>"])
    return out


def _as_written(prefix: str, length: str, pad: str) -> list[str]:
    """The elements ``PREFIXraw`` (characters XML can carry) and ``PREFIXhex`` (their bytes in
    hexadecimal), each of the given length facet."""
    out = []
    for suffix, base, facet in (
        ("raw", "xs:string", f'<xs:pattern value="{XML_TEXT}*"/>'),
        ("hex", "xs:hexBinary", ""),
    ):
        out.append(f'{pad}<xs:element name="{prefix}{suffix}">')
        out.append(f'{pad}  <xs:simpleType><xs:restriction base="{base}">')
        out.append(f"{pad}    {length}{facet}")
        out.append(f"{pad}  </xs:restriction></xs:simpleType>")
        out.append(f"{pad}</xs:element>")
    return out


# what a raw zone's characters may be in XML text: printable ASCII and latin-1 (the others,
# control characters, go to <name.hex>); XSD writes characters as references
XML_TEXT = "[&#x20;-&#x7E;&#xA0;-&#xFF;]"


def _restriction(zone: ir.Zone) -> list[str]:
    if zone.kind == "A":
        return [
            '<xs:restriction base="xs:string">',
            f'  <xs:maxLength value="{zone.length}"/>',
            '  <xs:pattern value="\\P{Cc}*"/>',  # no control characters
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
