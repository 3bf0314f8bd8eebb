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


def build_large(compiled: Compiled, target_records: int, mutualities: int = 90) -> bytes:
    """A valid sending with at least ``target_records`` records (capped by the format)."""
    today = dt.date(2026, 11, 1)
    data = base_sending(compiled, mutualities)
    items = flatten(compiled, data)
    content = build(compiled, items, today)
    head_len = sum(compiled.layouts[s].length for s in compiled.message.segments)
    length = compiled.message.record_length
    rows = np.frombuffer(content[head_len:], dtype=np.uint8).reshape(-1, length)
    types = rows[:, :2].tobytes()
    kinds = [types[i : i + 2] for i in range(0, len(types), 2)]
    first_invoice = kinds.index(b"20")
    last_invoice = len(kinds) - 1 - kinds[::-1].index(b"80")
    head, body, tail = (
        rows[:first_invoice],
        rows[first_invoice : last_invoice + 1],
        rows[last_invoice + 1 :],
    )
    bordereau = sum(1 for k in kinds if k in (b"95", b"96"))
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
    starts = [i for i in range(len(last)) if last[i, :2].tobytes() == b"20"] + [len(last)]
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
        segments[name] = np.frombuffer(bytearray(content[offset : offset + size]), dtype=np.uint8)
        offset += size
    sending = Sending(rows=np.array(big), segments=segments)
    fill(compiled, sending, today.year * 10000 + today.month * 100 + today.day)
    header = b"".join(segments[s].tobytes() for s in compiled.message.segments)
    return header + sending.rows.tobytes()


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
    content = valid.read_bytes()
    head_len = sum(compiled.layouts[s].length for s in compiled.message.segments)
    length = compiled.message.record_length
    rows = np.frombuffer(content, dtype=np.uint8, offset=head_len).reshape(-1, length)
    kinds = rows[:, 0].astype(np.int64) * 256 + rows[:, 1]
    code = {k: ord(k[0]) * 256 + ord(k[1]) for k in ("20", "80")}  # record types as 2 bytes
    first = int(np.argmax(kinds == code["20"]))
    last = len(rows) - 1 - int(np.argmax(kinds[::-1] == code["80"]))
    head, body, tail = rows[:first], rows[first : last + 1], rows[last + 1 :]
    copies = max(1, -(-(target_bytes - head_len - (len(head) + len(tail)) * length) // body.nbytes))
    today = 20261101
    order = compiled.layouts["ET10"].by_name["order_number"]
    numbered = [
        ord(layout.key[0]) * 256 + ord(layout.key[1])
        for layout in compiled.layouts.values()
        if layout.key is not None and "order_number" in layout.by_name
    ]

    def renumbered(block: np.ndarray, first_number: int) -> np.ndarray:
        out = np.array(block)
        mask = np.isin(out[:, 0].astype(np.int64) * 256 + out[:, 1], numbered)
        numbers = (first_number + np.cumsum(mask) - 1) % 1_000_000
        text = np.char.zfill(numbers[mask].astype("U6"), 6).astype("S6")
        out[mask, order.offset : order.end] = np.frombuffer(text.tobytes(), np.uint8).reshape(-1, 6)
        sending = Sending(rows=np.concatenate([head[:1], out]), segments={})
        fill(compiled, sending, today, only={"control"})
        return sending.rows[1:]

    tmp = path.with_suffix(".tmp")
    written = 0
    with open(tmp, "wb") as out:
        out.write(content[:head_len])
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
