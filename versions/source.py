"""OLD and NEW of ``rulebook diff``: a rulebook directory, or a git revision of a repository.

Input: a text given on the command line and the repository to look revisions up in.
Output: a directory holding that version's ``instructions/`` and ``record_layouts/`` (for a
revision, extracted with ``git archive`` into a temporary directory the caller removes).
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from pathlib import Path

FOLDERS = ("instructions", "record_layouts")


class SourceError(ValueError):
    """Neither a rulebook directory nor a git revision with a rulebook."""


def is_revision(repo: Path, spec: str) -> bool:
    result = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def resolve(spec: str, repo: Path, workdir: Path) -> Path:
    """The rulebook directory for ``spec``; revisions are extracted under ``workdir``."""
    path = Path(spec)
    if path.is_dir():
        return path
    if not is_revision(repo, spec):
        raise SourceError(f"{spec}: neither a directory nor a git revision of {repo}")
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", spec, *FOLDERS],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        message = archive.stderr.decode(errors="replace").strip()
        raise SourceError(f"{spec}: no rulebook at this revision ({message})")
    target = Path(tempfile.mkdtemp(prefix="rev-", dir=workdir))
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target
