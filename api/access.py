"""Who may use the validation routes, and what each request did: API keys and the access log.

Input: a key file (one line per client: ``NAME sha256:HEX``, the hash of its key; read again
when it changes, so a revoked key stops working without a restart) and the ASGI requests.
Output: ``Access``, an ASGI middleware: on the protected routes a request without a valid key
(``Authorization: Bearer KEY`` or ``X-API-Key: KEY``) gets a JSON 401 and its body is never
read; every request, answered or refused, is one JSON line of the access log (time, client
key name, address, method, route, status, bytes in and out, the body's sha256, the verdict,
the duration), never the file's content. ``add_key`` / ``revoke_key`` / ``key_names`` manage
the file (``rulebook keys``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
VERDICT = re.compile(rb'"verdict":\s*"([a-z_]+)"')


class KeyFileError(ValueError):
    """A key file that cannot be read or written, or a name it cannot take."""


def key_hash(key: str) -> str:
    """The stored form of a key: its SHA-256 (keys are 256-bit random: no slow hash needed)."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _read(path: Path) -> dict[str, str]:
    """name -> hash, from the file (missing: none)."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read the key file {path}: {exc}") from None
    keys: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2 or not NAME.fullmatch(parts[0]) or not parts[1].startswith("sha256:"):
            raise KeyFileError(f"{path}:{number}: expected 'NAME sha256:HEX'")
        keys[parts[0]] = parts[1]
    return keys


def _write(path: Path, keys: dict[str, str]) -> None:
    """The whole file, replaced at once, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    lines = "".join(f"{name} {digest}\n" for name, digest in keys.items())
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("# rulebook API keys: NAME sha256:HASH (rulebook keys add / revoke)\n" + lines)
    os.replace(temp, path)


def add_key(path: Path, name: str) -> str:
    """A new key for client ``name``, stored hashed; the key itself is returned, once."""
    if not NAME.fullmatch(name):
        raise KeyFileError(f"{name!r}: a key name is letters, digits, '.', '_', '-' (64 at most)")
    keys = _read(path)
    if name in keys:
        raise KeyFileError(f"{path} already has a key named {name!r} (revoke it first)")
    key = secrets.token_urlsafe(32)
    keys[name] = key_hash(key)
    _write(path, keys)
    return key


def revoke_key(path: Path, name: str) -> None:
    keys = _read(path)
    if name not in keys:
        raise KeyFileError(f"{path} has no key named {name!r}")
    del keys[name]
    _write(path, keys)


def key_names(path: Path) -> list[str]:
    return list(_read(path))


@dataclass
class Keys:
    """The key file as the server reads it: again whenever it changes (a revocation counts at
    the next request)."""

    path: Path
    _stamp: tuple[int, int] | None = None
    _by_hash: dict[str, str] = field(default_factory=dict)

    def client(self, key: str) -> str | None:
        """The name of the client whose key this is, or None."""
        try:
            info = self.path.stat()
            stamp = (info.st_mtime_ns, info.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            self._by_hash = {digest: name for name, digest in _read(self.path).items()}
            self._stamp = stamp
        digest = key_hash(key)
        for known, name in self._by_hash.items():
            if hmac.compare_digest(known, digest):
                return name
        return None


def presented_key(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        raw = bytes(value)
        if name == b"authorization" and raw[:7].lower() == b"bearer ":
            return raw[7:].decode("latin-1").strip()
        if name == b"x-api-key":
            return raw.decode("latin-1").strip()
    return None


UNAUTHORIZED = json.dumps(
    {
        "error": {
            "code": "unauthorized",
            "message": "this route needs a valid API key (Authorization: Bearer KEY, or "
            "X-API-Key: KEY)",
        }
    }
).encode()


class Access:
    """The middleware: keys on ``protected`` routes (when ``keys`` is set), one access-log line
    per HTTP request (when ``log`` is set)."""

    def __init__(
        self, app: ASGIApp, *, keys: Keys | None, log: TextIO | None, protected: frozenset[str]
    ) -> None:
        self.app = app
        self.keys = keys
        self.log = log
        self.protected = protected

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        entry: dict[str, Any] = {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "client": None,
            "address": (scope.get("client") or (None,))[0],
            "method": scope.get("method"),
            "route": scope.get("path"),
            "status": None,
            "bytes_in": 0,
            "bytes_out": 0,
            "sha256": None,
            "verdict": None,
            "duration_ms": None,
        }
        digest = hashlib.sha256()
        read = False  # whether the body was read (a refused request's never is)
        head = bytearray()  # the response's first bytes, where the verdict is

        async def counted_receive() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read = True
                body = message.get("body", b"")
                entry["bytes_in"] += len(body)
                digest.update(body)
            return message

        async def recorded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            elif message["type"] == "http.response.body":
                body = message.get("body", b"")
                entry["bytes_out"] += len(body)
                if len(head) < 4096:
                    head.extend(body[: 4096 - len(head)])
            await send(message)

        try:
            if self.keys is not None and scope.get("path") in self.protected:
                key = presented_key(scope)
                entry["client"] = self.keys.client(key) if key else None
                if entry["client"] is None:
                    await recorded_send(
                        {
                            "type": "http.response.start",
                            "status": 401,
                            "headers": [
                                (b"content-type", b"application/json"),
                                (b"www-authenticate", b'Bearer realm="rulebook"'),
                                (b"connection", b"close"),
                            ],
                        }
                    )
                    await recorded_send({"type": "http.response.body", "body": UNAUTHORIZED})
                    return
            await self.app(scope, counted_receive, recorded_send)
        except Exception:
            entry["status"] = 500  # answered by the outer error handler
            raise
        finally:
            if self.log is not None:
                if read:
                    entry["sha256"] = digest.hexdigest()
                found = VERDICT.search(bytes(head))
                entry["verdict"] = found.group(1).decode() if found else None
                entry["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
                self.log.write(json.dumps(entry) + "\n")
                self.log.flush()
