"""Comparing what a participant answered with what the rulebook expects: a cell's state.

Input: the compiled rulebook, an instance's expectation (``campaign.instances``: the outcome
of each expected message, the findings an echoed record had no room for) and the latest
observation of each slot (``campaign.outcome``), or what stood in for one (an unreadable
message, a harness error).
Output: the cell's state, worst first (``STATES``), and its detail: what differs, record by
record, in the pinned rulebook's terms. Two rules keep noise out: an echoed record carries at
most as many errors as its block holds, so where the rulebook found more, any that many of
them match (``truncated``); a code of the official list that no rule of the rulebook reports
does not make a cell fail (``unmodelled``), it is listed for the rulebook's backlog.
"""

from __future__ import annotations

from typing import Any

from compiler import Compiled

# worst first; a cell is green only when 'match'
STATES = (
    "missing",
    "pending",
    "unreadable",
    "errored",
    "verdict-differs",
    "codes-differ",
    "percentage-differs",
    "amounts-differ",
    "match",
)
RANK = {s: i for i, s in enumerate(STATES)}
NOT_ANSWERED = ("missing", "pending", "unreadable", "errored")


def worst(states: list[str]) -> str:
    return min(states, key=RANK.__getitem__) if states else "match"


def verdict(outcome: dict[str, Any]) -> str:
    refusal = outcome.get("refusal_type")
    return str(outcome["message"]) + (f"/{refusal}" if refusal else "")


class Codes:
    """Sorts the codes an insurer gave that the rulebook did not expect."""

    def __init__(self, compiled: Compiled) -> None:
        self.modelled = frozenset(compiled.codes)
        self.official = compiled.official_codes

    def split(self, extra: set[tuple[str, str]]) -> tuple[list[list[str]], list[list[str]]]:
        """(extra codes that count, codes of the official list no rule reports)."""
        counted = sorted([p[0], p[1]] for p in extra if not self.unmodelled(p[1]))
        ignored = sorted([p[0], p[1]] for p in extra if self.unmodelled(p[1]))
        return counted, ignored

    def unmodelled(self, code: str) -> bool:
        return code not in self.modelled and code in self.official


def _pairs(items: list[list[str]] | None) -> set[tuple[str, str]]:
    return {(p[0], p[1]) for p in items or []}


def _codes_diff(
    codes: Codes,
    expected: dict[str, Any],
    observed: dict[str, Any],
    full: dict[str, list[list[str]]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per record and per segment: missing, extra and unmodelled (letter, code) pairs."""
    records: list[dict[str, Any]] = []
    exp = {(r["record"], r["record_type"]): r for r in expected.get("records", [])}
    obs = {(r["record"], r["record_type"]): r for r in observed.get("records", [])}
    for key in sorted(exp.keys() | obs.keys(), key=lambda k: (k[0] is None, k[0] or 0, k[1])):
        written = _pairs(exp[key]["errors"]) if key in exp else set()
        seen = _pairs(obs[key]["errors"]) if key in obs else set()
        everything = _pairs(full.get(str(key[0]))) | written
        truncated = len(everything) > len(written)
        if truncated:  # any len(written) of everything will do
            short = len(seen & everything) < len(written)
            missing = sorted(everything - seen) if short else []
        else:
            missing = sorted(written - seen)
        counted, unmodelled = codes.split(seen - everything)
        if missing or counted or unmodelled:
            entry: dict[str, Any] = {
                "record": key[0],
                "record_type": key[1],
                "missing": [list(p) for p in missing],
                "extra": counted,
                "unmodelled": unmodelled,
            }
            if truncated:
                entry["truncated"] = {"expected_any": len(written), "of": len(everything)}
            records.append(entry)
    segments: list[dict[str, Any]] = []
    exp_seg, obs_seg = expected.get("segments", {}), observed.get("segments", {})
    for name in sorted(exp_seg.keys() | obs_seg.keys()):
        want, got = _pairs(exp_seg.get(name)), _pairs(obs_seg.get(name))
        counted, unmodelled = codes.split(got - want)
        missing = sorted(want - got)
        if missing or counted or unmodelled:
            segments.append(
                {
                    "segment": name,
                    "missing": [list(p) for p in missing],
                    "extra": counted,
                    "unmodelled": unmodelled,
                }
            )
    return records, segments


def _failing(parts: list[dict[str, Any]]) -> bool:
    return any(p["missing"] or p["extra"] for p in parts)


def _percentage(expected: Any, observed: Any) -> dict[str, Any] | None:
    if expected is None:  # a declared expectation may leave it open
        return None
    if expected == observed:
        return None
    try:
        gap = abs(int(expected) - int(observed))
    except (TypeError, ValueError):
        gap = None
    if gap == 0:
        return None
    return {"expected": expected, "observed": observed, "rounding": gap == 1}


def compare(
    compiled: Compiled, expected: dict[str, Any], latest: dict[str, dict[str, Any]]
) -> tuple[str, dict[str, Any]]:
    """The state and detail of a cell from the latest observation of each slot (``ack``,
    ``answer``, ``settlement``; an observation may be ``{"unreadable": text}`` or
    ``{"errored": …}``). Without an answer the state is ``pending`` (the caller turns it into
    ``missing`` once the round's deadline has passed)."""
    codes = Codes(compiled)
    detail: dict[str, Any] = {}
    states: list[str] = []
    notes: list[str] = []
    answer = latest.get("answer")
    for slot in ("ack", "answer", "settlement"):
        seen = latest.get(slot)
        if seen is not None and "unreadable" in seen:
            states.append("unreadable")
            detail.setdefault("unreadable", {})[slot] = seen["unreadable"]
    if answer is None:
        states.append("pending")
        if latest.get("ack") is not None:
            notes.append("acknowledgement only: the answer has not been submitted")
    elif "errored" in answer:
        states.append("errored")
        detail["errored"] = answer["errored"]
    elif "unreadable" not in answer:
        want = expected["answer"]
        if verdict(want) != verdict(answer):
            states.append("verdict-differs")
            detail["verdict"] = {"expected": verdict(want), "observed": verdict(answer)}
        records, segments = _codes_diff(codes, want, answer, expected.get("full", {}))
        if records:
            detail["records"] = records
        if segments:
            detail["segments"] = segments
        if _failing(records) or _failing(segments):
            states.append("codes-differ")
        gap = _percentage(want.get("error_percentage"), answer.get("error_percentage"))
        if gap is not None and verdict(want) == verdict(answer):
            states.append("percentage-differs")
            detail["percentage"] = gap
        if records or segments:
            unmodelled = sorted(
                {p[1] for part in (*records, *segments) for p in part["unmodelled"]}
            )
            if unmodelled:
                detail["unmodelled"] = unmodelled
    ack = latest.get("ack")
    if ack is None:
        if answer is not None:
            notes.append("no acknowledgement submitted")
    elif "unreadable" not in ack and expected.get("ack") is not None:
        _records, segments = _codes_diff(codes, expected["ack"], ack, {})
        if segments:
            detail["ack"] = segments
            if _failing(segments):
                states.append("codes-differ")
    settled = latest.get("settlement")
    if settled is not None and "unreadable" not in settled:
        want_settled = expected.get("settlement")
        if want_settled is None:
            states.append("amounts-differ")
            detail["amounts"] = {"expected": None, "observed": settled.get("settlement")}
        elif want_settled.get("settlement") != settled.get("settlement"):
            states.append("amounts-differ")
            detail["amounts"] = {
                "expected": want_settled.get("settlement"),
                "observed": settled.get("settlement"),
            }
    elif settled is None and answer is not None and expected.get("settlement") is not None:
        notes.append("no settlement submitted: amounts not compared")
    if notes:
        detail["notes"] = notes
    return worst(states), detail
