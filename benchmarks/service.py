"""Latency and throughput of the HTTP service under concurrent clients, on loopback.

    python benchmarks/service.py                       # 20 clients, 400 requests
    python benchmarks/service.py --clients 20 --requests 1000 --check

Starts a real ``rulebook serve`` process on a free 127.0.0.1 port, builds a valid
1,000-record sending with the project's generator, and has ``--clients`` concurrent clients
POST it to ``/v1/validate`` until ``--requests`` requests are done (bounded in count and in
time: ``--timeout`` seconds at most). Reports p50/p90/p99/max latency, requests/s and
records/s. Target (design.md §6, issue 3): p99 < 100 ms for 20 concurrent clients.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_P99_MS = 100.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


async def load(base: str, body: bytes, clients: int, total: int, timeout: float) -> list[float]:
    import httpx2 as httpx

    latencies: list[float] = []
    remaining = total
    deadline = time.perf_counter() + timeout

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            started = time.perf_counter()
            response = await http.post(
                f"{base}/v1/validate", content=body, params={"today": "2026-11-01"}
            )
            elapsed = time.perf_counter() - started
            if response.status_code != 200 or response.json()["verdict"] != "accepted":
                raise SystemExit(f"unexpected answer {response.status_code}: {response.text[:200]}")
            latencies.append(elapsed)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=120.0, help="stop after this long")
    parser.add_argument(
        "--workers", type=int, default=2, help="validator processes (serve --workers)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()

    from benchmarks.bigfile import build_large
    from benchmarks.local_server import ServerDidNotStart, local_server
    from compiler import load_compiled

    compiled = load_compiled()
    body = build_large(compiled, args.records, mutualities=5)
    records = (len(body) - 227) // compiled.message.record_length
    try:
        with local_server("--workers", str(args.workers)) as server:
            # warm-up, then the measured run
            warm_up = min(args.clients, 40)
            asyncio.run(load(server.base, body, args.clients, warm_up, args.timeout))
            started = time.perf_counter()
            latencies = asyncio.run(
                load(server.base, body, args.clients, args.requests, args.timeout)
            )
            wall = time.perf_counter() - started
    except ServerDidNotStart as exc:
        sys.exit(str(exc))
    ms = [x * 1000 for x in latencies]
    p99 = percentile(ms, 99)
    print(
        f"{len(ms)} requests of {records:,} records ({len(body) / 1e3:,.0f} kB), "
        f"{args.clients} concurrent clients, server with {args.workers} validator process(es)"
    )
    print(
        f"latency ms: p50 {percentile(ms, 50):.1f}  p90 {percentile(ms, 90):.1f}  "
        f"p99 {p99:.1f}  max {max(ms):.1f}  mean {statistics.fmean(ms):.1f}"
    )
    rate = len(ms) / wall
    print(f"throughput: {rate:,.1f} requests/s = {rate * records:,.0f} records/s")
    met = p99 < TARGET_P99_MS
    print(f"target p99 < {TARGET_P99_MS:.0f} ms: {'met' if met else 'MISSED'}")
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
