"""The verdict on a sending (design.md §5), from its findings and the rulebook's parameters.

Input: the findings' tally (``validator.tally``: counts, and the invoices and records with
an F or R finding), the counts of invoices and records, the compiled rulebook and the
governing date (which chooses the parameter versions in force).
Output: the verdict and the error rate.

- any B finding: ``rejected_blocking`` (920099, refusal type 01);
- otherwise an error rate above the rulebook's ``error_rate_threshold``:
  ``rejected_threshold`` (920099, refusal type 02);
- otherwise any F or R finding: ``accepted_with_errors`` (920098: F refuses the invoice,
  R the line);
- otherwise ``accepted`` (S and E findings are signals that refuse nothing).

The error rate's basis is the rulebook's ``error_rate_basis``: ``invoices`` (share of
invoices with an F or R finding), ``records`` (share of records with an F or R finding) or
``amounts`` (share of the asked amounts that the F and R findings refuse, in absolute value,
as the rulebook's ``amounts`` declaration totals them).
Both parameters are required of every rulebook (compile-time check ``verdict-parameter``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from compiler import Compiled
    from validator.report import AmountsResult
    from validator.tally import Tally

THRESHOLD, BASIS = "error_rate_threshold", "error_rate_basis"
BASES = (b"invoices", b"records", b"amounts")
REFUSING = frozenset({"F", "R"})


def error_rate(
    compiled: Compiled,
    tally: Tally,
    *,
    invoices: int,
    records: int,
    date: int,
    amounts: AmountsResult | None = None,
) -> float:
    basis = compiled.param_value(BASIS, date)
    if basis == b"amounts":
        asked = (
            sum(abs(s.asked) for d in amounts.destinations for _, s in d.accounts) if amounts else 0
        )
        no = (
            sum(abs(s.refused) for d in amounts.destinations for _, s in d.accounts)
            if amounts
            else 0
        )
        return no / asked if asked else 0.0
    if basis == b"records":
        refused, total = len(tally.refusing_records), records
    else:
        refused, total = len(tally.refusing_invoices), invoices
    return refused / total if total else 0.0


def decide(compiled: Compiled, tally: Tally, rate: float, date: int) -> str:
    letters = {letter for letter, count in tally.by_letter.items() if count}
    if "B" in letters:
        return "rejected_blocking"
    threshold = compiled.param_value(THRESHOLD, date)
    if isinstance(threshold, float) and rate > threshold:
        return "rejected_threshold"
    if letters & REFUSING:
        return "accepted_with_errors"
    return "accepted"
