"""The answered file cut into segments and records, with the group occurrence of each record.

Input: the bytes of a sent file and the compiled description of its message.
Output: ``Sending``: segment bytes by layout name, records (1-based number, layout name or None,
350 bytes) and, per group of the message (the invoice), the records of each occurrence. The
answer writer takes the records it echoes and the values it copies from here.

A file whose records are separated by line breaks is read without them (the validator reports
the separators); a last record cut short is padded with blanks so it can still be echoed;
a byte the format forbids is read as '?'.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compiler import Compiled, ir
from generator.parse import cut


@dataclass(frozen=True, slots=True)
class Record:
    number: int  # 1-based, as in the validation report
    layout: str | None  # None: a record type the message does not describe
    data: bytes


@dataclass(slots=True)
class Sending:
    message: ir.Message
    segments: dict[str, bytes]
    records: list[Record]
    occurrence: dict[int, tuple[str, int]] = field(default_factory=dict)  # record -> (group, n)
    members: dict[tuple[str, int], list[int]] = field(default_factory=dict)

    def record(self, number: int) -> Record:
        return self.records[number - 1]

    def source_bytes(self, compiled: Compiled, record: str, number: int | None) -> bytes | None:
        """The bytes of ``record`` (a segment or record name) that go with record ``number``:
        the segment; the record of that type in the same group occurrence; else the only record
        of that type in the file."""
        if record in self.segments:
            return self.segments[record]
        if number is not None and number in self.occurrence:
            for other in self.members[self.occurrence[number]]:
                if self.record(other).layout == record:
                    return self.record(other).data
            return None
        if record in self.message.singletons:
            found = next((r for r in self.records if r.layout == record), None)
            return found.data if found is not None else None
        return None


# bytes the format forbids (outside printable ASCII) are written '?' in answers, which copy
# and echo the sent file: the validation locates them (RB0007), the answer never carries them
SAFE = bytes(b if 32 <= b <= 126 else ord("?") for b in range(256))


def split(compiled: Compiled, data: bytes) -> Sending:
    msg = compiled.message
    parts = cut(compiled, data)
    records = [
        Record(number=n, layout=layout, data=raw.translate(SAFE))
        for n, (layout, raw) in enumerate(parts.records, start=1)
    ]
    segments = {name: raw.translate(SAFE) for name, raw in parts.segments.items()}
    sending = Sending(message=msg, segments=segments, records=records)
    for group in msg.groups.values():
        count = 0
        current: int | None = None
        for rec in records:
            if rec.layout == group.opener:
                count += 1
                current = count
            if current is not None and rec.layout in group.members:
                sending.occurrence[rec.number] = (group.name, current)
                sending.members.setdefault((group.name, current), []).append(rec.number)
            if rec.layout == group.closer or (rec.layout not in group.members):
                current = None
    return sending
