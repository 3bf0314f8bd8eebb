"""Fuzzing the validator, the answer reader and the structured form with mutated sendings.

    python benchmarks/fuzz.py                       # 100,000 mutated sendings, both cores
    python benchmarks/fuzz.py --sendings 2000 --seed 7 --workers 1

Each input is a valid sending (the rulebook's scenarios, and the practitioner's one with 2 to
12 invoices over several mutualities) with one to three edits: bytes replaced (half of them
in the segments and the bordereau records ET95/ET96), or records deleted, duplicated or
swapped (half of them ET95/ET96). For each it checks:

- ``validate`` never raises, and ``file.sha256`` is the file's;
- fail-open: a sending whose segments or bordereau were edited is never ``accepted`` unless
  every edited zone holds a value of its type (digits in a number, printable text, + or - in
  a sign) and is one whose content no rule constrains beyond its type (``FREE``), or is still
  empty (zeros, blanks or both) where a rule asks it to be; a sending with an ET95 or ET96
  deleted, duplicated or swapped is never ``accepted``;
- every tenth: the insurer's answers to it are written and read back without an exception;
- every twentieth: ``parse`` then ``generate`` gives back its bytes (or ``parse`` refuses it
  with a ``ParseError``).

It prints the inputs tried, the exceptions and the fail-opens (each must be 0; the first few
are shown), and exits 1 when there is any.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from compiler import Compiled, ir, load_compiled  # noqa: E402

TODAY = dt.date(2026, 11, 1)
# zones whose content no rule constrains beyond its type: any value of the type is accepted
FREE = {
    ("S200", "sender_reference"),
    ("S300", "file_reference"),
    ("S300", "contact_name"),
    ("S300", "contact_first_name"),
    ("S300", "contact_phone"),
    ("ET95", "recap_invoice_number"),
    # zones whose only constraint is a table of values: a value of the table is a valid file,
    # any other is refused (so never a fail-open)
    ("S200", "format_version"),
    ("S300", "invoice_kind"),
}
BORDEREAU = ("ET95", "ET96")
BYTES = b" 0123456789+-AZaz\x00\x1b\n\r\x7f\xb2\xe9\xff"


@dataclass
class Stats:
    tried: int = 0
    accepted: int = 0
    answers: int = 0
    round_trips: int = 0
    exceptions: list[str] = field(default_factory=list)
    fail_opens: list[str] = field(default_factory=list)

    def add(self, other: Stats) -> None:
        self.tried += other.tried
        self.accepted += other.accepted
        self.answers += other.answers
        self.round_trips += other.round_trips
        self.exceptions += other.exceptions
        self.fail_opens += other.fail_opens


def bases(compiled: Compiled) -> list[bytes]:
    """Valid sendings: each scenario, and the practitioner's with 2 to 12 invoices."""
    from generator import generate
    from tests.sendings import sending

    found = [generate(compiled, data, today=TODAY) for data in compiled.scenarios.values()]
    for invoices in (2, 5, 12):
        found.append(generate(compiled, sending(compiled, invoices), today=TODAY))
    return found


def geometry(compiled: Compiled, data: bytes) -> list[tuple[int, ir.Layout | None]]:
    """Each segment and record of a file: its start and its layout."""
    msg = compiled.message
    out: list[tuple[int, ir.Layout | None]] = []
    pos = 0
    for name in msg.segments:
        out.append((pos, compiled.layouts[name]))
        pos += compiled.layouts[name].length
    by_key = {compiled.layouts[n].key: compiled.layouts[n] for n in msg.records}
    for start in range(pos, len(data), msg.record_length):
        key = data[start : start + msg.key_length].decode("latin-1")
        out.append((start, by_key.get(key)))
    return out


def in_type(zone: ir.Zone, text: bytes) -> bool:
    """Whether characters are a value of the zone's type (the test the oracle applies)."""
    if zone.kind in ("N", "D"):
        return text.isdigit()
    if zone.kind == "S":
        return text[:1] in (b"+", b"-") and text[1:].isdigit()
    if zone.layout in BORDEREAU and zone.name.startswith("sign_"):
        return text in (b"+", b"-")
    return all(32 <= b <= 126 for b in text)


def mutate(
    compiled: Compiled, data: bytes, rng: random.Random
) -> tuple[bytes, bool, list[tuple[ir.Zone, bytes]]]:
    """A mutated copy; whether an ET95/ET96 was deleted, duplicated or swapped; the zones of
    the segments and bordereau whose bytes changed (with their new characters)."""
    parts = geometry(compiled, data)
    head = parts[len(compiled.message.segments)][0] if len(parts) > 2 else len(data)
    size = compiled.message.record_length
    if rng.random() < 0.3:
        records = [data[i : i + size] for i in range(head, len(data), size)]
        targets = [k for k, r in enumerate(records) if r[:2] in (b"95", b"96")]
        k = rng.choice(targets) if targets and rng.random() < 0.5 else rng.randrange(len(records))
        op = rng.choice(["delete", "duplicate", "swap"])
        j = rng.randrange(len(records))
        if op == "delete":
            del records[k]
        elif op == "duplicate":
            records.insert(k, records[k])
        else:
            records[k], records[j] = records[j], records[k]
        touched = bool(targets) and (k in targets or (op == "swap" and j in targets))
        if op == "swap" and records[k] == records[j]:
            touched = False
        return data[:head] + b"".join(records), touched, []
    out = bytearray(data)
    bordereau = [
        (start, layout)
        for start, layout in parts
        if layout is not None and (layout.kind == "segment" or layout.name in BORDEREAU)
    ]
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.5:
            start, layout = rng.choice(bordereau)
            pos = start + rng.randrange(layout.length)
        else:
            pos = rng.randrange(len(out))
        out[pos] = rng.choice(BYTES) if rng.random() < 0.7 else rng.randrange(256)
    changed: list[tuple[ir.Zone, bytes]] = []
    for start, layout in bordereau:
        for zone in layout.zones:
            a, b = start + zone.offset, start + zone.end
            if out[a:b] != data[a:b]:
                changed.append((zone, bytes(out[a:b])))
    return bytes(out), False, changed


def empty_zones(compiled: Compiled) -> set[tuple[str, str]]:
    """The zones a rule asks to be empty (zeros, blanks or both: the rulebook's tolerance)."""
    from compiler.passes import walk

    return {
        (r.record, n.args[0].zone.name)
        for r in compiled.rules
        for n in walk(r.require)
        if isinstance(n, ir.Call) and n.func == "empty" and isinstance(n.args[0], ir.ZoneRef)
    }


def may_accept(
    changed: list[tuple[ir.Zone, bytes]], empty: set[tuple[str, str]], zero_signed: set[str]
) -> bool:
    """Whether the sending may still be accepted: each edited zone holds a value of its type
    and is free, is still empty (zeros and blanks) where a rule asks it to be, or is the sign
    of an amount of zero (-0 is 0)."""
    return all(
        ((z.layout, z.name) in FREE and in_type(z, text))
        or ((z.layout, z.name) in empty and set(text) <= {48, 32})
        or (f"{z.layout}.{z.name}" in zero_signed and text in (b"+", b"-"))
        for z, text in changed
    )


def zero_signs(compiled: Compiled, data: bytes) -> set[str]:
    """The bordereau's sign zones whose amount is zero in ``data`` ("ET95.sign_asked_b")."""
    found: set[str] = set()
    for start, layout in geometry(compiled, data):
        if layout is None or layout.name not in BORDEREAU:
            continue
        for zone in layout.zones:
            amount = layout.by_name.get(zone.name.removeprefix("sign_"))
            if zone.name.startswith("sign_") and amount is not None:
                digits = data[start + amount.offset : start + amount.end]
                if digits.strip(b"0") == b"":
                    found.add(f"{layout.name}.{zone.name}")
    return found


def run(seed: int, count: int) -> Stats:
    import hashlib

    from answer import ReadError, answers_for, read_message
    from generator import generate
    from generator.parse import ParseError, to_structured
    from validator import validate

    compiled = load_compiled()
    rng = random.Random(seed)
    stats = Stats()
    sources = bases(compiled)
    empty = empty_zones(compiled)
    for n in range(count):
        data = rng.choice(sources)
        mutated, structural, changed = mutate(compiled, data, rng)
        stats.tried += 1
        where = f"seed {seed} input {n}"
        try:
            report = validate(compiled, io.BytesIO(mutated), today=TODAY)
        except Exception:
            stats.exceptions.append(f"{where}: validate: {traceback.format_exc(limit=3)}")
            continue
        if report.file_sha256 != hashlib.sha256(mutated).hexdigest():
            stats.exceptions.append(f"{where}: file.sha256 is not the file's")
        if report.verdict == "accepted":
            stats.accepted += 1
            benign = may_accept(changed, empty, zero_signs(compiled, mutated))
            if mutated != data and (structural or (changed and not benign)):
                what = (
                    "ET95/ET96 moved"
                    if structural
                    else ", ".join(f"{z.layout}.{z.name}={t!r}" for z, t in changed)
                )
                stats.fail_opens.append(f"{where}: accepted with {what}")
        if n % 10 == 0:
            try:
                for a in answers_for(compiled, mutated, report):
                    read_message(compiled, a.content, a.message)
                stats.answers += 1
            except ReadError as exc:
                stats.exceptions.append(f"{where}: an answer we wrote cannot be read: {exc}")
            except Exception:
                stats.exceptions.append(f"{where}: answers: {traceback.format_exc(limit=3)}")
        if n % 20 == 0:
            try:
                back = generate(compiled, to_structured(compiled, mutated), today=TODAY)
                if back != mutated:
                    stats.exceptions.append(f"{where}: parse -> generate changed the bytes")
                stats.round_trips += 1
            except ParseError:
                stats.round_trips += 1
            except Exception:
                stats.exceptions.append(f"{where}: round trip: {traceback.format_exc(limit=3)}")
    return stats


def fuzz(sendings: int, seed: int, workers: int) -> Stats:
    """``sendings`` mutated sendings over ``workers`` processes (seeds seed, seed + 1, …)."""
    shares = [sendings // workers + (1 if k < sendings % workers else 0) for k in range(workers)]
    total = Stats()
    if workers == 1:
        total.add(run(seed, sendings))
        return total
    with ProcessPoolExecutor(workers) as pool:
        for stats in pool.map(run, [seed + k for k in range(workers)], shares):
            total.add(stats)
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sendings", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    stats = fuzz(args.sendings, args.seed, args.workers)
    seconds = time.perf_counter() - started
    print(
        f"{stats.tried:,} mutated sendings in {seconds:.0f} s ({args.workers} process(es), "
        f"seed {args.seed}): {stats.accepted:,} accepted, {stats.answers:,} answered and read "
        f"back, {stats.round_trips:,} parsed and written back"
    )
    print(f"exceptions: {len(stats.exceptions)}")
    for line in stats.exceptions[:5]:
        print("  " + line)
    print(f"fail-opens: {len(stats.fail_opens)}")
    for line in stats.fail_opens[:10]:
        print("  " + line)
    return 1 if stats.exceptions or stats.fail_opens else 0


if __name__ == "__main__":
    sys.exit(main())
