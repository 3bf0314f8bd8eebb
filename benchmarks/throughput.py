"""Validation throughput and peak memory on large files, with the full shipped rulebook.

    python benchmarks/throughput.py                 # 1M-record valid file + 2 GB file
    python benchmarks/throughput.py --skip-2gb      # throughput only
    python benchmarks/throughput.py --check         # exit 1 when a target is missed

Builds (once, cached under ``benchmarks/data/``) a valid sending of 1,000,000 records with the
project's own generator, then measures in fresh processes pinned to one core:

- the library: ``validator.validate`` on the file, timed inside the process (best of N);
- the CLI: ``rulebook validate FILE --format json`` end to end, with its peak RSS;
- a file of at least 2 GB (the valid invoices repeated; see ``bigfile.write_oversized``):
  time and peak RSS of the CLI.

Targets (design.md §7, issue 2): >= 300,000 records/s on one core; <= 300 MB RSS on 2 GB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

DATA = ROOT / "benchmarks" / "data"
TARGET_RATE = 300_000
TARGET_RSS_MB = 300
TODAY = "2026-11-01"  # the generated sending's creation date; 'today' must not precede it


def one_core() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    return env


def run_child(args: list[str]) -> tuple[str, float, float]:
    """Run a command pinned to one core; return its stdout, wall seconds and peak RSS in MB.

    The peak RSS is known only for commands wrapped with ``measured``.
    """
    started = time.perf_counter()

    def pin() -> None:
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=one_core(), preexec_fn=pin
    )
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        sys.exit(f"benchmark: {' '.join(args)} failed ({proc.returncode}):\n{err.decode()}")
    text = out.decode()
    peak = 0.0
    for line in err.decode().splitlines():
        if line.startswith("peak-rss-kb "):
            peak = int(line.split()[1]) / 1024
    return text, wall, peak


def measured(command: list[str]) -> list[str]:
    """Wrap a command so that it reports its own peak RSS on stderr when it exits."""
    return [sys.executable, str(Path(__file__).resolve()), "--measure", "--", *command]


def measure(command: list[str]) -> int:
    """Exec ``command`` as a child, wait for it, print its peak RSS (ru_maxrss) to stderr."""
    proc = subprocess.Popen(command)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    print(f"peak-rss-kb {usage.ru_maxrss}", file=sys.stderr)
    return proc.returncode


def library_run(path: str, block: int) -> None:
    """Child mode: validate in-process and print timing as JSON (startup excluded)."""
    from compiler import load_compiled
    from validator import validate

    compiled = load_compiled()
    with open(path, "rb") as stream:
        started = time.perf_counter()
        report = validate(
            compiled,
            stream,
            name=Path(path).name,
            today=dt.date.fromisoformat(TODAY),
            block_records=block,
        )
        seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "records": report.records,
                "findings": len(report.findings),
                "verdict": report.to_json()["verdict"],
            }
        )
    )


def cli_command(path: Path, block: int | None) -> list[str]:
    command = [sys.executable, "-m", "api.cli", "validate", str(path), "--format", "json"]
    command += ["--today", TODAY]
    if block is not None:
        command += ["--block-records", str(block)]
    return command


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs")
    parser.add_argument("--block-records", type=int, default=None, help="default: the CLI's")
    parser.add_argument("--gigabytes", type=float, default=2.0, help="size of the memory file")
    parser.add_argument("--skip-2gb", action="store_true", help="skip the memory file")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--library-run", nargs=2, metavar=("FILE", "BLOCK"), help=argparse.SUPPRESS)
    parser.add_argument("command", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        return measure(args.command)
    if args.library_run:
        library_run(args.library_run[0], int(args.library_run[1]))
        return 0

    from api.cli import DEFAULT_BLOCK
    from benchmarks.bigfile import cached_large, write_oversized
    from compiler import load_compiled

    os.chdir(ROOT)
    block = args.block_records or DEFAULT_BLOCK
    compiled = load_compiled()
    started = time.perf_counter()
    path = cached_large(compiled, args.records, DATA)
    built = time.perf_counter() - started
    size_mb = path.stat().st_size / 1e6
    print(f"rulebook {compiled.version} ({compiled.hash[:19]}…): {len(compiled.rules)} rules")
    print(f"file: {path.relative_to(ROOT)} ({size_mb:,.0f} MB; ready in {built:.1f} s)")

    library = []
    for _ in range(args.runs):
        out, _, _ = run_child(
            [sys.executable, str(Path(__file__).resolve()), "--library-run", str(path), str(block)]
        )
        library.append(json.loads(out))
    best = min(library, key=lambda r: r["seconds"])
    if best["findings"] or best["verdict"] != "accepted":
        print(f"the benchmark file is not valid: {best['findings']} findings", file=sys.stderr)
        return 1
    records = best["records"]
    rate = records / best["seconds"]
    print(
        f"library validate, best of {args.runs}: {records:,} records in {best['seconds']:.2f} s"
        f" = {rate:,.0f} records/s (block {block:,} records, one core)"
    )

    cli = [run_child(measured(cli_command(path, args.block_records))) for _ in range(args.runs)]
    wall = min(w for _, w, _ in cli)
    peak = max(p for _, _, p in cli)
    print(
        f"CLI validate end to end, best of {args.runs}: {wall:.2f} s = {records / wall:,.0f}"
        f" records/s incl. start-up and report; peak RSS {peak:.0f} MB"
    )

    ok = rate >= TARGET_RATE
    print(f"target >= {TARGET_RATE:,} records/s: {'met' if ok else 'MISSED'}")
    if not args.skip_2gb:
        tag = compiled.hash.removeprefix("sha256:")[:12]
        big = DATA / f"oversized-{args.gigabytes:g}gb-{tag}.920000"
        if not big.exists():
            write_oversized(compiled, path, int(args.gigabytes * 1e9), big)
        total = (big.stat().st_size - 227) // compiled.message.record_length
        out, wall, peak = run_child(measured(cli_command(big, args.block_records)))
        report = json.loads(out)
        print(
            f"{big.stat().st_size / 1e9:.2f} GB file ({total:,} records, {len(report['findings'])}"
            f" findings from order-number wrap and totals): {wall:.1f} s ="
            f" {total / wall:,.0f} records/s; peak RSS {peak:.0f} MB"
        )
        fits = peak <= TARGET_RSS_MB
        verdict = "met" if fits else "MISSED"
        print(f"target <= {TARGET_RSS_MB} MB RSS on {args.gigabytes:g} GB: {verdict}")
        ok = ok and fits
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
