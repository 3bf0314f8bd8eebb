"""Request bodies as they arrive, within bounds of size and time.

Input: a Starlette request and the ``Pace`` a body must keep, a size limit.
Output: ``body_chunks`` (the chunks as they come) and ``whole_body`` (read whole, or the
413 answer once past the limit); ``BodyStalled`` (answered 408) when a body stops arriving for
``Pace.idle`` seconds, arrives on average slower than ``Pace.min_rate`` bytes a second once
``Pace.grace`` seconds have passed, or is not whole after ``Pace.deadline`` seconds: a client
that sends a byte now and then cannot hold a place of the service (a stream slot, a receiving
slot, a connection) for longer than that.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command line imports the defaults, not the web stack
    from starlette.requests import Request

DEFAULT_BODY_TIMEOUT = 60.0  # seconds without any part of a body arriving
DEFAULT_MIN_RATE = 8192.0  # bytes a second on average, from the grace period on
DEFAULT_RATE_GRACE = 10.0  # seconds before the rate counts
DEFAULT_BODY_DEADLINE = 900.0  # seconds for a whole body (200 MB at ~230 kB/s)
SMALL_BODY = 8 * 1024 * 1024  # bodies up to this size are read whole, larger ones streamed
DEFAULT_RECEIVING = 16  # small bodies received (and held) at once: 128 MB at most


@dataclass(frozen=True, slots=True)
class Pace:
    """How a body must arrive."""

    idle: float = DEFAULT_BODY_TIMEOUT
    min_rate: float = DEFAULT_MIN_RATE
    grace: float = DEFAULT_RATE_GRACE
    deadline: float = DEFAULT_BODY_DEADLINE


class BodyTooLarge(Exception):
    pass


class BodyStalled(Exception):
    """The body stopped arriving, came too slowly or too late (answered 408)."""


def declared_size(request: Request) -> int | None:
    """The Content-Length, when the request declares one (ASCII digits only)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit():
        return int(declared)
    return None


def declared_small(request: Request) -> bool:
    size = declared_size(request)
    return size is not None and size <= SMALL_BODY


def declared_too_large(request: Request, limit: int) -> bool:
    size = declared_size(request)
    return size is not None and size > limit


async def body_chunks(request: Request, pace: Pace) -> AsyncIterator[bytes]:
    """The body's chunks as they arrive, within ``pace``."""
    import anyio

    chunks = request.stream().__aiter__()
    started = anyio.current_time()
    size = 0
    while True:
        elapsed = anyio.current_time() - started
        # the next chunk must come before the stall timeout, the deadline, and the moment the
        # average rate would fall under the minimum (counted from the grace period on)
        limits = [
            (pace.idle, f"no part of the body arrived for {pace.idle:g} s"),
            (pace.deadline - elapsed, f"the body was not whole after {pace.deadline:g} s"),
        ]
        if pace.min_rate > 0:
            limits.append(
                (
                    max(pace.grace, size / pace.min_rate) - elapsed,
                    f"the body arrived slower than {pace.min_rate:,.0f} bytes a second "
                    f"(after {pace.grace:g} s)",
                )
            )
        wait, reason = min(limits)
        try:
            if wait <= 0:
                raise TimeoutError
            with anyio.fail_after(wait):
                chunk = await chunks.__anext__()
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise BodyStalled(reason) from None
        size += len(chunk)
        yield chunk


async def whole_body(request: Request, limit: int, pace: Pace) -> bytes | None:
    """The whole body (answers echo its records), or None once it passes the limit
    (declared or streamed); ``BodyStalled`` when it does not keep ``pace``."""
    if declared_too_large(request, limit):
        return None
    parts: list[bytes] = []
    size = 0
    async for chunk in body_chunks(request, pace):
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
    return b"".join(parts)
