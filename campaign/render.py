"""The matrix as text, CSV and JUnit XML: renderings of the matrix JSON, nothing more.

Input: the matrix JSON (``campaign.matrix.build``).
Output: text (a table readable without colour: a glyph and a short text per cell), CSV (one
row per cell, the columns of its detail) and JUnit XML (one test suite per participant, one
test case per case: ``match`` passes; unreadable and errored answers are errors; everything
else, pending and missing included, a failure — never green by absence).
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from typing import Any

GLYPHS = {
    "match": "✓",
    "codes-differ": "≠",
    "verdict-differs": "✗",
    "percentage-differs": "%",
    "amounts-differ": "€",
    "pending": "…",
    "missing": "—",
    "unreadable": "?",
    "errored": "!",
}
OVERLAY_GLYPHS = {
    "disputed": "⚑",
    "waived": "⤳",
    "waiver-requested": "⤳?",
    "overridden": "⊘",
    "late": "⌛",
}


def short(cell: dict[str, Any]) -> str:
    """A cell in a few characters: glyph, then what differs (``≠ −200802 +200803``)."""
    state = str(cell["state"])
    diff = cell.get("diff", {})
    text = GLYPHS.get(state, state)
    if state == "verdict-differs":
        v = diff.get("verdict", {})
        text += f" {v.get('observed')}≠{v.get('expected')}"
    elif state == "codes-differ":
        missing = sorted(
            {
                p[1]
                for r in (*diff.get("records", []), *diff.get("segments", []))
                for p in r["missing"]
            }
        )
        extra = sorted(
            {
                p[1]
                for r in (*diff.get("records", []), *diff.get("segments", []))
                for p in r["extra"]
            }
        )
        text += "".join(f" −{c}" for c in missing[:2]) + "".join(f" +{c}" for c in extra[:2])
    elif state == "percentage-differs":
        p = diff.get("percentage", {})
        text += f" {p.get('observed')}≠{p.get('expected')}"
    overlays = "".join(OVERLAY_GLYPHS.get(o, "") for o in cell.get("overlays", []))
    return text + (f" {overlays}" if overlays else "")


def text(matrix: dict[str, Any]) -> str:
    c = matrix["campaign"]
    lines = [
        f"campaign {c['slug']} ({c['status']}, round {c['round']}"
        f"{', closed' if c['round_closed'] else ''}) — rulebook {c['rulebook']['version']} "
        f"{c['rulebook']['hash']}",
    ]
    people = [p["key"] for p in matrix["participants"]]
    for p in matrix["participants"]:
        counts = ", ".join(f"{k} {v}" for k, v in p["counts"].items()) or "no cell"
        lines.append(f"  {p['key']:<14} {p['label']:<10} {p['role']:<10} {counts}")
    if matrix.get("others"):
        o = matrix["others"]
        counts = ", ".join(f"{k} {v}" for k, v in o["counts"].items())
        lines.append(f"  {o['participants']} other participant(s): {counts}")
    by_case: dict[str, dict[str, str]] = {}
    for cell in matrix["cells"]:
        by_case.setdefault(cell["case"], {})[cell["participant"]] = short(cell)
    width = max([len(k["key"]) for k in matrix["cases"]] + [4])
    cols = [max(len(p), 12) for p in people]
    lines.append("")
    lines.append(
        f"{'case':<{width}}  L  {'divergence':<18}"
        + "".join(f"  {p:<{w}}" for p, w in zip(people, cols, strict=True))
    )
    for case in matrix["cases"]:
        d = case["divergence"]
        klass = (d["class"] or "-") + (" +incomplete" if d["incomplete"] else "")
        letter = (case["rule"] or {}).get("letter") or " "
        row = by_case.get(case["key"], {})
        lines.append(
            f"{case['key']:<{width}}  {letter}  {klass:<18}"
            + "".join(f"  {row.get(p, ''):<{w}}" for p, w in zip(people, cols, strict=True))
        )
    if matrix["unmodelled_codes"]:
        lines.append("")
        lines.append("codes the rulebook does not model yet:")
        for u in matrix["unmodelled_codes"]:
            label = (u.get("label") or {}).get("fr") or ""
            lines.append(
                f"  {u['code']}  {', '.join(u['participants'])}  {u['cases']} case(s)  {label}"
            )
    lines.append("")
    lines.append(f"matrix sha256 {matrix['matrix_sha256']}")
    return "\n".join(lines) + "\n"


CSV_COLUMNS = (
    "case",
    "kind",
    "rule",
    "letter",
    "record_type",
    "participant",
    "state",
    "overlays",
    "expected",
    "observed",
    "missing",
    "extra",
    "unmodelled",
    "percentage_expected",
    "percentage_observed",
    "divergence",
    "submission",
    "sha256",
    "received_at",
)


def _pairs(cell: dict[str, Any], key: str) -> str:
    diff = cell.get("diff", {})
    return " ".join(
        f"{r.get('record', r.get('segment'))}:{p[0]}{p[1]}"
        for r in (*diff.get("records", []), *diff.get("segments", []))
        for p in r.get(key, [])
    )


def to_csv(matrix: dict[str, Any]) -> str:
    cases = {c["key"]: c for c in matrix["cases"]}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for cell in matrix["cells"]:
        case = cases[cell["case"]]
        rule = case["rule"] or {}
        want = case["expectation"]
        diff = cell.get("diff", {})
        verdict = diff.get("verdict", {})
        expected = f"{want.get('message')}/{want.get('refusal_type') or ''}".rstrip("/")
        percentage = diff.get("percentage", {})
        writer.writerow(
            [
                cell["case"],
                case["kind"],
                rule.get("code", ""),
                rule.get("letter", ""),
                rule.get("record_type", ""),
                cell["participant"],
                cell["state"],
                " ".join(cell["overlays"]),
                expected,
                verdict.get(
                    "observed",
                    expected
                    if cell["state"] not in ("pending", "missing", "unreadable", "errored")
                    else "",
                ),
                _pairs(cell, "missing"),
                _pairs(cell, "extra"),
                _pairs(cell, "unmodelled"),
                percentage.get("expected", ""),
                percentage.get("observed", ""),
                case["divergence"]["class"] or "",
                cell["submission"] or "",
                cell["sha256"] or "",
                cell["received_at"] or "",
            ]
        )
    return out.getvalue()


def junit(matrix: dict[str, Any]) -> str:
    slug = matrix["campaign"]["slug"]
    root = ET.Element("testsuites", name=f"campaign {slug}")
    by_participant: dict[str, list[dict[str, Any]]] = {}
    for cell in matrix["cells"]:
        by_participant.setdefault(cell["participant"], []).append(cell)
    for participant, cells in by_participant.items():
        failures = sum(c["state"] not in ("match", "unreadable", "errored") for c in cells)
        errors = sum(c["state"] in ("unreadable", "errored") for c in cells)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=participant,
            tests=str(len(cells)),
            failures=str(failures),
            errors=str(errors),
        )
        for cell in cells:
            case = ET.SubElement(
                suite, "testcase", classname=f"{slug}.{participant}", name=cell["case"]
            )
            if cell["state"] == "match":
                continue
            tag = "error" if cell["state"] in ("unreadable", "errored") else "failure"
            element = ET.SubElement(case, tag, message=short(cell), type=cell["state"])
            element.text = _detail_text(cell)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _detail_text(cell: dict[str, Any]) -> str:
    diff = cell.get("diff", {})
    lines = [f"state: {cell['state']}"]
    if "verdict" in diff:
        lines.append(
            f"verdict: expected {diff['verdict']['expected']}, "
            f"observed {diff['verdict']['observed']}"
        )
    for r in (*diff.get("records", []), *diff.get("segments", [])):
        where = f"record {r['record']} (ET{r['record_type']})" if "record" in r else r["segment"]
        for key in ("missing", "extra", "unmodelled"):
            if r.get(key):
                lines.append(f"{where}: {key} " + ", ".join(f"{p[0]} {p[1]}" for p in r[key]))
    if "percentage" in diff:
        p = diff["percentage"]
        lines.append(f"error percentage: expected {p['expected']}, observed {p['observed']}")
    for key in ("unreadable", "errored"):
        if key in diff:
            lines.append(f"{key}: {diff[key]}")
    for note in diff.get("notes", []):
        lines.append(note)
    return "\n".join(lines)
