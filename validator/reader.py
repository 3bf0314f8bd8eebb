"""Reading a file as a stream: segments first, then blocks of fixed-length records.

Input: a binary stream (a file, stdin, an upload) and the message's geometry (segment
lengths, record length).
Output: the segments, then blocks of records as ``(n, 350)`` uint8 arrays with their first
ordinal, plus reader findings (empty file, truncated header or record, line separators,
missing segments). Memory is bounded by one block, whatever the file size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from compiler import Compiled
from validator.report import Finding
from validator.values import Bytes2D
from validator.words import Detail, kind_detail, reader_detail

PEEK = 8192
PRINTABLE_LOW, PRINTABLE_HIGH = 32, 126  # the format's characters: printable ASCII


DEFAULT_BLOCK_RECORDS = 49152  # records evaluated together: ~4.5 KB of memory each


class ByteSource(Protocol):
    """What the reader needs of its input: a file, standard input, an HTTP body pipe."""

    def read(self, n: int = -1, /) -> bytes: ...


@dataclass(slots=True)
class ReaderFinding:
    """A problem found while reading, before any rule: condition name and location."""

    condition: str
    segment: str | None = None
    record: int | None = None
    start: int | None = None
    end: int | None = None
    detail: Detail | None = None


@dataclass(slots=True)
class Reader:
    """Splits a stream into segments and record blocks."""

    stream: ByteSource
    compiled: Compiled
    block_records: int = DEFAULT_BLOCK_RECORDS
    segments: dict[str, bytes] = field(default_factory=dict)
    findings: list[ReaderFinding] = field(default_factory=list)
    records: int = 0
    size: int = 0
    line_mode: bool = False
    _digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    _pending: bytes = b""
    _at: int = 0  # line mode: where the unread part of _pending starts

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    @property
    def record_length(self) -> int:
        return self.compiled.message.record_length

    def _read(self, n: int) -> bytes:
        data = self.stream.read(n)
        if data:
            self._digest.update(data)
            self.size += len(data)
        return data

    def _read_exact(self, n: int) -> bytes:
        parts: list[bytes] = []
        remaining = n
        if self._pending:
            take = self._pending[:remaining]
            self._pending = self._pending[remaining:]
            parts.append(take)
            remaining -= len(take)
        while remaining > 0:
            data = self._read(remaining)
            if not data:
                break
            parts.append(data)
            remaining -= len(data)
        return b"".join(parts)

    # ------------------------------------------------------------------ header

    def read_header(self) -> None:
        msg = self.compiled.message
        seg_layouts = [self.compiled.layouts[s] for s in msg.segments]
        header_length = sum(lay.length for lay in seg_layouts)
        head = self._read_exact(PEEK)
        if not head:
            self.findings.append(ReaderFinding("empty_file"))
            return
        other = not_this_message(self.compiled, head)
        if other is not None:
            self.findings.append(ReaderFinding("not_a_sending", detail=other))
            return
        if b"\n" in head or b"\r" in head:
            self.line_mode = True
            self._pending, self._at = head, 0
            first = head.split(b"\n", 1)[0]
            self.findings.append(
                ReaderFinding(
                    "line_separators",
                    record=None,
                    start=len(first.rstrip(b"\r")) + 1,
                    detail=reader_detail("one_string", name=msg.name),
                )
            )
            self._read_line_header(seg_layouts)
            return
        self._pending = head
        first_key = self.compiled.layouts[msg.records[0]].key or ""
        if head.startswith(first_key.encode() + b"000001"):
            self.findings.append(ReaderFinding("missing_segments", record=1))
            return
        header = self._read_exact(header_length)
        if len(header) < header_length:
            self.findings.append(
                ReaderFinding(
                    "truncated_header",
                    detail=reader_detail("header_short", n=len(header), need=header_length),
                )
            )
            return
        offset = 0
        for lay in seg_layouts:
            self.segments[lay.name] = header[offset : offset + lay.length]
            offset += lay.length
        self._check_segments(seg_layouts)

    def _check_segments(self, seg_layouts: list) -> None:  # type: ignore[type-arg]
        """Segments hold printable ASCII, like records: anything else (a NUL, an escape, a
        latin-1 or UTF-8 letter) is the reader's 'invalid characters', at its position."""
        for lay in seg_layouts:
            raw = np.frombuffer(self.segments.get(lay.name, b""), dtype=np.uint8)
            bad = (raw < PRINTABLE_LOW) | (raw > PRINTABLE_HIGH)
            if bad.any():
                position = int(np.argmax(bad)) + 1
                self.findings.append(
                    ReaderFinding(
                        "invalid_characters",
                        segment=lay.digits,
                        start=position,
                        end=position,
                        detail=reader_detail(
                            "byte", byte=int(raw[position - 1]), position=position
                        ),
                    )
                )

    def _read_line_header(self, seg_layouts: list) -> None:  # type: ignore[type-arg]
        lengths = [lay.length for lay in seg_layouts]
        first = self._next_line()
        if first is None:
            return
        line, size = first
        if size == sum(lengths):
            offset = 0
            for lay in seg_layouts:
                self.segments[lay.name] = line[offset : offset + lay.length]
                offset += lay.length
            self._check_segments(seg_layouts)
            return
        lines = [first]
        for _ in lengths[1:]:
            nxt = self._next_line()
            if nxt is None:
                break
            lines.append(nxt)
        for lay, (text, size) in zip(seg_layouts, lines, strict=False):
            if size != lay.length:
                self.findings.append(
                    ReaderFinding(
                        "truncated_header",
                        segment=lay.digits,
                        detail=reader_detail(
                            "segment_length", seg=lay.digits, n=size, need=lay.length
                        ),
                    )
                )
                self.segments.clear()
                return
            self.segments[lay.name] = text
        self._check_segments(seg_layouts)

    def _next_line(self, skip_blank: bool = False) -> tuple[bytes, int] | None:
        """The next line without its line break (LF, or CR LF) and its length; at most
        ``line_keep`` of its characters are kept (a longer line is wrong whatever it holds).
        ``skip_blank``: empty lines before it are passed over, a run of them at once. Linear
        in the bytes read, whatever the lines' lengths."""
        keep = self.line_keep
        parts: list[bytes] = []
        kept = length = 0
        last = b""
        while True:
            if self._at >= len(self._pending):
                data = self._read(1 << 16)
                if not data:
                    if not length and not parts:
                        return None
                    break
                self._pending, self._at = data, 0
            if skip_blank and not length:
                rest = self._pending[self._at :]
                self._at += len(rest) - len(rest.lstrip(b"\r\n"))
                if self._at >= len(self._pending):
                    continue
            end = self._pending.find(b"\n", self._at)
            stop = len(self._pending) if end < 0 else end
            if stop > self._at:
                length += stop - self._at
                last = self._pending[stop - 1 : stop]
                if kept < keep:
                    piece = self._pending[self._at : min(stop, self._at + keep - kept)]
                    parts.append(piece)
                    kept += len(piece)
            if end < 0:
                self._at = len(self._pending)
                continue
            self._at = end + 1
            break
        line = b"".join(parts)
        if last == b"\r":
            length -= 1
            if len(line) > length:
                line = line[:length]
        return line, length

    @property
    def line_keep(self) -> int:
        """The longest line worth keeping: both segments on one line, or a record."""
        msg = self.compiled.message
        head = sum(self.compiled.layouts[s].length for s in msg.segments)
        return max(head, msg.record_length)

    def drain(self) -> None:
        """Read what is left of the stream into the hash and the size (reading may stop early,
        on a file whose beginning is not a 920000 one): ``sha256`` is the whole file's."""
        self._pending, self._at = b"", 0
        while self._read(1 << 20):
            pass

    # ------------------------------------------------------------------ records

    def blocks(self) -> Iterator[tuple[Bytes2D, int]]:
        """Blocks of whole records and the 1-based ordinal of each block's first record."""
        if any(f.condition in NOTHING_MORE for f in self.findings):
            return
        if self.line_mode:
            yield from self._line_blocks()
            return
        size = self.record_length
        while True:
            data = self._read_exact(size * self.block_records)
            if not data:
                return
            whole = len(data) // size
            if whole:
                rows = np.frombuffer(data[: whole * size], dtype=np.uint8).reshape(whole, size)
                first = self.records + 1
                self.records += whole
                yield rows, first
            rest = len(data) - whole * size
            if rest:
                self.findings.append(
                    ReaderFinding(
                        "truncated_record",
                        record=self.records + 1,
                        start=1,
                        end=rest,
                        detail=reader_detail("record_length", n=rest, need=size),
                    )
                )
                return

    def _line_blocks(self) -> Iterator[tuple[Bytes2D, int]]:
        size = self.record_length
        batch: list[bytes] = []
        first = self.records + 1
        ordinal = self.records
        while True:
            found = self._next_line(skip_blank=True)
            if found is None:
                break
            line, length = found
            if not length:
                continue
            ordinal += 1
            if length != size:
                if batch:
                    yield self._batch(batch, first)
                    batch = []
                self.findings.append(
                    ReaderFinding(
                        "bad_record_length",
                        record=ordinal,
                        start=1,
                        end=length,
                        detail=reader_detail("record_length", n=length, need=size),
                    )
                )
                self.records = ordinal
                first = ordinal + 1
                continue
            batch.append(line)
            self.records = ordinal
            if len(batch) >= self.block_records:
                yield self._batch(batch, first)
                batch = []
                first = ordinal + 1
        if batch:
            yield self._batch(batch, first)

    def _batch(self, lines: list[bytes], first: int) -> tuple[Bytes2D, int]:
        data = b"".join(lines)
        return np.frombuffer(data, dtype=np.uint8).reshape(len(lines), self.record_length), first


NOTHING_MORE = ("empty_file", "not_a_sending", "truncated_header")  # no record read after
# what a file that is not a sending often is, by its first bytes (validator.words.KINDS)
KNOWN_STARTS: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "zip"),
    (b"\x1f\x8b", "gzip"),
    (b"%PDF", "pdf"),
    (b"\x89PNG", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"<?xml", "xml"),
    (b"{", "json"),
    (b"--", "multipart"),
)


def not_this_message(compiled: Compiled, head: bytes) -> Detail | None:
    """Why a file is not a sending of the validated message, judged by its first bytes (its
    message-name zone): None when it starts like one — a name of digits, even another
    message's (the official 200-22 reports a wrong name) or a record's type and number (the
    reader's 'missing segments'), or one cut short."""
    msg = compiled.message
    first = compiled.layouts[msg.segments[0]] if msg.segments else None
    zone = first.role("name") if first is not None else None
    if zone is None:
        return None
    name = msg.name.encode()
    found = head[zone.offset : zone.end]
    if found == name or (len(head) < zone.end and name.startswith(found)):
        return None
    if len(found) == len(name) and found.isdigit():  # a record first starts with digits too
        return None
    for start, kind in KNOWN_STARTS:
        if head.lstrip(b" \t\r\n").startswith(start):
            return kind_detail(kind)
    text = found.decode("latin-1")
    return reader_detail(
        "name_zone", a=zone.offset + 1, b=zone.end, found=ascii(text), name=msg.name
    )


def reader_finding(compiled: Compiled, f: ReaderFinding, record_type: str | None = None) -> Finding:
    """A reader finding with the code, letter and labels the rulebook gives its condition."""
    info = compiled.reader_code(f.condition)
    return Finding(
        code=info.code,
        letter=info.letter,
        segment=f.segment,
        record=f.record,
        record_type=record_type,
        zone=None,
        start=f.start,
        end=f.end,
        invoice=None,
        fr=info.fr,
        nl=info.nl,
        source=info.source,
        line=info.line,
        detail=f.detail,
    )
