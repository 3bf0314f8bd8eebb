"""Validating files together (``validate_many``, the service's batches) gives each file the
report it gets alone: every rule's mutant, the examples and broken files, in mixed batches."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections import defaultdict
from pathlib import Path

import pytest

from compiler import Compiled
from generator import generate
from generator.mutants import scenario_date
from tests.sendings import mutant_case
from validator import validate
from validator.drive import validate_many

ROOT = Path(__file__).resolve().parent.parent


def corpus(compiled: Compiled) -> dict[dt.date, list[tuple[str, bytes]]]:
    """Files by reference date: each rule's mutants, the scenarios, the examples, and broken
    files (empty, cut in a record, binary, a record of unknown type)."""
    files: dict[dt.date, list[tuple[str, bytes]]] = defaultdict(list)
    for rule in compiled.rules:
        for index in range(len(rule.mutants)):
            case = mutant_case(compiled, rule, index)
            files[case.today].append((case.name, case.data))
    for name, data in compiled.scenarios.items():
        files[scenario_date(compiled, name)].append((name, generate(compiled, data)))
    baseline = files[scenario_date(compiled, "baseline")]
    for path in sorted((ROOT / "examples").glob("*.920000")):
        baseline.append((path.name, path.read_bytes()))
    good = baseline[-1][1]
    baseline += [
        ("empty", b""),
        ("cut", good[: len(good) - 100]),
        ("binary", bytes(range(256)) * 8),
        ("unknown-type", good[:577] + b"77" + good[579:]),
    ]
    return files


@pytest.fixture(scope="module")
def files(compiled: Compiled) -> dict[dt.date, list[tuple[str, bytes]]]:
    return corpus(compiled)


def test_batches_give_each_file_its_own_report(
    compiled: Compiled, files: dict[dt.date, list[tuple[str, bytes]]]
) -> None:
    rng = random.Random(920000)
    compared = 0
    for today, group in files.items():
        alone = {
            name: validate(compiled, io.BytesIO(data), name=name, today=today).to_json()
            for name, data in group
        }
        order = group[:]
        rng.shuffle(order)
        while order:
            size = rng.choice([2, 3, 7, 16, 40])
            batch, order = order[:size], order[size:]
            reports = validate_many(
                compiled, [(name, io.BytesIO(data)) for name, data in batch], today=today
            )
            assert [r.file_name for r in reports] == [name for name, _ in batch]
            for report in reports:
                assert report.to_json() == alone[report.file_name], report.file_name
                compared += 1
    assert compared > 500  # every rule has a mutant


def test_a_batch_of_one_file_and_an_empty_batch(compiled: Compiled) -> None:
    data = (ROOT / "examples" / "wrong-niss.920000").read_bytes()
    today = dt.date(2026, 11, 1)
    (report,) = validate_many(compiled, [("x", io.BytesIO(data))], today=today)
    assert report.to_json() == validate(compiled, io.BytesIO(data), name="x", today=today).to_json()
    assert validate_many(compiled, [], today=today) == []


def test_files_read_in_many_blocks_batched_together(
    compiled: Compiled, files: dict[dt.date, list[tuple[str, bytes]]]
) -> None:
    """Blocks of 5 records: records carried between chunks, passes of different chunks of
    different files evaluated together."""
    today, group = next(iter(files.items()))
    chosen = [f for f in group if f[0] in {"baseline.920000", "hospital.920000", "cut"}]
    chosen += group[:: max(1, len(group) // 12)]
    alone = {
        name: validate(compiled, io.BytesIO(data), name=name, today=today, block_records=5)
        for name, data in chosen
    }
    reports = validate_many(
        compiled, [(name, io.BytesIO(data)) for name, data in chosen], today=today, block_records=5
    )
    assert len(reports) == len(chosen) > 12
    for report in reports:
        assert report.to_json() == alone[report.file_name].to_json(), report.file_name
    whole = validate(compiled, io.BytesIO(chosen[0][1]), name=chosen[0][0], today=today)
    assert whole.to_json() == alone[chosen[0][0]].to_json()  # blocks change nothing


def test_a_failing_batch_is_redone_file_by_file(
    compiled: Compiled, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If validating a batch fails (a validator bug), each file is validated alone: the file
    that makes it fail gets the error, the others their reports."""
    import api.batch as batch

    good = (ROOT / "examples" / "wrong-niss.920000").read_bytes()
    today = dt.date(2026, 11, 1)

    def broken_batch(*args: object, **kwargs: object) -> list[object]:
        raise RuntimeError("batch failed")

    alone = validate

    def one(c: Compiled, stream: io.BytesIO, *, name: str, **kwargs: object) -> object:
        if name == "bad":
            raise ValueError("this file breaks the validator")
        return alone(c, stream, name=name, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(batch, "validate_many", broken_batch)
    monkeypatch.setattr(batch, "validate", one)
    outcomes = batch.validate_files(
        compiled, [("a", good), ("bad", good), ("b", good)], today, None
    )
    assert isinstance(outcomes[1], ValueError)
    expected = alone(compiled, io.BytesIO(good), name="a", today=today).to_json()
    for outcome, name in ((outcomes[0], "a"), (outcomes[2], "b")):
        assert not isinstance(outcome, Exception)
        assert outcome.to_json() == {**expected, "file": {**expected["file"], "name": name}}
    (only,) = batch.validate_files(compiled, [("bad", good)], today, None)
    assert isinstance(only, RuntimeError)  # a batch of one is not redone
