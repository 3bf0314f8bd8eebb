"""The files of a ZIP archive of sendings (or of messages), read with bounds: how many
members and how many bytes unzipped (each member's declared size bounds what is inflated).
Directories and the entries archivers add (``__MACOSX/``, hidden files) are left aside."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

MAGIC = b"PK\x03\x04"

__all__ = ["MAGIC", "ZipRefused", "is_zip", "zip_members"]


@dataclass(frozen=True)
class ZipRefused(Exception):
    """An archive that cannot be read (``bad-zip``, 422) or is over a bound (``too-large``,
    413)."""

    status: int
    code: str
    message: str

    def __str__(self) -> str:
        return self.message


def is_zip(content: bytes) -> bool:
    return content.startswith(MAGIC)


def skipped(name: str) -> bool:
    parts = name.split("/")
    return parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts if p)


def zip_members(
    content: bytes, *, max_members: int, max_bytes: int, label: str = "archive"
) -> list[tuple[str, bytes]]:
    """Each file of the archive, by name order: (its name in the archive, its bytes)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = [m for m in archive.infolist() if not m.is_dir() and not skipped(m.filename)]
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ZipRefused(422, "bad-zip", f"{label}: not a readable ZIP ({exc})") from None
    if len(members) > max_members:
        raise ZipRefused(413, "too-large", f"{label}: over {max_members} files")
    if sum(m.file_size for m in members) > max_bytes:
        raise ZipRefused(413, "too-large", f"{label}: over {max_bytes} bytes unzipped")
    out = []
    for member in sorted(members, key=lambda m: m.filename):
        try:
            out.append((member.filename, archive.read(member)))
        except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError) as exc:
            raise ZipRefused(422, "bad-zip", f"{label}: {member.filename}: {exc}") from None
    return out
