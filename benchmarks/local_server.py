"""A real ``rulebook serve`` process on a free loopback port, for tests and benchmarks.

Input: extra ``rulebook serve`` arguments.
Output: a context manager yielding the running server (its base URL); on exit the process is
stopped and what it printed is kept in ``output``.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalServer:
    port: int
    process: subprocess.Popen[str]
    output: str = ""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def started(self) -> bool:
        """Whether its output begins with the two start-up lines (the rulebook, the URL)."""
        lines = self.output.splitlines()
        return len(lines) >= 2 and lines[1].startswith("serving on ")

    @property
    def logged(self) -> list[str]:
        """What it printed after its two start-up lines (blank lines aside): problems only,
        as the server logs nothing else. Read once it has stopped (``output``)."""
        return [line for line in self.output.splitlines()[2:] if line.strip()]


class ServerDidNotStart(RuntimeError):
    pass


@contextmanager
def local_server(*args: str, timeout: float = 60.0) -> Iterator[LocalServer]:
    """Start the service, wait until /healthz answers, stop it on exit."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = LocalServer(port=port, process=process)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{server.base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            printed, _ = process.communicate(timeout=30)
            raise ServerDidNotStart(f"rulebook serve did not start on port {port}:\n{printed}")
        time.sleep(0.2)
    try:
        yield server
    finally:
        process.terminate()
        server.output, _ = process.communicate(timeout=30)
