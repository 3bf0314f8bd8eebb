"""Answer messages: the acknowledgement, 920098 / 920099 / 920999 / 920900 written from a
validation, and read back with the same codes at the same records (the answer round trip)."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from answer import AnswerError, ReadError, answers_for, read_message
from answer.read import ReadMessage
from answer.write import envelope_code, settlement
from compiler import Compiled
from tests.sendings import build, check
from validator.report import LETTERS, Report

R_RULE = "512712"  # an R rule of ET51 (line refused)
CASES = {
    "accepted": (3, None),
    "accepted_with_errors": (40, R_RULE),  # 1 invoice of 40 refused: 2.5 % <= 5 %
    "rejected_threshold": (3, "200802"),  # F on ET20 and ET80 of one invoice of 3
    "rejected_blocking": (3, "200210"),  # B: sequence number
    "envelope": (3, "501-20"),  # federation code of ET96
}


def answer_of(compiled: Compiled, case: str) -> tuple[Report, list[ReadMessage], bytes]:
    invoices, code = CASES[case]
    data = build(compiled, invoices, code)
    report = check(compiled, data)
    answers = answers_for(compiled, data, report)
    assert all(a.omitted == () for a in answers)
    return report, [read_message(compiled, a.content, a.message) for a in answers], data


def report_errors(report: Report) -> list[tuple[str, list[tuple[str, str]]]]:
    """(record type, sorted (letter, code)) of each record with findings, in file order."""
    by_record: dict[int, list[tuple[str, str]]] = defaultdict(list)
    types: dict[int, str] = {}
    for f in report.findings:
        assert f.record is not None and f.record_type is not None, f
        by_record[f.record].append((f.letter, f.code))
        types[f.record] = f.record_type
    return [(types[n], sorted(by_record[n])) for n in sorted(by_record)]


def read_errors(message: ReadMessage) -> list[tuple[str, list[tuple[str, str]]]]:
    return [
        (r.record_type, sorted((e.letter or "?", e.code) for e in r.errors))
        for r in message.records
        if r.errors
    ]


@pytest.mark.parametrize(
    ("case", "message", "refusal"),
    [
        ("accepted", "920098", "00"),
        ("accepted_with_errors", "920098", "00"),
        ("rejected_threshold", "920099", "02"),
        ("rejected_blocking", "920099", "01"),
    ],
)
def test_round_trip_for_every_verdict(
    compiled: Compiled, case: str, message: str, refusal: str
) -> None:
    report, (ack, answer), _ = answer_of(compiled, case)
    assert report.verdict == case
    assert (ack.type, ack.acknowledged, ack.records) == ("931000", "920000", ())
    assert (answer.type, answer.refusal_type) == (message, refusal)
    assert answer.error_percentage == f"{round(report.error_rate * 10000):05d}"
    assert read_errors(answer) == report_errors(report)
    assert [r.index for r in answer.records] == list(range(1, len(answer.records) + 1))
    assert [r.record_type for r in answer.records][:1] == ["10"]
    assert answer.records[-1].record_type == "90" or any(
        f.record_type in ("95", "96") for f in report.findings
    )


def test_round_trip_of_a_bordereau_refusal(compiled: Compiled) -> None:
    report, (ack, answer), _ = answer_of(compiled, "envelope")
    assert report.verdict == "rejected_blocking"
    assert {f.code for f in report.findings} == {"501-20"}
    assert (ack.type, answer.type, answer.refusal_type) == ("931000", "920999", None)
    assert read_errors(answer) == report_errors(report) == [("96", [("B", "501-20")])]
    assert [r.record_type for r in answer.records] == ["96"]  # only the records in error


def test_segment_errors_go_to_their_error_zones(compiled: Compiled) -> None:
    data = build(compiled, 2, "301-11")  # sending number of segment 300 not numeric
    report = check(compiled, data)
    envelope = sorted(f.code for f in report.findings if envelope_code(f.code))
    assert envelope == ["301-11"]
    _, answer = answers_for(compiled, data, report)
    read = read_message(compiled, answer.content)
    assert read.type == "920999"
    assert dict(read.segments)["S300"][0].code == "301-11"
    assert answer.content[227 - 160 + 11 : 227 - 160 + 13] == b"11"  # zone 3011, pos. 12-13
    assert read.records == ()


def test_only_invoices_in_error_are_echoed(compiled: Compiled) -> None:
    report, (_, answer), _ = answer_of(compiled, "accepted_with_errors")
    assert len({f.invoice for f in report.findings}) == 1
    types = [r.record_type for r in answer.records]
    assert types[0] == "10" and types[-1] == "90"
    assert types.count("20") == types.count("80") == 1  # one invoice of 40
    assert len(answer.records) < report.records


def test_echoed_records_keep_the_sent_record_and_fill_the_block(compiled: Compiled) -> None:
    report, _, data = answer_of(compiled, "rejected_threshold")
    answer = answers_for(compiled, data, report)[1].content
    head = 67 + 610
    assert (len(answer) - head) % 800 == 0
    records = [answer[i : i + 800] for i in range(head, len(answer), 800)]
    sent = data[227 : 227 + 350]
    assert records[0][:350] == sent  # ET10 echoed as sent
    block = compiled.layouts["EB"]

    def zone(record: bytes, name: str) -> bytes:
        z = block.by_name[name]
        return record[350 + z.offset : 350 + z.end]

    s300 = data[67:227]
    assert zone(records[0], "sending_number") == s300[8:11]
    assert zone(records[0], "invoiced_period") == s300[0:6]
    assert zone(records[0], "mutuality") == b"000"  # ET10 belongs to no invoice
    et20 = next(r for r in records if r[:2] == b"20")
    assert zone(et20, "mutuality") == et20[84:87]  # destination mutuality of its invoice
    assert (zone(et20, "letter_1"), zone(et20, "code_1")) == (b"F", b"200802")
    assert zone(et20, "letter_2") == b" "
    assert zone(et20, "error_comment").rstrip().decode().startswith("Numero d'identification")
    assert zone(records[-1], "record_index") == f"{len(records):06d}".encode()


def test_at_most_three_errors_per_record_the_rest_reported(compiled: Compiled) -> None:
    data = build(compiled, 3, "200802")
    report = check(compiled, data)
    first = report.findings[0]
    extra = tuple(
        type(first)(**{**{k: getattr(first, k) for k in first.__slots__}, "code": f"20080{n}"})
        for n in (3, 4, 5)
    )
    crowded = Report(
        **{
            **{k: getattr(report, k) for k in report.__slots__},
            "findings": (*report.findings, *extra),
        }
    )
    answer = answers_for(compiled, data, crowded)[1]
    assert [(o.finding.code, o.reason) for o in answer.omitted] == [
        ("200805", "the record already carries as many errors as its block holds")
    ]  # F 200802, 200803, 200804 kept
    kept = read_message(compiled, answer.content).records[1].errors
    assert [e.code for e in kept] == ["200802", "200803", "200804"]


def test_letters_are_written_most_severe_first(compiled: Compiled) -> None:
    assert LETTERS == ("B", "F", "R", "S", "E")


def test_settlement_gives_the_amounts_per_destination(compiled: Compiled) -> None:
    data = build(compiled, 40, R_RULE)
    report = check(compiled, data)
    assert report.amounts is not None
    answers = answers_for(compiled, data, report, settle=True)
    assert [a.message for a in answers] == ["931000", "920098", "920900"]
    read = read_message(compiled, answers[2].content)
    et91 = [r for r in read.records if r.record_type == "91"]
    et92 = [r for r in read.records if r.record_type == "92"]
    assert len(et92) == 1 and [r.values and r.values["mutuality_number"] for r in et91] == [
        int(d.key) for d in report.amounts.destinations
    ]
    refused = 0
    for record, destination in zip(et91, report.amounts.destinations, strict=True):
        values = record.values or {}
        for account in ("A", "B"):
            sums = destination.account(account)
            low = account.lower()
            assert (
                values[f"asked_{low}"],
                values[f"accepted_{low}"],
                values[f"refused_{low}"],
            ) == (
                sums.asked,
                sums.accepted,
                sums.refused,
            )
        refused += values["refused_total"]
    assert refused > 0  # the R line is refused
    total = et92[0].values or {}
    assert total["refused_total"] == refused
    assert total["asked_total"] == sum(d.total.asked for d in report.amounts.destinations)
    assert total["federation_code"] == int(data[-350 + 4 : -350 + 7])


def test_a_rejected_sending_is_not_settled(compiled: Compiled) -> None:
    data = build(compiled, 3, "200802")
    report = check(compiled, data)
    assert [a.message for a in answers_for(compiled, data, report, settle=True)] == [
        "931000",
        "920099",
    ]
    with pytest.raises(AnswerError, match="not settled"):
        settlement(compiled, data, report)


def test_every_envelope_code_has_an_error_zone(compiled: Compiled) -> None:
    """A bordereau refusal writes each ZONE-VALUE code in the error zone declared for ZONE;
    only the reserves (206, 310, 413, 513) and the error zones themselves (a sent file's
    filled error zone, ZONE-20 on 2001 ... 5121) have none."""
    missing = set()
    error_zones = set()
    for rule in compiled.rules:
        parsed = envelope_code(rule.code)
        if parsed is not None and compiled.layouts[rule.record].error_zone(parsed[0]) is None:
            missing.add(rule.code)
            if rule.zone.reports is not None:
                error_zones.add(rule.code)
    assert len(error_zones) == 34
    assert missing - error_zones == {"206-20", "310-20", "413-20", "513-20"}


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"", "the message is empty"),
        (b"X" * 300, "positions 1-6: 'XXXXXX' is not a message this rulebook describes"),
        (b"931000" + b"0" * 100, "segment S931 (positions 68-227) is cut short"),
    ],
)
def test_unreadable_messages_are_located(compiled: Compiled, data: bytes, where: str) -> None:
    with pytest.raises(ReadError, match=re.escape(where)):
        read_message(compiled, data, "x")


def test_unknown_and_short_records_are_located(compiled: Compiled) -> None:
    report, _, data = answer_of(compiled, "rejected_threshold")
    answer = answers_for(compiled, data, report)[1].content
    with pytest.raises(ReadError, match=r"record 2 \(positions 1478-2277\) has 10 characters"):
        read_message(compiled, answer[: 677 + 800 + 10], "x")
    # an echo of a record of a type the message does not describe is read, block and all:
    # the answer writer echoes such a record when it is in error, as it came
    echoed = answer[:677] + b"77" + answer[679:]
    first = read_message(compiled, echoed, "x").records[0]
    original = read_message(compiled, answer, "x").records[0]
    assert (first.record_type, first.layout) == ("77", None)
    assert [e.code for e in first.errors] == [e.code for e in original.errors if "-" not in e.code]
    # a message without echo block (920999) describes each of its records: another is refused
    data = build(compiled, 3, "501-20")
    answers = answers_for(compiled, data, check(compiled, data))
    raw = next(a.content for a in answers if a.message == "920999")
    broken = raw[:227] + b"77" + raw[229:]
    with pytest.raises(ReadError, match=r"record 1 .*: record type '77' is not part of message"):
        read_message(compiled, broken, "x")


def test_what_an_answer_cannot_carry_is_said(compiled: Compiled) -> None:
    empty = check(compiled, b"")
    assert [f.code for f in empty.findings] == ["RB0001"]
    ack, answer = answers_for(compiled, b"", empty)
    assert answer.message == "920099"
    assert [(o.finding.code, o.reason) for o in answer.omitted] == [
        ("RB0001", "the file has no record to carry it")
    ]
    assert read_message(compiled, answer.content).refusal_type == "01"
    assert ack.content[:6] == b"931000"


def test_line_breaks_between_records_are_ignored(compiled: Compiled) -> None:
    report, _, data = answer_of(compiled, "rejected_threshold")
    answer = answers_for(compiled, data, report)[1].content
    head, body = answer[:677], answer[677:]
    split = head[:67] + b"\r\n" + head[67:] + b"\r\n"
    split += b"\r\n".join(body[i : i + 800] for i in range(0, len(body), 800)) + b"\r\n"
    assert read_message(compiled, split) == read_message(compiled, answer)
