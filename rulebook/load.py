"""Loading a rulebook: directory or files -> parsed sources, catalogue, hash, diagnostics.

Input: a rulebook directory (holding ``record_layouts/*.layout`` and ``instructions/*.rules``)
or individual source files; by default the rulebook shipped with the package.
Output: ``Rulebook``: the parsed files, their texts (for caret excerpts), the official code
list named by ``codes from``, a content hash, and every diagnostic of parsing and checking.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.resources
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rulebook import syntax
from rulebook.catalogue import Catalogue, load_catalogue
from rulebook.diagnostics import Diagnostic, error
from rulebook.parse import parse_source
from rulebook.spans import Span

SOURCE_SUFFIXES = (".layout", ".rules")


@dataclass(frozen=True, slots=True, kw_only=True)
class Rulebook:
    """Parsed rulebook sources, before compilation."""

    root: Path | None
    files: tuple[syntax.SourceFile, ...]
    sources: dict[str, str] = field(compare=False)
    catalogue: Catalogue = field(compare=False)
    hash: str
    diagnostics: tuple[Diagnostic, ...]
    scenarios: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False)
    campaign: dict[str, Any] = field(default_factory=dict, compare=False)

    def items(self) -> Iterable[syntax.Item]:
        for f in self.files:
            yield from f.items

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)


def shipped_root() -> Path:
    """The rulebook shipped with the package (installed wheel or source checkout)."""
    packaged = importlib.resources.files("rulebook").joinpath("_shipped")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent


def source_files(root: Path) -> list[Path]:
    """The source files of a rulebook directory, layouts first, in a stable order.

    A rulebook root holds ``record_layouts/`` and ``instructions/``; any other directory
    contributes the ``.layout`` and ``.rules`` files directly inside it.
    """
    found: list[Path] = []
    folders = [root / "record_layouts", root / "instructions"]
    if not any(f.is_dir() for f in folders):
        folders = [root, root]
    for folder, suffix in zip(folders, (".layout", ".rules"), strict=True):
        if folder.is_dir():
            pattern = f"*{suffix}" if folder == root else f"**/*{suffix}"
            found.extend(sorted(folder.glob(pattern)))
    return found


def directory_hash(root: Path) -> str:
    """Content hash of a rulebook directory: every file under its two folders, in order.

    Computed from bytes only (no parsing), so a compiled rulebook can be found in the cache
    before anything is parsed; two parties with the same hash ran the same rules.
    """
    digest = hashlib.sha256()
    for sub in ("record_layouts", "instructions"):
        folder = root / sub
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            if "__pycache__" in path.parts:
                continue
            rel = path.relative_to(root).as_posix()
            digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest()


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def load(
    paths: Sequence[Path | str] | Path | str | None = None, *, root: Path | None = None
) -> Rulebook:
    """Parse and check a rulebook; never raises for problems in the sources. Source names
    are relative to ``root`` (default: the first directory given, else the first file's)."""
    from rulebook.check import check  # late import: check uses the loaded structures

    if paths is None:
        paths = [shipped_root()]
    if isinstance(paths, str | Path):
        paths = [paths]
    diags: list[Diagnostic] = []
    files: list[Path] = []
    dirs: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            root = root or p
            dirs.append(p)
            found = source_files(p)
            if not found:
                diags.append(
                    error(
                        "io-error",
                        f"no .layout or .rules files in {p} (nor in record_layouts/ and "
                        "instructions/ under it)",
                        None,
                    )
                )
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            diags.append(error("io-error", f"{p} does not exist", None))
    if root is None and files:
        root = files[0].parent
    texts: dict[str, str] = {}
    parsed: list[syntax.SourceFile] = []
    digest = hashlib.sha256()
    for path in files:
        rel = _relative(path, root)
        try:
            data = path.read_bytes()
        except OSError as exc:
            diags.append(error("io-error", f"cannot read {rel}: {exc.strerror}", None))
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            diags.append(
                error("bad-encoding", f"{rel} is not valid UTF-8", Span.point(rel, line, 1))
            )
            continue
        digest.update(rel.encode() + b"\0" + data + b"\0")
        texts[rel] = text
        source, file_diags = parse_source(text, rel)
        parsed.append(source)
        diags.extend(file_diags)
    catalogue = Catalogue({})
    for src_path, source in zip(files, parsed, strict=False):
        for item in source.items:
            if isinstance(item, syntax.CodesImport):
                target = (src_path.parent / item.path).resolve()
                if not target.is_file():
                    diags.append(
                        error("missing-file", f"code list {item.path!r} not found", item.span)
                    )
                    continue
                try:
                    catalogue = load_catalogue(target)
                    digest.update(b"codes\0" + target.read_bytes())
                except (OSError, ValueError) as exc:
                    diags.append(
                        error("bad-catalogue", f"cannot read {item.path}: {exc}", item.span)
                    )
    scenarios: dict[str, dict[str, Any]] = {}
    for folder in dirs:
        scenario_dir = folder / "instructions" / "scenarios"
        for path in sorted(scenario_dir.glob("*.json")) if scenario_dir.is_dir() else []:
            rel = _relative(path, root)
            try:
                data = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError) as exc:
                diags.append(error("bad-scenario", f"{rel}: {exc}", Span.point(rel, 1, 1)))
                continue
            if not isinstance(data, dict):
                diags.append(
                    error("bad-scenario", f"{rel} is not a JSON object", Span.point(rel, 1, 1))
                )
                continue
            scenarios[path.stem] = data
    campaign: dict[str, Any] = {}
    for folder in dirs:
        path = folder / "instructions" / "campaign.json"
        if path.is_file():
            rel = _relative(path, root)
            try:
                profile = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError) as exc:
                diags.append(error("bad-campaign", f"{rel}: {exc}", Span.point(rel, 1, 1)))
                continue
            if not isinstance(profile, dict):
                diags.append(
                    error("bad-campaign", f"{rel} is not a JSON object", Span.point(rel, 1, 1))
                )
                continue
            campaign = profile
    content_hash = "sha256:" + digest.hexdigest()
    if len(dirs) == 1 and len(files) == len(source_files(dirs[0])):
        content_hash = directory_hash(dirs[0])
    book = Rulebook(
        root=root,
        files=tuple(parsed),
        sources=texts,
        catalogue=catalogue,
        hash=content_hash,
        diagnostics=tuple(diags),
        scenarios=scenarios,
        campaign=campaign,
    )
    return dataclasses.replace(book, diagnostics=(*book.diagnostics, *check(book)))


def load_text(text: str, path: str = "<text>", catalogue: Catalogue | None = None) -> Rulebook:
    """Parse and check a rulebook given as one text (tests, property checks)."""
    from rulebook.check import check

    source, diags = parse_source(text, path)
    book = Rulebook(
        root=None,
        files=(source,),
        sources={path: text},
        catalogue=catalogue or Catalogue({}),
        hash="sha256:" + hashlib.sha256(text.encode()).hexdigest(),
        diagnostics=tuple(diags),
    )
    return dataclasses.replace(book, diagnostics=(*book.diagnostics, *check(book)))
