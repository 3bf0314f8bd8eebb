"""Authoring one file: ``rulebook check FILE --with-shipped`` checks it on top of the shipped
rulebook (a file named like a shipped one replaces it), paths are shown from the current
directory, suggestions name what was meant, a rule without a mutant is warned about, and
``coverage`` says what its problems mean."""

from __future__ import annotations

from pathlib import Path

from tests.commands import ROOT, copy_book, rulebook

NEW_RULE = """code 209999 B "Numéro d'ordre nul" / "Volgnummer nul"

rule 209999 B on ET20 zone 2
  require order_number > 0
{mutant}"""


def test_one_new_file_on_top_of_the_shipped_rulebook(tmp_path: Path) -> None:
    (tmp_path / "attache.rules").write_text(
        NEW_RULE.format(mutant="  mutant set ET20.order_number = 0 also 200210\n"), "utf-8"
    )
    alone = rulebook("check", "attache.rules", cwd=tmp_path)
    assert alone.returncode == 1
    assert "rulebook check --with-shipped attache.rules" in alone.stdout
    done = rulebook("check", "--with-shipped", "attache.rules", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "584 rules" in done.stdout + done.stderr


def test_a_rule_without_mutant_is_warned_about_where_it_is(tmp_path: Path) -> None:
    (tmp_path / "attache.rules").write_text(NEW_RULE.format(mutant=""), "utf-8")
    done = rulebook("check", "--with-shipped", "attache.rules", cwd=tmp_path)
    assert done.returncode == 0  # a warning
    assert "attache.rules:3:1: warning: rule 209999 has no mutant" in done.stdout
    assert "[no-mutant]" in done.stdout


def test_an_edited_copy_of_a_shipped_file_replaces_it(tmp_path: Path) -> None:
    text = (ROOT / "instructions" / "et20.rules").read_text("utf-8")
    edited = text.replace("rule 200210 B on ET20 zone 2", "rule 200210 B on ET2O zone 2", 1)
    assert edited != text
    (tmp_path / "et20.rules").write_text(edited, "utf-8")
    done = rulebook("check", "--with-shipped", "et20.rules", cwd=tmp_path)
    assert done.returncode == 1
    out = done.stdout
    assert "et20.rules:" in out and "instructions/et20.rules" not in out  # from here, no dup
    assert "no layout declares ET2O" in out and "hint: did you mean 'ET20'?" in out
    assert "duplicate" not in out


def test_paths_are_shown_from_the_current_directory(tmp_path: Path) -> None:
    book = copy_book(tmp_path / "book")
    rules = book / "instructions" / "et20.rules"
    rules.write_text(rules.read_text("utf-8") + "\nrul 200299 B on ET20 zone 2\n", "utf-8")
    done = rulebook("check", "book", cwd=tmp_path)
    assert done.returncode == 1
    assert "book/instructions/et20.rules:" in done.stdout
    assert "hint: did you mean 'rule'?" in done.stdout


def test_coverage_says_what_a_problem_means(tmp_path: Path) -> None:
    (tmp_path / "attache.rules").write_text(
        NEW_RULE.format(mutant="  mutant set ET20.order_number = 0\n"), "utf-8"
    )
    book = copy_book(tmp_path / "book")
    (book / "instructions" / "attache.rules").write_text(
        (tmp_path / "attache.rules").read_text("utf-8"), "utf-8"
    )
    done = rulebook("coverage", "--rulebook", str(book), "--rule", "209999")
    assert done.returncode == 1
    assert "also reported 200210 at record" in done.stdout
    assert "add 'also 200210' to the mutant" in done.stdout
