"""A bounded byte pipe: an async producer (an HTTP body) feeding a blocking reader (the validator).

Input: chunks put by the request handler, then ``close()`` (end of body) or ``abort(exc)``.
Output: a file-like ``read(n)`` for ``validator.validate`` running in a worker thread.
At most ``capacity`` chunks wait in the pipe, so a large upload never sits in memory whole:
the handler waits while the validator is busy (back-pressure).
"""

from __future__ import annotations

import queue
import threading

# bodies streamed at once (api.service.Streams): each may hold GBs of findings when broken
DEFAULT_STREAMS = 4


class PipeAborted(Exception):
    """The producer gave up (the body was too large or the client went away)."""


class BytePipe:
    def __init__(self, capacity: int = 16) -> None:
        self._chunks: queue.Queue[bytes | None] = queue.Queue(capacity)
        self._buffer = b""
        self._eof = False
        self._error: BaseException | None = None
        self._reader_gone = threading.Event()

    # producer side (called from a worker thread: put may block)
    def put(self, chunk: bytes | None) -> None:
        while not self._reader_gone.is_set():
            try:
                self._chunks.put(chunk, timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        self.put(None)

    def abort(self, error: BaseException) -> None:
        self._error = error
        self._drain()
        self.close()

    # consumer side
    def read(self, n: int = -1) -> bytes:
        parts = [self._buffer]
        have = len(self._buffer)
        while not self._eof and (n < 0 or have < n):
            chunk = self._chunks.get()
            if self._error is not None:
                raise PipeAborted(str(self._error))
            if chunk is None:
                self._eof = True
                break
            parts.append(chunk)
            have += len(chunk)
        data = b"".join(parts)
        if n < 0 or len(data) <= n:
            self._buffer = b""
            return data
        self._buffer = data[n:]
        return data[:n]

    def release(self) -> None:
        """The reader is done: a producer still putting stops waiting."""
        self._reader_gone.set()
        self._drain()

    def _drain(self) -> None:
        try:
            while True:
                self._chunks.get_nowait()
        except queue.Empty:
            pass
