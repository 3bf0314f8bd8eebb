"""Real material (tests/real/, provenance in tests/real/PROVENANCE.md): what each file must give.

A file written by a production writer, or an answer sent by a real insurer, is evidence of what
the field accepts. Where one of them and the rulebook disagreed, the test below says which
side moved and why.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from pathlib import Path

import pytest

from answer import read_message
from compiler import Compiled
from generator import generate
from generator.parse import to_structured
from validator import validate
from validator.report import Report

REAL = Path(__file__).resolve().parent / "real"
VENDOR = REAL / "corilus" / "MessageeFact920000_2023-04-10.txt"
CIN = sorted((REAL / "cin").iterdir())


def validated(compiled: Compiled, path: Path, today: dt.date) -> Report:
    with path.open("rb") as stream:
        return validate(compiled, stream, name=path.name, today=today)


def codes(report: Report) -> list[tuple[str, str, int | None]]:
    return sorted((f.letter, f.code, f.record) for f in report.findings)


def with_params(compiled: Compiled, **values: object) -> Compiled:
    """The rulebook with other values for some parameters (every period of each)."""
    params = dict(compiled.params)
    for name, value in values.items():
        param = params[name]
        assert param.choices is None or value in param.choices, (name, value)
        versions = tuple(dataclasses.replace(v, value=value) for v in param.versions)
        params[name] = dataclasses.replace(param, versions=versions)
    return dataclasses.replace(compiled, params=params)


def test_vendor_file_is_accepted(compiled: Compiled) -> None:
    """The rulebook moved. Corilus' sending (2022-11) was rejected_blocking with ten B findings:
    104501, 104601, 104701, 105301, 105401 on ET10 and their ET90 twins. The writer leaves
    numeric reserves empty its own way: blanks (zones 45, 46, 53), blanks then zeros (zone 47
    `"       0"`, zone 54 `"   00000"`). The official labels say "contenu zone différent de
    zéro", which an empty zone is not: those rules now require `empty` (zeros and blanks), and
    zones 47 and 54 are split into the parts the official list names (47b: 104709, 54b:
    105409). Its `+0000000` in ET80 / ET90 zone 55 was already accepted (805501 / 905501)."""
    report = validated(compiled, VENDOR, dt.date(2023, 4, 10))
    assert (report.verdict, codes(report)) == ("accepted", [])
    assert report.records == 7


@pytest.mark.parametrize("path", CIN, ids=lambda p: p.name)
def test_cin_test_files(compiled: Compiled, path: Path) -> None:
    """The CIN's own test files (2014). The rulebook moved on account C: they leave its sign
    and amount blank in ET95 / ET96, and 412-11 / 512-11 ('format error') now accept an
    account C that is blank as a whole. Two differences stay, each a documented parameter
    (efact-920000.md §8.1, §8.5): their record control digits carry +10 (109902 … 909902
    under `control_digit_offset` 0) and their record counts are the constants 6 and 8
    (409-20 / 509-20 under `record_count_rule` "invoice-records"). With the parameters set as
    those files read, nothing is left."""
    today = dt.date(2014, 12, 1)
    report = validated(compiled, path, today)
    records = report.records
    control = [(f.code, f.record) for f in report.findings if f.code.endswith("9902")]
    # every record but ET95 and ET96 (no record control digits): ordinals 1 .. records - 2
    assert [record for _, record in control] == list(range(1, records - 1))
    assert all(f.code[:2] == f.record_type for f in report.findings if f.code.endswith("9902"))
    others = sorted(f.code for f in report.findings if not f.code.endswith("9902"))
    assert others == ["409-20", "509-20"]
    as_cin = with_params(compiled, control_digit_offset=10, record_count_rule=b"cin-constant")
    report = validated(as_cin, path, today)
    assert (report.verdict, codes(report)) == ("accepted", [])


ANSWERS: dict[str, tuple[str, str, str, list[tuple[str, int, list[object]]]]] = {
    # file: (message, refusal type, error percentage, [(record type, index, errors)])
    "pyconnector/920099_headeronly_20240215_925198.txt": ("920099", "01", "00000", []),
    "pyconnector/920099_headeronly_20240215_003251.txt": ("920099", "01", "00000", []),
    "fhc-taktik/920099_testReParse920999_line1819.txt": ("920099", "01", "00000", []),
    "fhc-taktik/920098_testReParse920098_line1826.txt": (
        "920098",
        "00",
        "00000",
        [("10", 1, []), ("90", 2, [])],
    ),
}


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_real_answers_are_read(compiled: Compiled, name: str) -> None:
    """Insurers' answers as they were received: the platform's 920099 of 2024 (format
    version 03, no echoed record) and the FHC answers, read with their refusal type, error
    percentage and each echoed record's errors (the anonymised 920098 carries none: its error
    blocks hold blank letters and codes 000000)."""
    message = read_message(compiled, (REAL / name).read_bytes(), name)
    kind, refusal, percentage, records = ANSWERS[name]
    assert (message.type, message.refusal_type, message.error_percentage) == (
        kind,
        refusal,
        percentage,
    )
    assert [(r.record_type, r.index, list(r.errors)) for r in message.records] == records
    assert all(errors == () for _, errors in message.segments)


CONTEXT = "context: the fragment placed in a generated sending is not numbered or linked to it"
SYNTHETIC = "synthetic test data of the writer's own tests"
FRAGMENTS: dict[str, tuple[str, dict[str, str]]] = {
    "record20_empty_ET20.txt": (
        "baseline",
        {
            "200210": CONTEXT,
            "200812": CONTEXT,
            "201412": CONTEXT,
            "200411": SYNTHETIC + ": an ambulatory invoice (type 3) with an admission hour,",
            "200511": "admission and discharge dates, each refused by an explicit official",
            "200611": "label ('présente et type de facture = 3, 6 ou 9')",
            "200802": SYNTHETIC + ": beneficiary 97, no valid NISS",
            "201402": SYNTHETIC + ": establishment 10000000000, no valid NIHII",
            "202403": SYNTHETIC + ": invoice number 0",
        },
    ),
    **{
        name: (
            "hospital",
            {
                "300210": CONTEXT,
                "300812": CONTEXT,
                "302701": "The rulebook does not move: the writer writes zone 27 (personal share)",
                "302705": "as '0' then blanks, and the official labels say explicitly that it "
                "must be a sign then digits ('non numérique', 'première position différente "
                "de + ou -'). Its zone 24-25, written the same way, has no rule.",
            },
        )
        for name in (
            "record30_empty_ET30.txt",
            "record30_withData_ET30.txt",
            "record30_withIncontinentCode_ET30.txt",
        )
    },
    **{
        name: (
            "baseline",
            {
                "500210": CONTEXT,
                "500812": CONTEXT,
                "501502": SYNTHETIC + ": provider numbers without a valid NIHII check digit",
            },
        )
        for name in (
            "record50_empty_ET50.txt",
            "record50_withMMData_ET50.txt",
            "record50_withRHData_ET50.txt",
        )
    },
}


@pytest.mark.parametrize("name", sorted(FRAGMENTS))
def test_writer_fragments(compiled: Compiled, name: str) -> None:
    """Records written by a production writer (freehealth-connector's, for rest homes and
    medical houses), each put in place of the first record of its type in a generated sending:
    the file parses and regenerates to the same bytes (the writer's blanks and its '0' then
    blanks are carried as written), and the findings on the fragment are exactly those
    explained here - none is a reserve, filler or format convention of the writer that no
    official text refuses."""
    fragment = (REAL / "fhc-beoogo" / name).read_bytes()
    scenario, explained = FRAGMENTS[name]
    today = dt.date(2026, 11, 1)
    base = generate(compiled, compiled.scenarios[scenario], today=today)
    head = sum(compiled.layouts[s].length for s in compiled.message.segments)
    size = compiled.message.record_length
    records = [base[i : i + size] for i in range(head, len(base), size)]
    place = next(k for k, r in enumerate(records) if r[:2] == fragment[:2])
    records[place] = fragment
    data = base[:head] + b"".join(records)
    assert generate(compiled, to_structured(compiled, data, name), today=today) == data
    report = validate(compiled, io.BytesIO(data), today=today)
    assert {f.code for f in report.findings if f.record == place + 1} == set(explained)
