"""A small request's time under abuse: dripping uploads and idle connections.

    python benchmarks/abuse.py                      # 4 drips, 2,000 idle connections
    python benchmarks/abuse.py --idle 500 --drips 8

Starts a real ``rulebook serve --workers 1``, times a small ``/v1/answer`` (a 6 KB sending)
alone, then while ``--drips`` chunked uploads send one byte every 0.5 s and ``--idle``
connections stay open without a request (half of them with half their headers), and prints
both medians and their ratio (target: at most 2). It also says what became of the abusers:
the drips answered 408 once their rate falls under the minimum, the idle connections
answered 408 and closed after the header timeout.
"""

from __future__ import annotations

import argparse
import resource
import socket
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import httpx2 as httpx  # noqa: E402

from benchmarks.local_server import local_server  # noqa: E402

BODY = (ROOT / "examples" / "baseline.920000").read_bytes()


def open_files(wanted: int) -> int:
    """Raise this process's open-file limit towards ``wanted``; the number it may use."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass
class Abuse:
    """Idle connections and dripping uploads against a server, and what became of them."""

    port: int
    idle: list[socket.socket] = field(default_factory=list)
    drip_answers: list[bytes] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def open_idle(self, count: int) -> None:
        for n in range(count):
            s = socket.create_connection(("127.0.0.1", self.port))
            if n % 2:
                s.sendall(b"POST /v1/validate HTTP/1.1\r\nHost: x\r\n")  # half the headers
            self.idle.append(s)

    def start_drips(self, count: int) -> None:
        for _ in range(count):
            t = threading.Thread(target=self._drip, daemon=True)
            t.start()
            self.threads.append(t)

    def _drip(self) -> None:
        s = socket.create_connection(("127.0.0.1", self.port))
        s.settimeout(0.5)
        s.sendall(
            b"POST /v1/validate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n"
        )
        answer = b""
        while not self.stop.is_set():
            with suppress(OSError):
                s.sendall(b"1\r\n9\r\n")
            try:
                data = s.recv(65536)
                if not data:
                    break
                answer += data
            except TimeoutError:
                continue
            except OSError:
                break
        self.drip_answers.append(answer)
        s.close()

    def closed_idle(self) -> int:
        """How many idle connections the server has answered or closed."""
        count = 0
        for s in self.idle:
            s.setblocking(False)
            try:
                data = s.recv(4096)
                count += 1 if data == b"" or data.startswith(b"HTTP/1.1 408") else 0
            except BlockingIOError:
                pass
            except OSError:
                count += 1
        return count

    def end(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=5)
        for s in self.idle:
            s.close()


@contextmanager
def abused(port: int, idle: int, drips: int) -> Iterator[Abuse]:
    abuse = Abuse(port)
    try:
        abuse.open_idle(idle)
        abuse.start_drips(drips)
        yield abuse
    finally:
        abuse.end()


def timed_answer(base: str) -> float:
    started = time.perf_counter()
    response = httpx.post(f"{base}/v1/answer", content=BODY, timeout=120)
    assert response.status_code == 200, response.text
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument("--drips", type=int, default=4)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    usable = open_files(args.idle + 200)
    idle = min(args.idle, usable - 100)
    options = ("--today", "2026-11-01", "--workers", "1")
    with local_server(*options) as server:
        for _ in range(3):
            timed_answer(server.base)  # warm up
        alone = [timed_answer(server.base) for _ in range(args.requests)]
        with abused(server.port, idle, args.drips) as abuse:
            time.sleep(1.0)  # the drips hold their slots
            loaded = [timed_answer(server.base) for _ in range(args.requests)]
            time.sleep(12.0)  # past the header timeout and the rate's grace period
            closed = abuse.closed_idle()
        answered = sum(1 for a in abuse.drip_answers if a.startswith(b"HTTP/1.1 408"))
    a, b = statistics.median(alone), statistics.median(loaded)
    print(
        f"small /v1/answer ({len(BODY):,} bytes), median of {args.requests}: alone "
        f"{a * 1000:.1f} ms; with {args.drips} dripping uploads and {idle:,} idle "
        f"connections {b * 1000:.1f} ms (max {max(loaded) * 1000:.1f} ms): {b / a:.2f}x"
    )
    print(f"target <= 2x: {'met' if b <= 2 * a else 'MISSED'}")
    print(
        f"drips answered 408: {answered} of {args.drips}; idle connections answered 408 or "
        f"closed after the header timeout: {closed:,} of {idle:,}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
