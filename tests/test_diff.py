"""rulebook diff: each kind of change, formatting-only edits, git revisions, and replay."""

from __future__ import annotations

import functools
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from compiler import Compiled, compile_rulebook
from rulebook.load import load
from tests.commands import ROOT, copy_book
from tests.commands import rulebook as run_rulebook
from versions.diff import Diff, diff

WRONG = ROOT / "examples" / "wrong-niss.920000"


rulebook = functools.partial(run_rulebook, timeout=300)


def edit(book: Path, relative: str, old: str, new: str, count: int = 1) -> None:
    path = book / relative
    text = path.read_text("utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), "utf-8")


@pytest.fixture(scope="module")
def shipped() -> Compiled:
    return compile_rulebook(load([ROOT]))


def changed(tmp_path: Path, shipped: Compiled, change: Callable[[Path], None]) -> Diff:
    book = copy_book(tmp_path / "new")
    change(book)
    return diff(shipped, compile_rulebook(load([book])))


def test_formatting_only_edits_give_an_empty_diff(tmp_path: Path, shipped: Compiled) -> None:
    def reformat(book: Path) -> None:
        for path in (book / "instructions").glob("*.rules"):
            text = path.read_text("utf-8")
            text = re.sub(r"(?m)^(  require .*)$", r"\1   # reviewed", text)  # comments
            text = re.sub(r"(?m)^  require ", "  require   ", text)  # spacing
            path.write_text("# a new header comment\n\n" + text, "utf-8")
        layout = book / "record_layouts" / "et10-et25.layout"
        layout.write_text(layout.read_text("utf-8").replace(" N 2   @1 ", " N 2 @1 "), "utf-8")
        rules = book / "instructions" / "et20.rules"  # items in another order
        items = rules.read_text("utf-8").split("\n\nrule ")
        rules.write_text(items[0] + "\n\nrule " + "\n\nrule ".join(reversed(items[1:])), "utf-8")

    result = changed(tmp_path, shipped, reformat)
    assert result.empty, result.to_text()


def test_rule_condition_letter_label_period(tmp_path: Path, shipped: Compiled) -> None:
    def change(book: Path) -> None:
        edit(
            book,
            "instructions/et20.rules",
            "  require niss_ok(beneficiary_id)\n",
            "  require niss_ok(beneficiary_id) or beneficiary_id_flag = 0\n",
        )
        edit(
            book,
            "instructions/et20.rules",
            "rule 200901 B on ET20 zone 9\n",
            "rule 200901 B on ET20 zone 9 from 2027-01\n",
        )

    result = changed(tmp_path, shipped, change)
    rules = {i.name: i for i in result.of("rule")}
    assert set(rules) == {"200802", "200901"}
    (condition,) = rules["200802"].changes
    assert condition.what == "condition" and "beneficiary_id_flag" in condition.new
    assert [(c.what, c.old, c.new) for c in rules["200901"].changes] == [
        ("period", "-..-", "2027-01-01..-")
    ]
    assert rules["200802"].source is not None and rules["200802"].source.startswith(
        "instructions/et20.rules:"
    )


def test_rules_added_and_removed(tmp_path: Path, shipped: Compiled) -> None:
    def change(book: Path) -> None:
        text = (book / "instructions" / "et20.rules").read_text("utf-8")
        start = text.index("rule 200901 B on ET20 zone 9")
        end = text.index("\n\n", start)
        (book / "instructions" / "et20.rules").write_text(text[:start] + text[end + 2 :], "utf-8")
        with (book / "instructions" / "et20.rules").open("a", encoding="utf-8") as f:
            f.write(
                "\nrule 200303 F on ET20 zone 3\n  require third_party_authorisation in (0, 1)\n"
                "  mutant set ET20.third_party_authorisation = 5\n"
            )

    result = changed(tmp_path, shipped, change)
    assert {(i.name, i.status) for i in result.of("rule")} == {
        ("200901", "removed"),
        ("200303", "added"),
    }


def test_tables_and_parameters_value_by_value(tmp_path: Path, shipped: Compiled) -> None:
    def change(book: Path) -> None:
        edit(
            book,
            "instructions/rulebook.rules",
            "  from 2000-01 values 1, 3, 4, 5, 6, 7, 9\n",
            "  from 2000-01 values 1, 3, 4, 5, 6, 8, 9\n",
        )
        edit(
            book,
            "instructions/rulebook.rules",
            "  from 2000-01 value 5%\n",
            "  from 2000-01 value 10%\n",
        )

    result = changed(tmp_path, shipped, change)
    (table,) = result.of("table")
    assert (table.name, [(c.what, c.old, c.new) for c in table.changes]) == (
        "invoice_types",
        [("values 2000-01-01..-", [7], [8])],
    )
    (param,) = result.of("parameter")
    assert (param.name, [(c.what, c.old, c.new) for c in param.changes]) == (
        "error_rate_threshold",
        [("value 2000-01-01..-", "5%", "10%")],
    )


def test_amounts_declaration(tmp_path: Path, shipped: Compiled) -> None:
    def change(book: Path) -> None:
        edit(book, "instructions/rulebook.rules", "  lines ET30 ET50 amount", "  lines ET50 amount")

    result = changed(tmp_path, shipped, change)
    (item,) = result.of("amounts")
    assert [(c.what, len(c.old), len(c.new)) for c in item.changes] == [("lines", 2, 1)]


def test_layouts_zone_by_zone(tmp_path: Path, shipped: Compiled) -> None:
    def change(book: Path) -> None:
        edit(
            book,
            "record_layouts/et10-et25.layout",
            '"Numéro de l\'envoi" / "Nummer van de zending"',
            '"Numéro d\'envoi" / "Nummer van de zending"',
        )

    result = changed(tmp_path, shipped, change)
    (layout,) = result.of("layout")
    assert layout.name == "ET10"
    (zone,) = layout.changes
    assert zone.what == "zone 7" and "Numéro d'envoi" in zone.new


def test_cli_diff_json_and_git_revisions(tmp_path: Path) -> None:
    head = tmp_path / "head"
    head.mkdir()
    archive = subprocess.run(
        ["git", "archive", "HEAD", "instructions", "record_layouts"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(head)], input=archive.stdout, check=True)
    same = rulebook("diff", "HEAD", str(head), "--format", "json")
    assert same.returncode == 0, same.stderr
    payload = json.loads(same.stdout)
    assert payload["empty"] is True and payload["rules"] == []
    book = copy_book(tmp_path / "book")
    edit(
        book,
        "instructions/rulebook.rules",
        "  from 2000-01 value 5%\n",
        "  from 2000-01 value 10%\n",
    )
    text = rulebook("diff", ".", str(book))
    assert text.returncode == 1
    assert "~ error_rate_threshold changed" in text.stdout
    assert "value 2000-01-01..-: 5% -> 10%" in text.stdout
    bad = rulebook("diff", "no-such-revision", ".")
    assert bad.returncode == 2
    assert "OLD: no-such-revision: neither a directory, a git revision" in bad.stderr


def test_replay_names_the_parameter_that_changed_the_verdict(tmp_path: Path) -> None:
    book = copy_book(tmp_path / "book")
    edit(
        book,
        "instructions/rulebook.rules",
        "  from 2000-01 value 5%\n",
        "  from 2000-01 value 50%\n",
    )
    result = rulebook(
        "diff", ".", str(book), "--replay", str(WRONG), "--today", "2026-11-01", "--format", "json"
    )
    assert result.returncode == 1, result.stderr
    (outcome,) = json.loads(result.stdout)["replay"]
    assert outcome["verdict"] == {"old": "rejected_threshold", "new": "accepted_with_errors"}
    assert outcome["causes"] == ["parameter error_rate_threshold changed"]


def test_replay_names_the_rule_that_changed_the_findings(tmp_path: Path) -> None:
    book = copy_book(tmp_path / "book")
    for record in ("et20.rules", "et80.rules"):
        text = (book / "instructions" / record).read_text("utf-8")
        code = "200802" if record == "et20.rules" else "800802"
        start = text.index(f"rule {code} ")
        end = text.index("\n\n", start)
        (book / "instructions" / record).write_text(text[:start] + text[end + 2 :], "utf-8")
    (book / "instructions" / "questions.rules").unlink()  # the questions about them
    for path in (book / "instructions").glob("*.rules"):  # mutants that named them
        path.write_text(path.read_text("utf-8").replace(" also 800802", ""), "utf-8")
    result = rulebook("diff", ".", str(book), "--replay", str(WRONG), "--today", "2026-11-01")
    assert result.returncode == 1, result.stderr
    assert "replay: 1 of 1 file(s) change" in result.stdout
    assert f"{WRONG}: rejected_threshold -> accepted" in result.stdout
    assert "  - F 200802 record 2 zone 8  (cause: rule 200802 removed)" in result.stdout
    assert "  - F 800802 record 5 zone 8  (cause: rule 800802 removed)" in result.stdout


def test_the_readme_example_a_release_against_head() -> None:
    """Releases are git tags (v2026.1) and, without the tag, found in the history by the
    rulebook's own release declarations: the README's example works."""
    for old in ("v2026.1", "2026.1"):
        result = rulebook("diff", old, "HEAD", "--format", "json")
        assert result.returncode == 1, result.stderr
        payload = json.loads(result.stdout)
        assert payload["old"] == "2026.1" and payload["new"] != "2026.1"
        assert "amounts" in payload and "amountss" not in payload
    unknown = rulebook("diff", "1999.1", "HEAD")
    assert unknown.returncode == 2 and "nor a release" in unknown.stderr


def test_conditions_in_words_and_the_broken_side_named(tmp_path: Path) -> None:
    book = copy_book(tmp_path / "book")
    edit(
        book,
        "instructions/et20.rules",
        "  require niss_ok(beneficiary_id)\n",
        "  require niss_ok(beneficiary_id) or beneficiary_id_flag = 0\n",
    )
    fr = rulebook("diff", ".", str(book))
    assert "      condition:" in fr.stdout and "(and " not in fr.stdout and "self:" not in fr.stdout
    assert "        + " in fr.stdout and " ou « " in fr.stdout
    nl = rulebook("diff", ".", str(book), "--lang", "nl")
    assert " of « " in nl.stdout
    payload = json.loads(rulebook("diff", ".", str(book), "--format", "json").stdout)
    (change,) = next(r for r in payload["rules"] if r["name"] == "200802")["changes"]
    assert change["in_words"]["fr"]["new"].endswith("est égal à 0")
    assert change["old"].startswith("(")  # the compiled notation stays, for tools
    broken = copy_book(tmp_path / "broken")
    edit(broken, "instructions/et20.rules", "  require niss_ok(beneficiary_id)\n", "  require\n")
    result = rulebook("diff", ".", str(broken))
    assert result.returncode == 2
    assert f"NEW ({broken}) does not compile" in result.stderr
    assert "OLD" not in result.stderr
