"""The on-disk cache of compiled rulebooks, authenticated: a pickle runs code when it is
loaded, so only a file this user's own key signed is ever unpickled.

Input: a cache directory (``RULEBOOK_CACHE``, default ``~/.cache/rulebook``).
Output: ``trusted`` (the directory can be used: owned by this user, writable by no one else;
its key ``key``, made once with 32 random bytes, readable by this user only), ``store`` and
``fetch`` (an object written as ``MAGIC + HMAC-SHA256(key, payload) + payload``; a file
whose signature does not verify is not unpickled). Anyone able to write the directory
could replace key and files together: such a directory is not used at all.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import secrets
from pathlib import Path

MAGIC = b"RBC1"
KEY = "key"


def _owned_private(info: os.stat_result, mask: int) -> bool:
    if not hasattr(os, "getuid"):  # no owners to check (Windows): the user's own profile
        return True
    return info.st_uid == os.getuid() and not (info.st_mode & mask)


def trusted(folder: Path) -> bytes | None:
    """The directory's key, or None when the directory cannot be trusted (or made)."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _owned_private(folder.stat(), 0o022):
            return None
        path = folder / KEY
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if not _owned_private(path.stat(), 0o077):
                return None
            key = path.read_bytes()
            return key if len(key) == 32 else None
        key = secrets.token_bytes(32)
        with os.fdopen(fd, "wb") as out:
            out.write(key)
        return key
    except OSError:
        return None


def _signature(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()


def store(folder: Path, name: str, value: object) -> None:
    """Write ``value`` signed (nothing when the directory is not trusted)."""
    key = trusted(folder)
    if key is None:
        return
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    target = folder / name
    temp = target.with_name(f".{name}.{os.getpid()}.tmp")
    try:
        temp.write_bytes(MAGIC + _signature(key, payload) + payload)
        temp.replace(target)
    except OSError:
        temp.unlink(missing_ok=True)


def fetch(folder: Path, name: str) -> object | None:
    """The value stored under ``name``, if its signature verifies (else None)."""
    key = trusted(folder)
    if key is None:
        return None
    try:
        data = (folder / name).read_bytes()
    except OSError:
        return None
    head = len(MAGIC) + 32
    if len(data) < head or data[: len(MAGIC)] != MAGIC:
        return None
    if not hmac.compare_digest(data[len(MAGIC) : head], _signature(key, data[head:])):
        return None
    try:
        value: object = pickle.loads(data[head:])
    except Exception:  # signed by us but unreadable (another Python): rebuilt
        return None
    return value
