"""The HTTP connection protocol of ``rulebook serve``: uvicorn's (httptools), with a header
deadline and a bound on the connections kept.

uvicorn times out an idle keep-alive connection only once it has answered a request: a
connection that never sends a request, or sends its headers a byte now and then, stays open
as long as its client likes (2,000 such connections were seen held). Here:

- a request's headers must be complete within ``header_timeout`` seconds of the connection
  (or of the previous response): otherwise ``408`` and the connection is closed;
- at most ``max_connections`` connections are kept: beyond, the one idle the longest (waiting
  for a request's headers) is closed to make room, so idle connections cannot keep a client
  with a request out; when none is idle, the new connection gets ``503``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # uvicorn is imported when a server starts, not by every command
    import asyncio

    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_MAX_CONNECTIONS = 1000


def _answer(status: str, code: str, message: str) -> bytes:
    body = f'{{"error": {{"code": "{code}", "message": "{message}"}}}}'.encode()
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\nconnection: close\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


TIMEOUT = _answer("408 Request Timeout", "header-timeout", "the request headers came too slowly")
BUSY = _answer("503 Service Unavailable", "too-many-connections", "too many open connections")


def guarded_protocol(header_timeout: float, max_connections: int) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with the header deadline and the connection bound."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class Guarded(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None
        _waiting_since: float | None = None  # when it began waiting for a request's headers

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._wait_for_headers()
            if len(self.connections) > max_connections:
                idle = [
                    c
                    for c in self.connections
                    if isinstance(c, Guarded) and c is not self and c._waiting_since is not None
                ]
                if idle:
                    oldest = min(idle, key=lambda c: c._waiting_since or 0.0)
                    oldest._close(None)
                else:
                    self._close(BUSY)

        def on_headers_complete(self) -> None:
            self._stop_waiting()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.pipeline and not self.transport.is_closing():
                self._wait_for_headers()  # for the next request on this connection

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_waiting()
            super().connection_lost(exc)

        def _wait_for_headers(self) -> None:
            self._stop_waiting()
            self._waiting_since = self.loop.time()
            self._deadline = self.loop.call_later(header_timeout, self._close, TIMEOUT)

        def _stop_waiting(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            self._deadline = None
            self._waiting_since = None

        def _close(self, answer: bytes | None) -> None:
            self._stop_waiting()
            if not self.transport.is_closing():
                if answer is not None:
                    self.transport.write(answer)
                self.transport.close()

    return Guarded
