"""The structured form holds every byte: for every file ``parse`` reads, valid or not,
``generate`` gives back the same bytes, and the JSON Schema and the XSD accept what ``parse``
gives (Hypothesis over sendings damaged byte by byte; every example, real sending and mutant)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import xmlschema
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from compiler import Compiled, load_compiled
from compiler.schema import json_schema, xsd
from generator import generate
from generator.encode import EncodeError, encode
from generator.parse import ParseError, to_structured
from generator.strategies import sendings
from generator.structured import StructureError
from generator.xmlform import from_xml, to_xml
from tests.commands import ROOT
from tests.commands import rulebook as run_rulebook
from tests.sendings import TODAY, mutant_case

COMPILED = load_compiled()
SCHEMA = jsonschema.Draft202012Validator(
    json_schema(COMPILED), format_checker=jsonschema.FormatChecker()
)
XSD = xmlschema.XMLSchema(xsd(COMPILED))
HEAD = sum(COMPILED.layouts[s].length for s in COMPILED.message.segments)
SIZE = COMPILED.message.record_length
REAL = ROOT / "tests" / "real"
SENDINGS = [
    *sorted((ROOT / "examples").glob("*.920000")),
    *sorted((REAL / "cin").iterdir()),
    *sorted((REAL / "corilus").iterdir()),
]


def round_trip(data: bytes, today: dt.date = TODAY) -> dict[str, Any]:
    """Parse, check against both schemas, and write back through JSON and through XML."""
    parsed = to_structured(COMPILED, data, "x")
    problems = [f"{e.json_path}: {e.message}" for e in SCHEMA.iter_errors(parsed)]
    assert problems == []
    assert generate(COMPILED, json.loads(json.dumps(parsed)), today=today) == data
    xml = to_xml(COMPILED, parsed)
    XSD.validate(xml)
    assert from_xml(COMPILED, xml) == parsed
    return parsed


def raws(value: Any) -> list[str]:
    """The characters of every zone written as it is, in order."""
    if isinstance(value, dict):
        if set(value) == {"raw"}:
            return [value["raw"]]
        return [r for v in value.values() for r in raws(v)]
    if isinstance(value, list):
        return [r for v in value for r in raws(v)]
    return []


@pytest.mark.parametrize("path", SENDINGS, ids=lambda p: p.name)
def test_examples_and_real_sendings(path: Path) -> None:
    """The vendor's blanks, the CIN files' control digits (+10) and blank account C, written
    back as they are; the examples, valid or not, have no raw zone at all."""
    parsed = round_trip(path.read_bytes())
    if path.parent.name == "examples":
        assert raws(parsed) == []
    else:
        assert raws(parsed)


def test_every_mutant(compiled: Compiled) -> None:
    """Every file ``rulebook mutants`` writes: 518 keep the structure (a broken control digit
    or total kept as written, derived zones that still agree recomputed); the 21 that break it
    (records out of order, missing, duplicated) are listed flat, in file order."""
    flat = []
    for rule in compiled.rules:
        for index in range(len(rule.mutants)):
            case = mutant_case(compiled, rule, index)
            if "records" in round_trip(case.data, case.today):
                flat.append(case.name)
    assert len(flat) == 21, flat


BYTES = st.sampled_from(list(b" 0+-9A\n\r\x00\x1b\xb2\xe9\x7f\xff")) | st.integers(0, 255)


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A valid sending, then records deleted, duplicated or swapped, then bytes replaced."""
    data = generate(COMPILED, draw(sendings(COMPILED)), today=TODAY)
    records = [data[i : i + SIZE] for i in range(HEAD, len(data), SIZE)]
    for _ in range(draw(st.integers(0, 2))):
        k = draw(st.integers(0, len(records) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap"]))
        if op == "delete" and len(records) > 1:
            del records[k]
        elif op == "duplicate":
            records.insert(k, records[k])
        elif op == "swap":
            j = draw(st.integers(0, len(records) - 1))
            records[k], records[j] = records[j], records[k]
    content = bytearray(data[:HEAD] + b"".join(records))
    for _ in range(draw(st.integers(0, 12))):
        content[draw(st.integers(0, len(content) - 1))] = draw(BYTES)
    return bytes(content)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(damaged())
@example(b"")  # shorter than its segments: refused, with where
def test_damaged_sendings_round_trip(data: bytes) -> None:
    try:
        parsed = to_structured(COMPILED, data, "x")
    except ParseError as exc:
        # only a file that cannot be cut into whole segments and records is refused
        assert "characters" in str(exc)
        event("refused")
        return
    event("flat" if "records" in parsed else "structured")
    event("raw zones" if raws(parsed) else "no raw zone")
    round_trip(data)


def test_line_separated_files() -> None:
    """One segment or record per line, LF or CRLF, with or without a last line break: kept
    (``line_end``, ``last_line_end``); a line of another length is refused, located."""
    data = (ROOT / "examples" / "credit.920000").read_bytes()
    lines = [data[:67], data[67:HEAD]] + [data[i : i + SIZE] for i in range(HEAD, len(data), SIZE)]
    for sep, name in ((b"\n", "LF"), (b"\r\n", "CRLF")):
        for last in (True, False):
            text = sep.join(lines) + (sep if last else b"")
            parsed = round_trip(text)
            assert parsed["line_end"] == name
            assert parsed.get("last_line_end", True) is last
    broken = b"\n".join([*lines[:3], lines[3][:-1], *lines[4:]])
    with pytest.raises(ParseError, match=r"x: line 4 \(position 581\) has 349 characters, not 350"):
        to_structured(COMPILED, broken, "x")


def test_a_record_cut_short_is_refused_with_its_place() -> None:
    data = (ROOT / "examples" / "baseline.920000").read_bytes()[:-10]
    records = (len(data) - HEAD) // SIZE + 1
    with pytest.raises(
        ParseError,
        match=rf"x: record {records} \(position {HEAD + (records - 1) * SIZE + 1}\) has 340 "
        "characters, not 350",
    ):
        to_structured(COMPILED, data, "x")


def test_records_out_of_the_structure_are_listed_flat() -> None:
    """ET10 and ET20 swapped, then a record type the message does not describe: the records
    in file order, the unknown one as its characters, and a note saying where and why."""
    data = (ROOT / "examples" / "baseline.920000").read_bytes()
    first, second = data[HEAD : HEAD + SIZE], data[HEAD + SIZE : HEAD + 2 * SIZE]
    swapped = data[:HEAD] + second + first + data[HEAD + 2 * SIZE :]
    parsed = round_trip(swapped)
    assert [next(iter(r)) for r in parsed["records"][:3]] == ["ET20", "ET10", "ET50"]
    assert "record 1 (ET20, position 228): expected ET10" in parsed["note"]
    unknown = data[:HEAD] + b"77" + data[HEAD + 2 :]
    parsed = round_trip(unknown)
    assert parsed["records"][0] == {"raw": "77" + first[2:].decode("ascii")}
    assert "record type '77' is not described by message 920000" in parsed["note"]


def test_derived_zones_given_as_values_are_computed_raw_ones_kept() -> None:
    """What ``generate`` does with derived zones: a value is recomputed (edit an amount in a
    parsed file, and its totals and control digits follow), ``{"raw": …}`` is written as it is
    (``parse`` gives a wrong control digit that way, so the file comes back as it was)."""
    data = (ROOT / "examples" / "baseline.920000").read_bytes()
    parsed = to_structured(COMPILED, data, "x")
    line = parsed["invoice"][0]["prestation"][0]["ET50"]
    line["insurance_amount"] += 100
    changed = generate(COMPILED, parsed, today=TODAY)
    assert to_structured(COMPILED, changed, "x")["invoice"][0]["ET80"]["account_a_total"] == (
        parsed["invoice"][0]["ET80"]["account_a_total"] + 100
    )
    broken = bytearray(data)
    broken[HEAD + SIZE - 1] = ord("0") if broken[HEAD + SIZE - 1] != ord("0") else ord("1")
    parsed = round_trip(bytes(broken))
    written = bytes(broken[HEAD + SIZE - 2 : HEAD + SIZE]).decode()
    assert parsed["ET10"]["control"] == {"raw": written}


def test_no_derived_record_when_the_file_has_none() -> None:
    """The ET95 are derived when left out, and not when given as none (``"ET95": []``, XML
    ``none="ET95"``), which is what ``parse`` says of a file without any."""
    data = (ROOT / "examples" / "baseline.920000").read_bytes()
    parsed = to_structured(COMPILED, data, "x")
    count = len(parsed["ET95"])
    del parsed["ET95"]
    assert generate(COMPILED, parsed, today=TODAY) == data
    kept = data[: HEAD + SIZE * (len(data[HEAD:]) // SIZE - count - 1)] + data[-SIZE:]
    none = round_trip(kept)
    assert none["ET95"] == []
    assert 'none="ET95"' in to_xml(COMPILED, none)


def test_raw_zones_are_checked() -> None:
    data = to_structured(COMPILED, (ROOT / "examples" / "baseline.920000").read_bytes(), "x")
    for value, message in (
        ({"raw": "123456789"}, "longer than the zone"),
        ({"raw": "€"}, "not one byte"),
        ({"raw": "1", "x": 2}, "a value or"),
    ):
        data["ET10"]["reserve_44"] = value
        with pytest.raises(StructureError, match=message):
            generate(COMPILED, data, today=TODAY)


def test_generate_writes_no_control_character() -> None:
    """A text zone given as a value holds printable text: a NUL, an escape sequence or a line
    break is refused (as raw characters it would be written as given)."""
    zone = COMPILED.layouts["S300"].by_name["contact_name"]
    for text in ("Jan\u0000", "Jan\u001b[2J", "Jan\nPiet", "Jan\u007f"):
        with pytest.raises(EncodeError, match="control characters"):
            encode(zone, text)
    assert not SCHEMA.is_valid({"S300": {"contact_name": "Jan\u001b[2J"}})
    assert SCHEMA.is_valid({"S300": {"contact_name": {"raw": "Jan\u001b[2J"}}})


def test_cli_raw_zone_errors_have_their_json_path(tmp_path: Path) -> None:
    parsed = run_rulebook("parse", str(REAL / "corilus" / "MessageeFact920000_2023-04-10.txt"))
    data = json.loads(parsed.stdout)
    data["ET10"]["reserve_45"] = {"raw": "X" * 27}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    result = run_rulebook("generate", str(bad))
    assert result.returncode == 2
    assert f"rulebook: {bad}: $.ET10.reserve_45.raw: '{'X' * 27}' is too long" in result.stderr
