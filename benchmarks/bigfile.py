"""Large test files for the benchmarks, built with the project's own generator.

A base sending (the baseline scenario's invoices, spread over many destination mutualities)
is generated from structured data; its invoices are repeated to the wanted size and the
rulebook's derivations refill every derived zone (sequence numbers, totals, control numbers,
the ET95/ET96 recapitulation). The result validates without findings.

Records 10 to 90 carry a 6-digit order number, so a valid sending holds at most 999,999 of
them; the one-million mark is passed with the bordereau records (one ET95 per mutuality).
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import numpy as np

from compiler import Compiled
from generator import build
from generator.derive import Sending, fill
from generator.structured import flatten

MAX_ORDER = 999_999


def base_sending(compiled: Compiled, mutualities: int) -> dict[str, Any]:
    """The baseline scenario with its invoices copied once per destination mutuality."""
    data = copy.deepcopy(compiled.scenarios["baseline"])
    invoices = data["invoice"]
    spread = []
    number = 0
    for m in range(mutualities):
        mutuality = 101 + m
        for invoice in invoices:
            inv = copy.deepcopy(invoice)
            number += 1
            inv["ET20"]["destination_mutuality"] = mutuality
            inv["ET20"]["affiliation_mutuality"] = mutuality
            inv["ET20"]["invoice_number"] = number
            for p in inv.get("prestation", []):
                p["ET50"]["affiliation_mutuality"] = mutuality
            spread.append(inv)
    data["invoice"] = spread
    return data


def record_types(compiled: Compiled, rows: np.ndarray) -> np.ndarray:
    """The record type of each row as its key's bytes (``b"20"``), for vector comparisons."""
    width = compiled.message.key_length
    return np.frombuffer(np.ascontiguousarray(rows[:, :width]).tobytes(), dtype=f"S{width}")


def invoice_keys(compiled: Compiled) -> tuple[bytes, bytes]:
    """The record types that open and close an invoice (ET20 and ET80)."""
    invoice = compiled.message.groups["invoice"]
    keys = [compiled.layouts[name].key for name in (invoice.opener, invoice.closer) if name]
    assert len(keys) == 2 and keys[0] is not None and keys[1] is not None
    return keys[0].encode(), keys[1].encode()


def split_sending(
    compiled: Compiled, content: bytes
) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray]:
    """Segments, then the records before the first invoice, the invoices, and the rest."""
    head_len = sum(compiled.layouts[s].length for s in compiled.message.segments)
    length = compiled.message.record_length
    rows = np.frombuffer(content, dtype=np.uint8, offset=head_len).reshape(-1, length)
    opener, closer = invoice_keys(compiled)
    types = record_types(compiled, rows)
    first = int(np.argmax(types == opener))
    last = len(rows) - 1 - int(np.argmax(types[::-1] == closer))
    return content[:head_len], rows[:first], rows[first : last + 1], rows[last + 1 :]


def build_large(compiled: Compiled, target_records: int, mutualities: int = 90) -> bytes:
    """A valid sending with at least ``target_records`` records (capped by the format)."""
    today = dt.date(2026, 11, 1)
    data = base_sending(compiled, mutualities)
    items = flatten(compiled, data)
    content = build(compiled, items, today)
    header, head, body, tail = split_sending(compiled, content)
    numbered = numbered_types(compiled)
    bordereau = int(np.count_nonzero(~np.isin(record_types(compiled, tail), numbered)))
    room = min(target_records - bordereau, MAX_ORDER) - len(head) - 1
    repeats = max(1, room // len(body))
    # repeat each mutuality's invoices in place: destination mutualities stay ascending
    per_mutuality = len(body) // mutualities
    blocks = [
        np.tile(body[m * per_mutuality : (m + 1) * per_mutuality], (repeats, 1))
        for m in range(mutualities)
    ]
    # top up with whole invoices of the last mutuality until the order numbers run out
    last = body[(mutualities - 1) * per_mutuality :]
    opener, _ = invoice_keys(compiled)
    starts = [*np.flatnonzero(record_types(compiled, last) == opener), len(last)]
    left = room - repeats * len(body)
    extra = [last[a:b] for a, b in itertools.pairwise(starts)]
    while left > 0 and extra:
        fitting = [inv for inv in extra if len(inv) <= left]
        if not fitting:
            break
        blocks.append(fitting[0])
        left -= len(fitting[0])
    big = np.concatenate([head, *blocks, tail])
    segments = {}
    offset = 0
    for name in compiled.message.segments:
        size = compiled.layouts[name].length
        segments[name] = np.frombuffer(bytearray(header[offset : offset + size]), dtype=np.uint8)
        offset += size
    sending = Sending(rows=np.array(big), segments=segments)
    fill(compiled, sending, today.year * 10000 + today.month * 100 + today.day)
    filled = b"".join(segments[s].tobytes() for s in compiled.message.segments)
    return filled + sending.rows.tobytes()


def build_broken(compiled: Compiled, records: int, mutualities: int = 5) -> bytes:
    """A sending of ``records`` records broken everywhere: ``build_large``'s, with
    characters 41-60 of every record replaced by X (about seven findings a record: the
    zones there, the control digits, the totals that count them)."""
    body = bytearray(build_large(compiled, records, mutualities))
    header = sum(compiled.layouts[name].length for name in compiled.message.segments)
    length = compiled.layouts[compiled.message.records[0]].length
    for at in range(header, len(body), length):
        body[at + 40 : at + 60] = b"X" * 20
    return bytes(body)


def numbered_types(compiled: Compiled) -> np.ndarray:
    """Record types that carry an order number (zone 2): 10 to 90, not the bordereau."""
    keys = [
        layout.key.encode()
        for layout in compiled.layouts.values()
        if layout.key is not None and "order_number" in layout.by_name
    ]
    return np.array(keys, dtype=f"S{compiled.message.key_length}")


def cached_large(compiled: Compiled, target_records: int, folder: Path) -> Path:
    """Build once per rulebook version and size; later runs reuse the file."""
    folder.mkdir(parents=True, exist_ok=True)
    tag = compiled.hash.removeprefix("sha256:")[:12]
    path = folder / f"valid-{target_records}-{tag}.920000"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(build_large(compiled, target_records))
        tmp.replace(path)
    return path


def write_oversized(compiled: Compiled, valid: Path, target_bytes: int, path: Path) -> int:
    """Write a file of at least ``target_bytes`` by repeating the invoices of ``valid``.

    No valid sending exceeds 999,999 numbered records, so this file cannot be valid: order
    numbers wrap to 000000 after 999,999 (one 200210-type finding per wrap) and the sending
    totals count the first copy only. Every record keeps a correct control digit, so the
    findings stay a handful and the file measures the validator's memory, not the report's.
    Returns the number of 350-character records written.
    """
    header, head, body, tail = split_sending(compiled, valid.read_bytes())
    length = compiled.message.record_length
    copies = max(
        1, -(-(target_bytes - len(header) - (len(head) + len(tail)) * length) // body.nbytes)
    )
    today = 20261101
    order = compiled.layouts["ET10"].by_name["order_number"]
    numbered = numbered_types(compiled)

    def renumbered(block: np.ndarray, first_number: int) -> np.ndarray:
        out = np.array(block)
        mask = np.isin(record_types(compiled, out), numbered)
        numbers = (first_number + np.cumsum(mask) - 1) % 1_000_000
        text = np.char.zfill(numbers[mask].astype("U6"), 6).astype("S6")
        out[mask, order.offset : order.end] = np.frombuffer(text.tobytes(), np.uint8).reshape(-1, 6)
        sending = Sending(rows=np.concatenate([head[:1], out]), segments={})
        fill(compiled, sending, today, only={"control"})
        return sending.rows[1:]

    tmp = path.with_suffix(".tmp")
    written = 0
    with open(tmp, "wb") as out:
        out.write(header)
        out.write(head.tobytes())
        written += len(head)
        number = len(head) + 1
        for _ in range(copies):
            block = renumbered(body, number)
            out.write(block.tobytes())
            written += len(block)
            number += len(block)
        out.write(renumbered(tail, number).tobytes())
        written += len(tail)
    tmp.replace(path)
    return written
