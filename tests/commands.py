"""The installed ``rulebook`` command run as a user runs it, and copies of the shipped
rulebook to edit, for the command-line tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rulebook(
    *args: str, stdin: bytes | None = None, cwd: Path = ROOT, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    command = shutil.which("rulebook")
    base = [command] if command else [sys.executable, "-m", "api.cli"]
    return subprocess.run(
        [*base, *args],
        input=stdin.decode("latin-1") if stdin is not None else None,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def copy_book(target: Path) -> Path:
    """A copy of the shipped rulebook's sources (instructions/, record_layouts/) at target."""
    for folder in ("instructions", "record_layouts"):
        shutil.copytree(ROOT / folder, target / folder)
    return target
