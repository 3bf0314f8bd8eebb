"""Replay a file through the reference and the fast validator and show where they differ:
``python -m tests.reference FILE [--block-records N] [--today YYYY-MM-DD] [--as-of …]``."""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import io
import sys

from compiler import load_compiled
from tests.reference.run import comparable, reference_findings
from validator import validate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file")
    parser.add_argument("--block-records", type=int, default=49152)
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date(2026, 11, 1))
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None)
    args = parser.parse_args()
    compiled = load_compiled()
    with open(args.file, "rb") as f:
        data = f.read()
    fast = validate(
        compiled,
        io.BytesIO(data),
        today=args.today,
        as_of=args.as_of,
        block_records=args.block_records,
    ).findings
    ref = comparable(reference_findings(compiled, data, args.today, args.as_of))
    mine = comparable(fast)
    a, b = collections.Counter(ref), collections.Counter(mine)
    for label, only in (("reference only", a - b), ("fast only", b - a)):
        for item in sorted(only.elements()):
            print(label, item)
    print(f"{len(ref)} findings by the reference, {len(mine)} by the validator")
    return 0 if ref == mine else 1


if __name__ == "__main__":
    sys.exit(main())
