"""The official error-code list (INAMI), as data.

Input: the JSON file named by ``codes from "…"`` (one object per code: code, letter, record,
zone, fr, nl).
Output: ``Catalogue``: entries keyed by code, labels cleaned for display.

The list is not unique on ``code`` (203210 appears with letters F and S), so each code maps
to a tuple of entries.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One line of the official list."""

    code: str
    letter: str | None
    record: str
    zone: str
    fr: str | None
    nl: str | None


def clean_label(text: str | None) -> str | None:
    """Trim spreadsheet artefacts: outer quotes, doubled quotes, runs of blanks."""
    if text is None:
        return None
    text = text.replace("\xa0", " ").strip()
    if len(text) >= 2 and text.startswith('"') and text.endswith('"') and '""' in text:
        text = text[1:-1]
    text = text.replace('""', '"')
    text = re.sub(r"\s+", " ", text).strip()
    return text or None


@dataclass(frozen=True, slots=True)
class Catalogue:
    """All official codes, each with its entries (usually one)."""

    entries: dict[str, tuple[Entry, ...]]

    def get(self, code: str) -> tuple[Entry, ...]:
        return self.entries.get(code, ())

    def __contains__(self, code: object) -> bool:
        return code in self.entries

    def __len__(self) -> int:
        return len(self.entries)


def load_catalogue(path: Path) -> Catalogue:
    """Read the official list; raises ``OSError`` or ``ValueError`` on a bad file."""
    raw = json.loads(path.read_text("utf-8"))
    if not isinstance(raw, list):
        raise ValueError("the code list must be a JSON array")
    grouped: dict[str, list[Entry]] = {}
    for obj in raw:
        if not isinstance(obj, dict) or not isinstance(obj.get("code"), str):
            raise ValueError(f"malformed entry in the code list: {obj!r}")
        code = obj["code"]
        entry = Entry(
            code=code,
            letter=obj.get("letter"),
            record=str(obj.get("record") or code[:2]),
            zone=str(obj.get("zone") or code[2:4]),
            fr=clean_label(obj.get("fr")),
            nl=clean_label(obj.get("nl")),
        )
        grouped.setdefault(code, []).append(entry)
    return Catalogue({code: tuple(v) for code, v in grouped.items()})
