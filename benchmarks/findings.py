"""Time and peak memory on a file broken on every record: the report's size, not the file's.

    python benchmarks/findings.py                    # 100,000 records broken everywhere
    python benchmarks/findings.py --records 20000 --skip-service

Builds a valid sending with the project's generator and breaks characters 41-60 of every
record (``bigfile.build_broken``: about seven findings a record), then measures:

- the CLI: ``rulebook validate FILE --format json`` and ``--format text`` end to end, in
  fresh processes pinned to one core: wall time, peak RSS, the report's size;
- the service: a real ``rulebook serve`` on a free loopback port, the file POSTed once (a
  body over 8 MB is streamed to a validator thread of the HTTP process, so that process holds
  the findings): wall time, the answer's size, the HTTP process's peak RSS (``VmHWM``: it
  includes the ~80 MB it starts with).

Target: at most 500 MB for a 200 MB file broken everywhere (``--records 570000``): the
records are bounded by a chunk, the findings listed by ``--max-findings`` of each code (the
others counted).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))


def peak_kb(pid: int) -> int:
    """A live process's peak resident set (Linux ``VmHWM``), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise SystemExit(f"benchmark: no VmHWM for process {pid}")


def main() -> int:
    from api.bodies import SMALL_BODY
    from benchmarks.bigfile import build_broken
    from benchmarks.local_server import local_server
    from benchmarks.throughput import DATA, TODAY, measured, run_child
    from compiler import load_compiled

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--skip-service", action="store_true", help="measure the CLI only")
    parser.add_argument(
        "--max-findings",
        type=int,
        default=None,
        help="findings listed per code (default: the CLI's and the service's; 0: all)",
    )
    args = parser.parse_args()
    bound = [] if args.max_findings is None else ["--max-findings", str(args.max_findings)]

    compiled = load_compiled()
    body = build_broken(compiled, args.records)
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"broken-{args.records}.920000"
    path.write_bytes(body)
    header = sum(compiled.layouts[name].length for name in compiled.message.segments)
    records = (len(body) - header) // compiled.layouts[compiled.message.records[0]].length
    print(f"{records:,} records broken everywhere ({len(body) / 1e6:.1f} MB)")
    findings = None
    for fmt in ("json", "text"):
        command = [sys.executable, "-m", "api.cli", "validate", str(path), "--format", fmt]
        out, wall, peak = run_child(measured([*command, "--today", TODAY, *bound]))
        if fmt == "json":
            findings = out.count('\n      "code": ')
            omitted = json.loads(out)["summary"]["findings_omitted"]
            print(f"{findings + omitted:,} findings, {findings:,} listed")
        print(
            f"CLI validate --format {fmt}: {wall:.1f} s, report {len(out.encode()) / 1e6:.0f} MB,"
            f" peak RSS {peak:.0f} MB"
        )
    if not args.skip_service:
        with local_server("--today", TODAY, "--workers", "2", *bound) as server:
            started = time.perf_counter()
            request = urllib.request.Request(f"{server.base}/v1/validate", data=body, method="POST")
            with urllib.request.urlopen(request, timeout=3600) as response:
                answer = response.read()
            wall = time.perf_counter() - started
            peak = peak_kb(server.process.pid) / 1024
            counted = answer.count(b'{"code":')
            if counted != findings:
                raise SystemExit(f"benchmark: {counted} findings over HTTP, {findings} by the CLI")
            how = (
                "streamed to a thread of the HTTP process"
                if len(body) > SMALL_BODY
                else "read whole, validated in a validator process"
            )
            print(
                f"service POST /v1/validate ({how}): {wall:.1f} s,"
                f" answer {len(answer) / 1e6:.0f} MB, HTTP process peak RSS {peak:.0f} MB"
            )
    path.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
