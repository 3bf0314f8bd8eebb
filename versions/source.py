"""OLD and NEW of ``rulebook diff``: a rulebook directory, a git revision of a repository, or
a release of its rulebook.

Input: a text given on the command line and the repository to look revisions up in.
Output: a directory holding that version's ``instructions/`` and ``record_layouts/`` (for a
revision, extracted with ``git archive`` into a temporary directory the caller removes).
"""

from __future__ import annotations

import io
import re
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


RELEASE = re.compile(r"^release\s+(\d{4}\.\d+)\b", re.MULTILINE)
VERSION = re.compile(r"^v?(\d{4}\.\d+)$")


def newest_release(text: str) -> tuple[int, ...] | None:
    found = [tuple(int(x) for x in v.split(".")) for v in RELEASE.findall(text)]
    return max(found) if found else None


def release_commit(repo: Path, version: str) -> str | None:
    """The newest commit whose rulebook's newest release is ``version`` (``2026.1``): the
    state of the rulebook when that release was current."""
    wanted = tuple(int(x) for x in version.split("."))
    log = subprocess.run(
        ["git", "-C", str(repo), "log", "--format=%H", "--", *FOLDERS],
        capture_output=True,
        text=True,
        check=False,
    )
    for commit in log.stdout.split():
        listing = subprocess.run(
            ["git", "-C", str(repo), "grep", "-h", "^release ", commit, "--", "instructions"],
            capture_output=True,
            text=True,
            check=False,
        )
        newest = newest_release(listing.stdout)
        if newest == wanted:
            return commit
        if newest is not None and newest < wanted:
            return None  # older history only has older releases
    return None


def resolve(spec: str, repo: Path, workdir: Path) -> Path:
    """The rulebook directory for ``spec`` — a directory, a git revision, or a release
    version (``2026.1`` or ``v2026.1``: the rulebook as it was while that release was the
    newest); revisions are extracted under ``workdir``."""
    path = Path(spec)
    if path.is_dir():
        return path
    if not is_revision(repo, spec):
        release = VERSION.match(spec)
        commit = release_commit(repo, release.group(1)) if release else None
        if commit is None:
            raise SourceError(
                f"{spec}: neither a directory, a git revision of {repo}, nor a release of "
                "its rulebook"
            )
        spec = commit
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
