"""The rules that ask a zone of their record to equal the same zone of its anchor record
(``self.Z = anchor ET20.Z``) are screened together (``AnchorScreen``): not evaluated one by one
where every record's characters equal its anchor's (digits where the zones are numeric) and
every record has its anchor; evaluated, and reported where they are broken, otherwise. A spy on
one such rule tells whether it ran; the reports are compared with those of the rules all
evaluated (the screen switched off)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from compiler import Compiled
from compiler.screens import AnchorCheck
from tests.sendings import TODAY, build
from validator import validate
from validator.drive import validate_many
from validator.plan import RulePlan, plan_for
from validator.report import Report
from validator.scope import Scope
from validator.screen import AnchorScreen

SEGMENTS = 227  # bytes of segments 200 and 300 before the first record
LENGTH = 350


@pytest.fixture(scope="module")
def clean(compiled: Compiled) -> bytes:
    return build(compiled, 30, None)


@dataclass
class Spied:
    """An ET80 rule screened against its ET20 anchor on a numeric zone, its check, and the
    number of records of each evaluation of it."""

    rp: RulePlan
    check: AnchorCheck
    calls: list[int]


@pytest.fixture
def spied(compiled: Compiled, monkeypatch: pytest.MonkeyPatch) -> Iterator[Spied]:
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
    assert isinstance(rp.check, AnchorCheck)
    yield Spied(rp, rp.check, calls)


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


def unlike_its_anchor(
    clean: bytes, check: AnchorCheck, which: int, at_end: bool
) -> tuple[bytes, int]:
    """The file with one digit of the checked zone of its ``which``-th ET80 record changed
    (its last digit, or its first), and where that record starts."""
    data = bytearray(clean)
    at = records(clean, b"80")[which]
    place = at + check.offset + (check.length - 1 if at_end else 0)
    data[place] = ord("1") if data[place] != ord("1") else ord("2")
    return bytes(data), at


def test_a_valid_file_does_not_evaluate_the_rule(
    compiled: Compiled, clean: bytes, spied: Spied
) -> None:
    assert validate(compiled, io.BytesIO(clean), today=TODAY).verdict == "accepted"
    assert spied.calls == []


def test_a_record_unlike_its_anchor_is_reported(
    compiled: Compiled,
    clean: bytes,
    spied: Spied,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data, at = unlike_its_anchor(clean, spied.check, 17, at_end=True)
    report = validate(compiled, io.BytesIO(data), today=TODAY)
    assert spied.calls and sum(spied.calls) == len(records(clean, b"80"))
    assert [f.record for f in report.findings if f.code == spied.rp.rule.code] == [number(at)]
    assert report.findings == unscreened(compiled, data, monkeypatch).findings


def test_equal_letters_are_not_taken_for_equal_numbers(
    compiled: Compiled,
    clean: bytes,
    spied: Spied,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same letter in the zone of an ET20 and of its ET80: equal characters, but no
    number on either side; the rule is evaluated and the report is the unscreened one."""
    data = bytearray(clean)
    invoice = records(clean, b"20")[5]
    own = next(at for at in records(clean, b"80") if at > invoice)
    data[invoice + spied.check.anchor_offset] = ord("X")
    data[own + spied.check.offset] = ord("X")
    report = validate(compiled, io.BytesIO(bytes(data)), today=TODAY)
    assert spied.calls
    assert codes_at(report, number(own))  # the zone's own format finding at least
    assert report.findings == unscreened(compiled, bytes(data), monkeypatch).findings


def test_records_without_an_anchor_are_evaluated(
    compiled: Compiled,
    clean: bytes,
    spied: Spied,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first invoice's ET20 removed: its ET80 has no ET20 before it."""
    first = records(clean, b"20")[0]
    data = clean[:first] + clean[first + LENGTH :]
    report = validate(compiled, io.BytesIO(data), today=TODAY)
    assert spied.calls
    assert report.verdict != "accepted"
    assert report.findings == unscreened(compiled, data, monkeypatch).findings


def test_in_a_batch_each_file_gets_its_own_findings(
    compiled: Compiled, clean: bytes, spied: Spied
) -> None:
    data, at = unlike_its_anchor(clean, spied.check, 3, at_end=False)
    files = [("a", clean), ("broken", data), ("b", clean)]
    reports = validate_many(
        compiled, [(name, io.BytesIO(body)) for name, body in files], today=TODAY
    )
    assert spied.calls  # evaluated once, on the three files' ET80 records together
    code = spied.rp.rule.code
    assert [f.record for f in reports[1].findings if f.code == code] == [number(at)]
    assert reports[0].verdict == reports[2].verdict == "accepted"
    assert reports[1].findings == validate(compiled, io.BytesIO(data), today=TODAY).findings
