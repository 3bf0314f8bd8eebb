"""Validations driven side by side: each validation is a generator yielding the passes it
needs evaluated (``validator.passes``); whenever several wait for the same kind of pass they
are evaluated together. ``validate`` is one file, ``validate_many`` several; the reports are
the same either way; ``iter_findings`` gives one file's findings as they are found.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator, Iterator

import numpy as np

from compiler import Compiled
from validator.amounts import REJECTED
from validator.chunk import Chunk
from validator.passes import GOVERNING, Joined, Pass, evaluate
from validator.plan import plan_for
from validator.reader import DEFAULT_BLOCK_RECORDS, ByteSource, Reader, reader_finding
from validator.report import Finding, Report
from validator.run import Run, date_int
from validator.verdict import decide, error_rate

Validation = Generator[Pass, None, Report]


def drive(validations: list[Validation]) -> list[Report]:
    """Run validations side by side: whenever several wait for the same pass, their chunks
    are evaluated together (``evaluate``). One validation alone runs as before."""
    reports: list[Report | None] = [None] * len(validations)
    waiting: list[tuple[int, Pass]] = []
    joined: Joined = {}  # kept from phase 1 to phase 2 of the same chunks

    def advance(i: int) -> None:
        try:
            waiting.append((i, next(validations[i])))
        except StopIteration as done:
            reports[i] = done.value

    for i in range(len(validations)):
        advance(i)
    while waiting:
        kind = waiting[0][1].kind
        due = [(i, p) for i, p in waiting if p.kind == kind]
        waiting = [(i, p) for i, p in waiting if p.kind != kind]
        evaluate([p for _, p in due], joined)
        for i, _ in due:
            advance(i)
    return [r for r in reports if r is not None]


def validate(
    compiled: Compiled,
    stream: ByteSource,
    *,
    name: str = "-",
    today: dt.date | None = None,
    as_of: dt.date | None = None,
    block_records: int = DEFAULT_BLOCK_RECORDS,
    keep: int | None = None,
) -> Report:
    """Validate one file; never raises for bad file content (bad input becomes findings).
    ``keep``: findings listed per code (the others counted; None: all listed)."""
    (report,) = validate_many(
        compiled,
        [(name, stream)],
        today=today,
        as_of=as_of,
        block_records=block_records,
        keep=keep,
    )
    return report


def iter_findings(
    compiled: Compiled,
    stream: ByteSource,
    *,
    today: dt.date | None = None,
    as_of: dt.date | None = None,
    block_records: int = DEFAULT_BLOCK_RECORDS,
) -> Iterator[Finding]:
    """A file's findings as they are found: a block's once its passes have run (a group's
    rules once the group is complete), the end-of-sending rules' and the reader's last.
    Sorted by ``Finding.sort_key`` they are ``validate``'s findings, all of them; none is
    held once given, so memory stays bounded by a block however many there are (no verdict:
    ``validate`` gives the report)."""
    passes = validation(
        compiled, stream, today=today, as_of=as_of, block_records=block_records, keep=None
    )
    joined: Joined = {}
    found: list[Finding] | None = None
    try:
        while True:
            due = next(passes)
            evaluate([due], joined)
            found = due.run.tally.listed
            yield from found
            found.clear()
    except StopIteration:
        if found is not None:  # the reader's findings, added as the validation ended
            yield from found
            found.clear()


def validate_many(
    compiled: Compiled,
    files: list[tuple[str, ByteSource]],
    *,
    today: dt.date | None = None,
    as_of: dt.date | None = None,
    block_records: int = DEFAULT_BLOCK_RECORDS,
    keep: int | None = None,
) -> list[Report]:
    """Validate several files together (``drive``): each report is the one ``validate``
    gives for that file alone, for less work than validating them one by one."""
    return drive(
        [
            validation(
                compiled,
                stream,
                name=name,
                today=today,
                as_of=as_of,
                block_records=block_records,
                keep=keep,
            )
            for name, stream in files
        ]
    )


def validation(
    compiled: Compiled,
    stream: ByteSource,
    *,
    name: str = "-",
    today: dt.date | None = None,
    as_of: dt.date | None = None,
    block_records: int = DEFAULT_BLOCK_RECORDS,
    keep: int | None = None,
) -> Validation:
    """One validation as a generator: it yields the passes of stream rules it needs
    evaluated (see ``drive``) and returns the report."""
    plan = plan_for(compiled)
    today_int = date_int(today or dt.date.today())
    run = Run(plan=plan, today=today_int, as_of=date_int(as_of) if as_of else None)
    run.tally.keep = keep
    reader = Reader(stream=stream, compiled=compiled, block_records=block_records)
    reader.read_header()
    yield from run.start(reader)
    blocks = reader.blocks()
    current = next(blocks, None)
    while current is not None:
        following = next(blocks, None)
        lookahead = following[0][0] if following is not None else None
        yield from run.steps(current[0], current[1], lookahead)
        current = following
    reader.drain()
    yield from run.finish(reader)
    yield from governing_pass(run)
    tally = run.tally
    for f in reader.findings:
        tally.add(reader_finding(compiled, f))
    findings = sorted(tally.listed, key=Finding.sort_key)
    governing = run.governing
    decisive = governing if governing is not None else today_int
    # amounts refused by the findings alone (the rate's "amounts" basis), then as the verdict has it
    refusals = run.amounts.result(tally, "accepted_with_errors") if run.amounts else None
    rate = error_rate(
        compiled,
        tally,
        invoices=run.invoice_count,
        records=reader.records,
        date=decisive,
        amounts=refusals,
    )
    seg200 = (
        reader.segments.get(compiled.message.segments[0]) if compiled.message.segments else None
    )
    verdict = decide(compiled, tally, rate, decisive)
    amounts = refusals
    if run.amounts is not None and verdict in REJECTED:
        amounts = run.amounts.result(tally, verdict)
    return Report(
        rulebook_version=compiled.version,
        rulebook_hash=compiled.hash,
        file_name=name,
        file_sha256=reader.sha256,
        message=seg200[:6].decode("latin-1") if seg200 else None,
        records=reader.records,
        invoices=run.invoice_count,
        verdict=verdict,
        findings=tuple(findings),
        code_counts=dict(sorted(tally.by_code.items())),
        letter_counts=dict(tally.by_letter),
        omitted=tally.omitted,
        error_rate=round(rate, 6),
        reference_date=_iso(today_int),
        governing_date=_iso(governing) if governing is not None else None,
        amounts=amounts,
    )


def _iso(value: int) -> str:
    return f"{value // 10000:04d}-{value // 100 % 100:02d}-{value % 100:02d}"


def governing_pass(run: Run) -> Iterator[Pass]:
    """The pass that reads the default governing date of the sending from its first record
    (``evaluate_governing``), when the rulebook has one and ``as_of`` does not set it."""
    if run.as_of is not None:
        run.governing = run.as_of
        return
    first = run.plan.records[0]
    kept = run.last_rows.get(first.name)
    if kept is None or (run.compiled.default_date, first.name) not in run.plan.date_fns:
        return
    chunk = Chunk(  # the first record alone: the date is read from it, not from others
        rows=kept.row[None, :],
        ordinals=np.array([kept.ordinal]),
        is_new=np.array([True]),
        invoices=np.zeros(1, np.int64),
        layouts=run.plan.records,
        key_length=run.compiled.message.key_length,
        eof=True,
    )
    yield Pass(run, chunk, GOVERNING)
