"""The compiled-rulebook cache runs no code it did not write: a pickle executes code when it
is loaded, and anyone able to write ~/.cache/rulebook could have run code in the validator."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from compiler import CACHE_FORMAT, Compiled, cache, load_compiled
from rulebook.load import directory_hash

ROOT = Path(__file__).resolve().parent.parent


class Planted:
    """A pickle that creates a file when it is loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (Path.touch, (self.marker,))


def entry(folder: Path) -> Path:
    return folder / f"{CACHE_FORMAT}-{directory_hash(ROOT).removeprefix('sha256:')}.pickle"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv("RULEBOOK_CACHE", str(path))
    return path


def test_an_unsigned_pickle_is_never_loaded(folder: Path, tmp_path: Path) -> None:
    folder.mkdir(mode=0o700)
    marker = tmp_path / "ran"
    entry(folder).write_bytes(pickle.dumps(Planted(marker)))
    compiled = load_compiled(ROOT)
    assert isinstance(compiled, Compiled) and not marker.exists()
    # the entry was replaced by a signed one, which the next load uses
    assert entry(folder).read_bytes()[:4] == cache.MAGIC
    assert load_compiled(ROOT) == compiled


def test_a_signed_entry_changed_afterwards_is_not_loaded(folder: Path, tmp_path: Path) -> None:
    compiled = load_compiled(ROOT)
    marker = tmp_path / "ran"
    signed = entry(folder).read_bytes()
    forged = signed[:36] + pickle.dumps(Planted(marker))  # someone else's payload, our MAC
    entry(folder).write_bytes(forged)
    assert load_compiled(ROOT) == compiled and not marker.exists()


def test_a_directory_others_can_write_is_not_used(folder: Path) -> None:
    folder.mkdir()
    os.chmod(folder, 0o777)
    load_compiled(ROOT)
    assert list(folder.iterdir()) == []  # no key, no entry: compiled without the cache
    os.chmod(folder, 0o700)
    load_compiled(ROOT)
    key = folder / cache.KEY
    assert key.stat().st_mode & 0o777 == 0o600 and entry(folder).exists()
    os.chmod(key, 0o644)  # a key others can read: they could sign
    assert cache.trusted(folder) is None
