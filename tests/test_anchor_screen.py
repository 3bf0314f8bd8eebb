"""The rules that ask a zone of their record to equal the same zone of its anchor record
(``self.Z = anchor ET20.Z``) are screened together (``AnchorScreen``): not evaluated one by one
where every record's characters equal its anchor's (digits where the zones are numeric) and
every record has its anchor; evaluated, and reported where they are broken, otherwise. A spy on
one such rule tells whether it ran; the reports are compared with those of the rules all
evaluated (the screen switched off)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from compiler import Compiled
from tests.sendings import TODAY, build
from validator import validate
from validator.evaluate import Scope
from validator.plan import RulePlan, plan_for
from validator.report import Report
from validator.run import validate_many
from validator.screen import AnchorCheck, AnchorScreen

SEGMENTS = 227  # bytes of segments 200 and 300 before the first record
LENGTH = 350


@pytest.fixture(scope="module")
def clean(compiled: Compiled) -> bytes:
    return build(compiled, 30, None)


@pytest.fixture
def spied(
    compiled: Compiled, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RulePlan, list[int]]]:
    """An ET80 rule screened against its ET20 anchor on a numeric zone, and the number of
    records of each evaluation of it."""
    today = TODAY.year * 10000 + TODAY.month * 100 + TODAY.day
    rp = next(
        rp
        for rp in plan_for(compiled).phase2["ET80"]
        if isinstance(rp.check, AnchorCheck)
        and rp.check.anchor == "ET20"
        and rp.check.digits
        and rp.rule.start <= today <= rp.rule.end
    )
    calls: list[int] = []
    original = rp.fn

    def fn(scope: Scope) -> tuple[object, object]:
        calls.append(scope.n)
        return original(scope)

    monkeypatch.setattr(rp, "fn", fn)
    yield rp, calls


def records(data: bytes, key: bytes) -> list[int]:
    return [at for at in range(SEGMENTS, len(data), LENGTH) if data[at : at + 2] == key]


def number(at: int) -> int:
    return (at - SEGMENTS) // LENGTH + 1


def unscreened(compiled: Compiled, data: bytes, monkeypatch: pytest.MonkeyPatch) -> Report:
    with monkeypatch.context() as patch:
        patch.setattr(AnchorScreen, "quiet", lambda _self, _scope: None)
        return validate(compiled, io.BytesIO(data), today=TODAY)


def codes_at(report: Report, record: int) -> list[str]:
    return sorted(f.code for f in report.findings if f.record == record)


def test_a_valid_file_does_not_evaluate_the_rule(
    compiled: Compiled, clean: bytes, spied: tuple[RulePlan, list[int]]
) -> None:
    _, calls = spied
    assert validate(compiled, io.BytesIO(clean), today=TODAY).verdict == "accepted"
    assert calls == []


def test_a_record_unlike_its_anchor_is_reported(
    compiled: Compiled,
    clean: bytes,
    spied: tuple[RulePlan, list[int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rp, calls = spied
    assert isinstance(rp.check, AnchorCheck)
    data = bytearray(clean)
    at = records(clean, b"80")[17]
    place = at + rp.check.offset + rp.check.length - 1
    data[place] = ord("1") if data[place] != ord("1") else ord("2")
    report = validate(compiled, io.BytesIO(bytes(data)), today=TODAY)
    assert calls and sum(calls) == len(records(clean, b"80"))
    assert [f.record for f in report.findings if f.code == rp.rule.code] == [number(at)]
    assert report.findings == unscreened(compiled, bytes(data), monkeypatch).findings


def test_equal_letters_are_not_taken_for_equal_numbers(
    compiled: Compiled,
    clean: bytes,
    spied: tuple[RulePlan, list[int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same letter in the zone of an ET20 and of its ET80: equal characters, but no
    number on either side; the rule is evaluated and the report is the unscreened one."""
    rp, calls = spied
    assert isinstance(rp.check, AnchorCheck)
    data = bytearray(clean)
    invoice = records(clean, b"20")[5]
    own = next(at for at in records(clean, b"80") if at > invoice)
    data[invoice + rp.check.anchor_offset] = ord("X")
    data[own + rp.check.offset] = ord("X")
    report = validate(compiled, io.BytesIO(bytes(data)), today=TODAY)
    assert calls
    assert codes_at(report, number(own))  # the zone's own format finding at least
    assert report.findings == unscreened(compiled, bytes(data), monkeypatch).findings


def test_records_without_an_anchor_are_evaluated(
    compiled: Compiled,
    clean: bytes,
    spied: tuple[RulePlan, list[int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first invoice's ET20 removed: its ET80 has no ET20 before it."""
    _, calls = spied
    first = records(clean, b"20")[0]
    data = clean[:first] + clean[first + LENGTH :]
    report = validate(compiled, io.BytesIO(data), today=TODAY)
    assert calls
    assert report.verdict != "accepted"
    assert report.findings == unscreened(compiled, data, monkeypatch).findings


def test_in_a_batch_each_file_gets_its_own_findings(
    compiled: Compiled, clean: bytes, spied: tuple[RulePlan, list[int]]
) -> None:
    rp, calls = spied
    assert isinstance(rp.check, AnchorCheck)
    data = bytearray(clean)
    at = records(clean, b"80")[3]
    place = at + rp.check.offset
    data[place] = ord("1") if data[place] != ord("1") else ord("2")
    files = [("a", clean), ("broken", bytes(data)), ("b", clean)]
    reports = validate_many(
        compiled, [(name, io.BytesIO(body)) for name, body in files], today=TODAY
    )
    assert calls  # evaluated once, on the three files' ET80 records together
    assert [f.record for f in reports[1].findings if f.code == rp.rule.code] == [number(at)]
    assert reports[0].verdict == reports[2].verdict == "accepted"
    assert reports[1].findings == validate(compiled, io.BytesIO(bytes(data)), today=TODAY).findings
