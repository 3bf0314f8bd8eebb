"""A campaign over every baseline and mutant, the reference and four simulated insurers with
planted deviations: the matrix reports exactly the planted cells, with their states and the
divergence classes they make; the reference row is all ``match``.

Planted: oa100 does not apply rule 200301; oa300 truncates the error percentage instead of
rounding it; oa500 answers refusal type 02 instead of 01 on one case; oa900 sends one 920099
cut short and never answers one case.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from campaign import CampaignError, Campaigns, Store
from compiler import Compiled
from tests.campaign_world import (
    answers,
    percentage_pair,
    report_of,
    set_role_zone,
    without_rule,
)

SLUG = "planted"
RULE = "200301"  # a B rule of ET20 whose findings are never truncated away (checked below)
INSURERS = ("oa100", "oa300", "oa500", "oa900")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, compiled: Compiled) -> Iterator[Any]:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('planted')}/c.db")
    cs = Campaigns(store, compiled)
    cs.create(SLUG)
    for key in INSURERS:
        cs.add_participant(SLUG, key, role="insurer", name=key.upper())
    cs.move(SLUG, "freeze")
    lacking = without_rule(compiled, RULE)
    planted: dict[str, dict[str, str]] = {k: {} for k in INSURERS}
    refused_case = unreadable_case = silent_case = None
    for key in INSURERS:
        for item in cs.manifest(SLUG, key):
            case, today = item["case"], item["today"]
            # a conforming insurer answers what the rulebook writes for its file
            sent = cs.expected_messages(SLUG, key, case)
            if key == "oa100":
                _name, content = cs.instance_file(SLUG, key, case)
                report = report_of(compiled, content, today)
                if RULE in {f.code for f in report.findings}:
                    for f in report.findings:
                        if f.code == RULE:  # precondition: its record's answer shows it
                            same = [g for g in report.findings if g.record == f.record]
                            assert len(same) <= 3, case
                    planted[key][case] = "verdict-differs" if case == f"mutant/{RULE}" else "?"
                sent = answers(lacking, content, report_of(lacking, content, today))
            elif key == "oa300" and any(
                m[:6] in (b"920098", b"920099") and m[140 + 67 : 145 + 67] != b"00000"
                for _n, m in sent
            ):
                _name, content = cs.instance_file(SLUG, key, case)
                rounded, truncated = percentage_pair(report_of(compiled, content, today))
                if rounded != truncated:
                    planted[key][case] = "percentage-differs"
                sent = [
                    (n, set_role_zone(compiled, m, "percentage", f"{truncated:05d}"))
                    if m[:6] in (b"920098", b"920099")
                    else (n, m)
                    for n, m in sent
                ]
            elif (
                key == "oa500"
                and refused_case is None
                and item["expectation"]["refusal_type"] == "01"
            ):
                refused_case = case
                planted[key][case] = "verdict-differs"
                sent = [
                    (n, set_role_zone(compiled, m, "refusal", "02") if m[:6] == b"920099" else m)
                    for n, m in sent
                ]
            elif key == "oa900" and item["expectation"]["message"] == "920099":
                if unreadable_case is None:
                    unreadable_case = case
                    planted[key][case] = "unreadable"
                    sent = [(n, m[:-10] if m[:6] == b"920099" else m) for n, m in sent]
                elif silent_case is None:
                    silent_case = case
                    planted[key][case] = "pending"
                    sent = []
            for name, message in sent:
                submit(cs, key, case, f"{key}-{name}", message)
    yield (
        cs,
        planted,
        {"refused": refused_case, "unreadable": unreadable_case, "silent": silent_case},
    )
    store.close()


def submit(cs: Campaigns, key: str, case: str, name: str, message: bytes) -> None:
    """As a participant does: matched by the references the message repeats, else (an
    acknowledgement of the file whose sender reference the case edits) by ``--case``."""
    try:
        cs.submit(SLUG, key, name, message)
    except CampaignError as exc:
        assert exc.code == "unmatched-answer" and case == "mutant/204-11", (case, exc)
        cs.submit(SLUG, key, name, message, case_key=case)


def non_matching(matrix: dict[str, Any], participant: str) -> dict[str, str]:
    return {
        c["case"]: c["state"]
        for c in matrix["cells"]
        if c["participant"] == participant and c["state"] != "match"
    }


def test_reference_row_is_all_match(world: Any) -> None:
    cs, _planted, _ = world
    matrix = cs.matrix(SLUG)
    reference = [c for c in matrix["cells"] if c["participant"] == "reference"]
    assert len(reference) == len(matrix["cases"]) > 580
    assert {c["state"] for c in reference} == {"match"}


def test_exactly_the_planted_cells(world: Any) -> None:
    cs, planted, cases = world
    matrix = cs.matrix(SLUG)
    for key in INSURERS:
        found = non_matching(matrix, key)
        assert set(found) == set(planted[key]), key
        for case, state in planted[key].items():
            if state != "?":
                assert found[case] == state, (key, case)
    # rule 200301 not applied: its own mutant is accepted (verdict), elsewhere its code lacks
    assert set(non_matching(matrix, "oa100").values()) <= {"verdict-differs", "codes-differ"}
    assert planted["oa300"], "no case where truncating the percentage changes it"
    cell = next(
        c
        for c in matrix["cells"]
        if c["participant"] == "oa300" and c["state"] == "percentage-differs"
    )
    assert cell["diff"]["percentage"]["rounding"] is True
    refused = next(
        c for c in matrix["cells"] if c["participant"] == "oa500" and c["case"] == cases["refused"]
    )
    assert refused["diff"]["verdict"] == {"expected": "920099/01", "observed": "920099/02"}
    unreadable = next(
        c
        for c in matrix["cells"]
        if c["participant"] == "oa900" and c["case"] == cases["unreadable"]
    )
    assert "characters, not 800" in unreadable["diff"]["unreadable"]["answer"]


def test_divergence_classes(world: Any) -> None:
    cs, planted, cases = world
    matrix = cs.matrix(SLUG)
    by_case = {c["key"]: c["divergence"] for c in matrix["cases"]}
    for case, divergence in by_case.items():
        dissent = sorted(k for k in ("oa100", "oa300", "oa500") if case in planted[k])
        incomplete = ["oa900"] if case in (cases["unreadable"], cases["silent"]) else []
        assert divergence["incomplete"] == incomplete, case
        if not dissent:
            assert divergence["class"] == "agree", case
        elif len(dissent) == 1:
            assert divergence["class"] == "lone-dissent", case
            assert [dissent] in [divergence["groups"][1:]], case
        else:
            assert divergence["class"] == "split", case
    assert by_case[f"mutant/{RULE}"]["groups"][0][0] == "reference"


def test_missing_after_the_round_closes(world: Any, tmp_path: Path) -> None:
    cs, _planted, cases = world
    before = cs.matrix(SLUG, only=["participant=oa900", "state=pending"])
    assert [c["case"] for c in before["cells"]] == [cases["silent"]]
    cs.move(SLUG, "review")
    after = cs.matrix(SLUG)
    assert non_matching(after, "oa900")[cases["silent"]] == "missing"
    assert cs.recompute(SLUG)["changed"] == 0  # the stored cells are the observations' cells
    counts = next(p for p in after["participants"] if p["key"] == "oa900")["counts"]
    assert counts["missing"] == 1 and counts["unreadable"] == 1
