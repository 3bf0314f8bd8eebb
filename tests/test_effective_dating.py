"""Rules, tables and parameters apply by the governing date (the invoiced period of ET 10);
--as-of overrides it."""

from __future__ import annotations

import copy
import datetime as dt
import io

from compiler import Compiled
from generator import generate
from validator import validate

TODAY = dt.date(2026, 11, 1)


def sending(compiled: Compiled, year: int, month: int, **et10: object) -> bytes:
    data = copy.deepcopy(compiled.scenarios["baseline"])
    data["ET10"].update({"invoiced_year": year, "invoiced_month": month, **et10})
    return generate(compiled, data, today=TODAY)


def codes(compiled: Compiled, data: bytes, as_of: dt.date | None = None) -> set[str]:
    report = validate(compiled, io.BytesIO(data), today=TODAY, as_of=as_of)
    return {f.code for f in report.findings}


def test_bce_number_required_from_2015_01(compiled: Compiled) -> None:
    assert "102710" in codes(compiled, sending(compiled, 2015, 1, bce_number=0))
    before = codes(compiled, sending(compiled, 2014, 12, bce_number=0, profession_code=0))
    assert "102710" not in before


def test_state_reform_zone_rule_changes_at_2025(compiled: Compiled) -> None:
    late = sending(compiled, 2025, 1, reserve_45=1)
    early = sending(compiled, 2024, 12, reserve_45=1)
    assert "104512" in codes(compiled, late) and "104501" not in codes(compiled, late)
    assert "104501" in codes(compiled, early) and "104512" not in codes(compiled, early)


def test_profession_code_rules_follow_the_period(compiled: Compiled) -> None:
    zero = sending(compiled, 2024, 4, profession_code=0)
    assert "101810" in codes(compiled, zero)
    assert "101810" not in codes(compiled, sending(compiled, 2024, 3, profession_code=0))
    assert "101801" in codes(compiled, sending(compiled, 2023, 12, profession_code=10))


def test_as_of_overrides_the_governing_date(compiled: Compiled) -> None:
    data = sending(compiled, 2025, 1, reserve_45=1)
    assert "104512" in codes(compiled, data)
    assert "104501" in codes(compiled, data, as_of=dt.date(2024, 6, 1))


def test_report_states_the_governing_date(compiled: Compiled) -> None:
    report = validate(compiled, io.BytesIO(sending(compiled, 2026, 9)), today=TODAY)
    assert report.governing_date == "2026-09-01"
    report = validate(
        compiled, io.BytesIO(sending(compiled, 2026, 9)), today=TODAY, as_of=dt.date(2020, 1, 1)
    )
    assert report.governing_date == "2020-01-01"


def test_parameter_offset_moves_control_digits(compiled: Compiled) -> None:
    data = sending(compiled, 2026, 9)
    assert codes(compiled, data) == set()
    # the CIN test files carry control digits +10: with offset 0 every record is flagged
    rows = bytearray(data)
    for start in range(227, len(rows) - 2 * 350, 350):
        if bytes(rows[start : start + 2]) in (b"95", b"96"):
            continue
        value = int(rows[start + 348 : start + 350]) % 97 + 10
        rows[start + 348 : start + 350] = f"{value % 97 or 97:02d}".encode()
    found = codes(compiled, bytes(rows))
    assert {"109902", "209902", "509902", "809902", "909902"} <= found
