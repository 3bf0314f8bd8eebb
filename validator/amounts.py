"""Amounts asked, accepted and refused per destination and per account (the rulebook's ``amounts``).

Input: each chunk of records as the validator reads it (its invoice numbers are known), then
the findings and the verdict of the whole file.
Output: ``Destination`` values for the report and for the settlement answer (ET91 / ET92).

What is totalled comes from the rulebook: the destination zone of the invoice's opening record,
the line records with their amount and account zones, the accounts. The refusals follow the
verdict semantics (design.md §5): a rejected sending refuses everything; an F finding refuses
its invoice; an R finding refuses its line — the line record it is on, or the line a record
attached to it belongs to (the last line before it in the same invoice). Lines whose destination,
account or amount cannot be read are not totalled but counted (``unassigned_lines``); those
zones carry their own findings.

Memory: per line an ordinal, an invoice number, an account index and an amount (17 bytes), per
invoice its number and destination, in columns that grow with the file (``Growing``: out of
the allocator's heap once large).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from compiler import ir
from validator.chunk import Chunk
from validator.growing import Growing
from validator.report import AmountsResult, Destination, Sums
from validator.scope import Env, Scope, layout_scope
from validator.tally import Tally
from validator.values import Val, int_sums
from validator.zones import zone_value

REJECTED = frozenset({"rejected_blocking", "rejected_threshold"})


_REFS: dict[tuple[str, int], tuple[ir.Zone, ir.ZoneRef]] = {}


def zone_ref(layout: str, zone: ir.Zone) -> ir.ZoneRef:
    """The zone read on its own record (one per zone: IR nodes hash deeply, so by identity;
    the zone is kept alive with it)."""
    found = _REFS.get((layout, id(zone)))
    if found is None:
        ref = ir.ZoneRef(access="self", record=layout, zone=zone, raw=False, ty=zone.value_type)
        found = _REFS[(layout, id(zone))] = (zone, ref)
    return found[1]


ZoneReader = Callable[[str, ir.Zone], tuple[np.ndarray, np.ndarray, np.ndarray]]


def amounts_nothing() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What a zone reader gives for a record type with no new record in the chunk."""
    empty = np.zeros(0, dtype=np.int64)
    return empty, np.zeros(0, dtype=np.bool_), empty


def new_values(scope: Scope, value: Val, at: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, unreadable, chunk rows) of the new records of ``scope``, whose values are
    ``value``'s entries from ``at`` on (a scope joined from several files' scopes has them one
    after the other)."""
    new = scope.chunk.is_new[scope.idx]
    end = at + scope.n
    data = np.asarray(value.data)
    data = (np.broadcast_to(data, (end,)) if data.ndim == 0 else data)[at:end][new]
    unknown = np.zeros(data.size, np.bool_) if value.unknown is None else value.unknown[at:end][new]
    return data, unknown, scope.idx[new]


@dataclass(slots=True)
class AmountsRun:
    spec: ir.Amounts
    opener: str
    # per invoice: its number and its destination (-1: unreadable)
    inv_numbers: Growing = field(default_factory=lambda: Growing(np.int32))
    inv_keys: Growing = field(default_factory=lambda: Growing(np.int64))
    # per line: its record's ordinal, its invoice, its account's index (-1: none), its amount
    ordinals: Growing = field(default_factory=lambda: Growing(np.int32))
    invoices: Growing = field(default_factory=lambda: Growing(np.int32))
    accounts: Growing = field(default_factory=lambda: Growing(np.int8))
    amounts: Growing = field(default_factory=lambda: Growing(np.int64))

    def add(self, chunk: Chunk, env: Env) -> None:
        """Collect the openers' destinations and the lines among the chunk's new records."""
        read = partial(self._read, chunk, env)
        self.add_openers(chunk, *read(self.opener, self.spec.key))
        self.add_lines(chunk, *collect_lines(self.spec, read))

    def add_openers(self, chunk: Chunk, key: np.ndarray, bad: np.ndarray, rows: np.ndarray) -> None:
        """The invoices opened at ``rows`` of the chunk, with their destinations."""
        if rows.size:
            self.inv_numbers.extend(chunk.invoices[rows])
            self.inv_keys.extend(np.where(bad, -1, key))

    def add_lines(
        self, chunk: Chunk, rows: np.ndarray, index: np.ndarray, amount: np.ndarray
    ) -> None:
        """The lines at ``rows`` of the chunk (in file order), their accounts and amounts."""
        if rows.size:
            self.ordinals.extend(chunk.ordinals[rows])
            self.invoices.extend(chunk.invoices[rows])
            self.accounts.extend(index)
            self.amounts.extend(amount)

    def _read(
        self, chunk: Chunk, env: Env, layout: str, zone: ir.Zone
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(values, unreadable, chunk rows) of a zone on the chunk's new records of a type."""
        if layout not in chunk.layout_index or not chunk.rows_of(layout).size:
            return amounts_nothing()
        scope = layout_scope(chunk, chunk.layouts[chunk.layout_index[layout]], env)
        return new_values(scope, zone_value(scope, zone_ref(layout, zone)), 0)

    def result(self, tally: Tally, verdict: str) -> AmountsResult:
        numbers, keys = self.inv_numbers.array(), self.inv_keys.array()
        ordinals, invoices = self.ordinals.array(), self.invoices.array()
        accounts, amounts = self.accounts.array(), self.amounts.array()
        # destination of each invoice (invoice numbers start at 1, in order), then of each line
        valid = keys >= 0
        found, index = np.unique(keys[valid], return_inverse=True)
        by_invoice = np.full(int(numbers.max(initial=0)) + 1, -1, dtype=np.int32)
        by_invoice[numbers[valid]] = index
        by_invoice[0] = -1  # lines outside any invoice
        dest = by_invoice[invoices]
        refused = self._refused(tally, verdict, ordinals, invoices)
        usable = (dest >= 0) & (accounts >= 0)
        slots = len(self.spec.accounts)
        group = dest.astype(np.int64) * slots + accounts
        size = len(found) * slots
        asked = _sums(group, amounts, usable, size)
        no = _sums(group, amounts, usable & refused, size)
        width = self.spec.key.length
        destinations = []
        for d, key in enumerate(found):
            sums = []
            for i, acc in enumerate(self.spec.accounts):
                a, r = asked[d * slots + i], no[d * slots + i]
                sums.append((acc.name, Sums(a, a - r, r)))
            total = Sums(
                sum(s.asked for _, s in sums),
                sum(s.accepted for _, s in sums),
                sum(s.refused for _, s in sums),
            )
            destinations.append(
                Destination(key=str(int(key)).zfill(width), accounts=tuple(sums), total=total)
            )
        return AmountsResult(
            destinations=tuple(destinations), unassigned_lines=int((~usable).sum())
        )

    @staticmethod
    def _refused(
        tally: Tally, verdict: str, ordinals: np.ndarray, invoices: np.ndarray
    ) -> np.ndarray:
        if verdict in REJECTED:
            return np.ones(ordinals.size, dtype=np.bool_)
        refused_invoices = tally.refused_invoices
        if refused_invoices:
            numbers = np.fromiter(refused_invoices, np.int32, len(refused_invoices))
            refused = np.isin(invoices, numbers)
        else:
            refused = np.zeros(invoices.size, dtype=np.bool_)
        if tally.refused_lines and ordinals.size:
            # an R finding refuses the line it is on, or the line its record belongs to
            lines = np.array(sorted(tally.refused_lines), dtype=np.int64).reshape(-1, 2)
            at = np.searchsorted(ordinals, lines[:, 0], side="right") - 1
            ok = at >= 0
            ok[ok] &= invoices[at[ok]] == lines[ok, 1]
            refused[at[ok]] = True
        return refused


def collect_lines(spec: ir.Amounts, read: ZoneReader) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, account index, amount) of the lines ``read`` gives (the new records of each
    line type; rows of one chunk, or of a batch's chunks one after the other), in row order.
    A line whose account or amount is unreadable gets index -1 (counted, not totalled)."""
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for line in spec.lines:
        amount, bad_amount, rows = read(line, spec.amount[line])
        if not rows.size:
            continue
        account, bad_account, _ = read(line, spec.account[line])
        index = np.full(rows.size, -1, dtype=np.int8)
        for i, acc in enumerate(spec.accounts):
            index[(account == acc.value) & ~bad_account] = i
        index[bad_amount] = -1
        found.append((rows, index, np.where(bad_amount, 0, amount).astype(np.int64)))
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(0, dtype=np.int8), empty
    if len(found) == 1:
        return found[0]
    rows = np.concatenate([f[0] for f in found])  # lines in row order, whatever their type
    order = np.argsort(rows, kind="stable")
    index = np.concatenate([f[1] for f in found])[order]
    return rows[order], index, np.concatenate([f[2] for f in found])[order]


def _sums(group: np.ndarray, amounts: np.ndarray, mask: np.ndarray, size: int) -> list[int]:
    """Exact integer sums of ``amounts`` per group over ``mask`` (cents: no rounding)."""
    return [int(v) for v in int_sums(group[mask], amounts[mask], size).tolist()]
