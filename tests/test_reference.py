"""The fast validator against the reference interpreter (``tests.reference``): the IR evaluated
one record at a time, written to be read. On every mutant, on Hypothesis-generated sendings
with bytes and records mutated, and on the fuzzer's mutated files, at several block sizes, both
give the same findings: codes, records, record types, zones, positions, invoices, values,
RB0008 included."""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import io
import random
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.fuzz import bases, mutate
from compiler import Compiled, load_compiled
from generator import generate
from generator.strategies import sendings
from tests.reference.run import comparable, reference_findings
from tests.sendings import TODAY, mutant_case, sending
from validator import validate, validate_many
from validator.report import Finding

COMPILED = load_compiled()


def agree(compiled: Compiled, data: bytes, today: dt.date, **options: Any) -> list[Finding]:
    """The fast validator's findings, asserted equal to the reference's."""
    fast = validate(compiled, io.BytesIO(data), today=today, **options).findings
    ref = reference_findings(compiled, data, today, options.get("as_of"))
    a, b = comparable(ref), comparable(fast)
    if a != b:
        only_ref = list((collections.Counter(a) - collections.Counter(b)).elements())
        only_fast = list((collections.Counter(b) - collections.Counter(a)).elements())
        kept = Path(tempfile.gettempdir()) / f"disagreement-{hashlib.sha256(data).hexdigest()[:12]}"
        kept.write_bytes(data)  # the file, to replay: python -m tests.reference FILE
        pytest.fail(
            f"reference only: {only_ref[:6]}\nfast only: {only_fast[:6]}\n"
            f"options: {options}; file kept as {kept}"
        )
    return list(fast)


def test_every_mutant(compiled: Compiled) -> None:
    seen: set[str] = set()
    for rule in compiled.rules:
        for index in range(len(rule.mutants)):
            case = mutant_case(compiled, rule, index)
            seen.update(f.code for f in agree(compiled, case.data, case.today))
    assert len(seen) > 500  # the mutants exercise nearly every code


def test_every_mutant_in_small_blocks_and_as_of(compiled: Compiled) -> None:
    """Blocks of 1 to 5 records (context carried from block to block) and a fixed governing
    date: still the reference's findings, on a spread of the mutants."""
    for k, rule in enumerate(compiled.rules[::5]):
        case = mutant_case(compiled, rule, 0) if rule.mutants else None
        if case is None:
            continue
        agree(compiled, case.data, case.today, block_records=1 + k % 5)
        agree(compiled, case.data, case.today, as_of=dt.date(2016, 1, 1) + dt.timedelta(k * 7))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(sendings(COMPILED), st.randoms(use_true_random=False), st.integers(1, 64))
def test_generated_sendings_mutated(data: dict[str, Any], rng: random.Random, block: int) -> None:
    content = generate(COMPILED, data, today=TODAY)
    agree(COMPILED, content, TODAY)
    mutated, _, _ = mutate(COMPILED, content, rng)
    agree(COMPILED, mutated, TODAY, block_records=block)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(
    st.lists(sendings(COMPILED), min_size=2, max_size=3),
    st.randoms(use_true_random=False),
    st.integers(1, 7),
    st.none() | st.dates(dt.date(2014, 1, 1), dt.date(2027, 1, 1)),
)
def test_batches_of_mutated_sendings(
    datas: list[dict[str, Any]], rng: random.Random, block: int, as_of: dt.date | None
) -> None:
    """Files validated together (``validate_many``, in small blocks, with a governing date
    or without): each file's findings are the reference's for that file alone."""
    files = []
    for data in datas:
        content = generate(COMPILED, data, today=TODAY)
        for _ in range(rng.randint(1, 4)):
            content, _, _ = mutate(COMPILED, content, rng)
        files.append(content)
    reports = validate_many(
        COMPILED,
        [(str(k), io.BytesIO(f)) for k, f in enumerate(files)],
        today=TODAY,
        as_of=as_of,
        block_records=block,
    )
    for content, report in zip(files, reports, strict=True):
        ref = comparable(reference_findings(COMPILED, content, TODAY, as_of))
        assert comparable(report.findings) == ref


def test_fuzzed_files(compiled: Compiled) -> None:
    """The fuzzer's mutations (bytes anywhere, the bordereau's zones, records deleted,
    duplicated or swapped) of the scenarios and of sendings of 2 to 12 invoices."""
    rng = random.Random(21)
    found = 0
    for base in bases(compiled):
        for _ in range(12):
            mutated, _, _ = mutate(compiled, base, rng)
            found += len(agree(compiled, mutated, TODAY, block_records=rng.choice([3, 49152])))
    assert found > 100


def test_the_reference_can_disagree(compiled: Compiled) -> None:
    """A test that cannot fail proves nothing: a reference reading ``prior`` as ``anchor``
    differs from the validator on the mutants that tell them apart."""
    import tests.reference.interpreter as interpreter

    original = interpreter.Sending.source

    def wrong(self: interpreter.Sending, at: Any, access: str, record: str | None) -> int | None:
        return original(self, at, "anchor" if access == "prior" else access, record)

    differ = 0
    try:
        interpreter.Sending.source = wrong  # type: ignore[method-assign]
        for rule in compiled.rules:
            if rule.mutants and "prior" in repr(rule.require):
                case = mutant_case(compiled, rule, 0)
                ref = comparable(reference_findings(compiled, case.data, case.today))
                fast = validate(compiled, io.BytesIO(case.data), today=case.today).findings
                differ += ref != comparable(fast)
    finally:
        interpreter.Sending.source = original  # type: ignore[method-assign]
    assert differ > 0


def test_an_occurrence_ended_between_blocks(compiled: Compiled) -> None:
    """Found by the reference (block size 1): an ET95 moved inside an invoice ends the
    occurrence (a record that is not a member), so the ET50 and ET80 after it belong to no
    invoice and the ET80's totals cannot be compared (the structure rules say why). In blocks
    of 1 to 3 records the validator saw the carried ET20 and the ET50 before the ET80 side by
    side, the ET95 between them not carried, and compared the totals of a made-up occurrence
    (801910, 802710, 809802). Each block now knows whether the record before it was in an
    occurrence; the validator moved, the reference was right."""
    data = generate(compiled, sending(compiled, 5), today=TODAY)
    head = len(data) - (len(data) - 227) // 350 * 350
    records = [data[i : i + 350] for i in range(head, len(data), 350)]
    opener = [k for k, r in enumerate(records) if r[:2] == b"20"][2]
    moved = next(k for k, r in enumerate(records) if r[:2] == b"95")
    records.insert(opener + 1, records.pop(moved))
    broken = data[:head] + b"".join(records)
    for block in (1, 2, 3, 49152):
        found = agree(compiled, broken, TODAY, block_records=block)
        assert not {"801910", "802710", "809802"} & {f.code for f in found}, block


def test_a_segment_rule_sees_the_records_findings(compiled: Compiled) -> None:
    """Found by the hunt (the reference was wrong): S300's creation date compared with ET10's
    (302-22) when ET10's has a non-digit is explained by ET10's own finding (102501), so no
    RB0008; the reference gave the segment's end-of-sending rules no flags at all."""
    data = bytearray(generate(compiled, sending(compiled, 2), today=TODAY))
    zone = compiled.layouts["ET10"].by_name["creation_date"]
    data[227 + zone.offset + 3] = ord("x")
    found = agree(compiled, bytes(data), TODAY)
    assert "102501" in {f.code for f in found}
    assert "RB0008" not in {f.code for f in found}


def test_broken_files(compiled: Compiled) -> None:
    """Empty, cut in a record, binary, a record of unknown type, a line of text, another
    message: the reader's findings and whatever rules still run, as the reference has them."""
    good = generate(compiled, sending(compiled, 3), today=TODAY)
    files = [
        b"",
        good[: len(good) - 100],
        bytes(range(256)) * 8,
        good[:577] + b"77" + good[579:],
        b"hello\n",
        b"920098" + good[6:],
        good[:227],
        good + b"\r\n",
    ]
    for data in files:
        for block in (1, 49152):
            agree(compiled, data, TODAY, block_records=block)
