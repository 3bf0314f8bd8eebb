"""The baseline the validator's speed is judged against (issue 21): a hand-written checker of a
few rules, a plain loop over the records, and the validator measured beside it in one run.

    python benchmarks/baseline.py                     # a 7-record sending and 350,000 records
    python benchmarks/baseline.py --records 20000     # a smaller large file

The checker knows the 920000 layout by heart (positions below) and checks, per record, its
control digits (zone 99), its sequence number (zone 2), the NISS of ET20 (zone 8, when its
flag zone 32 is 1), and the invoice and sending control numbers (ET80 / ET90 zone 98: the sum
of the detail records' nomenclature codes, modulo 97, 0 written 97). It is what a firm would
write by hand for those rules; the validator evaluates all 583. Both are timed in the same
process, interleaved, best of N: the ratio is what the targets of issue 21 speak of (a tiny
sending at most 3 times the checker, a large one at least 40 times faster per record).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

HEADER, LENGTH = 227, 350  # segments 200 + 300; a record
# the charmap control_characters: "0".."9" = 0.., " " = 10, "A".."Z" and "a".."z" = 11.., other 37
VALUES = bytes(
    b - 48
    if 48 <= b <= 57
    else 10
    if b == 32
    else b - 54
    if 65 <= b <= 90
    else b - 86
    if 97 <= b <= 122
    else 37
    for b in range(256)
)
BORDEREAU = (b"95", b"96")
DETAIL = (b"30", b"50", b"51", b"52")


def control(total: int) -> bytes:
    return b"%02d" % (total % 97 or 97)


def niss_ok(digits: bytes) -> bool:
    if not digits.isdigit() or int(digits[:2]) != 0:
        return False
    base, check = int(digits[2:11]), int(digits[11:13])
    return base > 0 and check in (97 - base % 97, 97 - (2_000_000_000 + base) % 97)


def check(data: bytes, offset: int = 0) -> list[tuple[str, int]]:
    """(problem, record number) for every record breaking one of the checker's rules."""
    problems: list[tuple[str, int]] = []
    previous, invoice, sending = 0, 0, 0
    for n in range((len(data) - HEADER) // LENGTH):
        r = data[HEADER + n * LENGTH : HEADER + (n + 1) * LENGTH]
        kind, number = r[:2], n + 1
        if kind in BORDEREAU:  # numbered by mutuality, no control digits
            continue
        if r[348:350] != control(sum(VALUES[b] for b in r[:348]) + offset):
            problems.append(("control", number))
        order = int(r[2:8]) if r[2:8].isdigit() else -1
        if order != (previous + 1) % 1_000_000:
            problems.append(("sequence", number))
        previous = order if order >= 0 else previous + 1
        if kind in DETAIL:
            code = int(r[9:16]) if r[9:16].isdigit() else 0
            invoice, sending = invoice + code, sending + code
        elif kind == b"20":
            invoice = 0
            if r[174:175] == b"1" and not niss_ok(r[35:48]):
                problems.append(("niss", number))
        elif kind == b"80" and r[346:348] != control(invoice):
            problems.append(("invoice control", number))
        elif kind == b"90" and r[346:348] != control(sending):
            problems.append(("sending control", number))
    return problems


def best(fn: Callable[[], object], repeat: int, number: int) -> float:
    """The best time of one call, over ``repeat`` rounds of ``number`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return min(times)


def compare(data: bytes, repeat: int, number: int) -> tuple[float, float]:
    """(validator, checker) seconds for one file, measured interleaved."""
    from compiler import load_compiled
    from validator import validate

    compiled = load_compiled()
    validate(compiled, io.BytesIO(data))  # the plan built, caches warm
    rounds: list[tuple[float, float]] = []
    for _ in range(repeat):
        v = best(lambda: validate(compiled, io.BytesIO(data)), 1, number)
        c = best(lambda: check(data), 1, number)
        rounds.append((v, c))
    return min(v for v, _ in rounds), min(c for _, c in rounds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=350_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from benchmarks.bigfile import cached_large
    from compiler import load_compiled

    tiny = (ROOT / "examples" / "credit.920000").read_bytes()
    v, c = compare(tiny, args.repeat, 50)
    print(
        f"tiny sending (7 records): validator {v * 1000:.2f} ms, checker {c * 1000:.3f} ms, "
        f"ratio {v / c:.1f} (target: validator <= 1 ms and <= 3 x the checker)"
    )
    path = cached_large(load_compiled(), args.records, ROOT / "benchmarks" / "data")
    large = path.read_bytes()
    records = (len(large) - HEADER) // LENGTH
    v, c = compare(large, max(2, args.repeat // 2), 1)
    print(
        f"large sending ({records:,} records): validator {records / v:,.0f} records/s, "
        f"checker {records / c:,.0f} records/s, validator {c / v:.1f} x the checker "
        "(target: >= 1,000,000 records/s, >= 40 x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
