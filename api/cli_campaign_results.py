"""``rulebook campaign`` commands for what was answered: submit, matrix, cell, diff (added to
the ``campaign`` group of ``api.cli_campaign``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from api.cli_campaign import STORE, campaign, echo_json, open_store, run, settle_status
from api.cli_common import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_UNREADABLE,
    guarded,
    rulebook_option,
    settle,
)
from campaign.core import CampaignError


@campaign.command()
@click.argument("slug")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True))
@click.option("--participant", "key", required=True)
@click.option("--case", "case_key", help="The case these messages answer (a manual match).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@STORE
@rulebook_option
@guarded
def submit(
    slug: str,
    files: tuple[str, ...],
    key: str,
    case_key: str | None,
    fmt: str,
    store_url: str | None,
    rulebook_dir: str | None,
) -> None:
    """Submit what KEY's system answered (messages or ZIPs); say which case each matched and
    the state of its cell."""
    cs = open_store(store_url, rulebook_dir)
    results = []
    refused = []
    for path in files:
        try:
            results += cs.submit(
                slug, key, Path(path).name, Path(path).read_bytes(), case_key=case_key, client="cli"
            )
        except CampaignError as exc:
            refused.append({"name": Path(path).name, "error": exc.code, "message": exc.message})
    if fmt == "json":
        echo_json({"results": [r.to_json() for r in results], "refused": refused})
    else:
        for r in results:
            extra = " (replay)" if r.replay else ""
            extra += " late" if r.late else ""
            click.echo(
                f"{r.name}: {r.message or '?'} -> {r.case}: {r.state}{extra}"
                + (f"  [{r.error}]" if r.error else "")
            )
        for item in refused:
            click.echo(f"{item['name']}: refused: {item['error']}: {item['message']}", err=True)
    if refused or any(r.error for r in results):
        settle(EXIT_UNREADABLE)
    elif any(state != "match" for state in {r.case: r.state for r in results}.values()):
        settle(EXIT_FINDINGS)  # a cell's state after the last of these messages
    raise SystemExit(settle_status())


@campaign.command()
@click.argument("slug")
@click.option("--round", "round_number", type=int, default=None)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "csv", "junit", "html"]), default="text"
)
@click.option(
    "--only",
    multiple=True,
    metavar="FILTER",
    help="divergent | failing | class=C | participant=K | letter=L | state=S | "
    "record=ETnn | kind=K (repeatable).",
)
@click.option("--out", default=None, help="A file (a folder for html); default: standard output.")
@STORE
@rulebook_option
@guarded
def matrix(
    slug: str,
    round_number: int | None,
    fmt: str,
    only: tuple[str, ...],
    out: str | None,
    store_url: str | None,
    rulebook_dir: str | None,
) -> None:
    """The matrix of a round (default: the current one). Exit 0 when every cell matches."""
    from campaign import render

    cs = open_store(store_url, rulebook_dir)
    data = run(lambda: cs.matrix(slug, round_number=round_number, only=list(only)))
    if fmt == "html":
        if out is None:
            raise click.UsageError("--format html writes a folder: give --out DIR")
        pages = run(lambda: cs.site(slug, round_number))
        write_site(Path(out), pages)
        click.echo(f"{len(pages)} pages in {out}")
    else:
        text = {
            "json": lambda: json.dumps(data, ensure_ascii=False, indent=2) + "\n",
            "text": lambda: render.text(data),
            "csv": lambda: render.to_csv(data),
            "junit": lambda: render.junit(data),
        }[fmt]()
        if out is None:
            click.echo(text, nl=False)
        else:
            write_file(Path(out), text.encode("utf-8"))
    settle(EXIT_OK if all(c["state"] == "match" for c in data["cells"]) else EXIT_FINDINGS)
    raise SystemExit(settle_status())


def write_file(path: Path, content: bytes) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(content)
    os.replace(tmp, path)


def write_site(folder: Path, pages: dict[str, str]) -> None:
    for rel, text in pages.items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        write_file(target, text.encode("utf-8"))


@campaign.command()
@click.argument("slug")
@click.argument("case_key", metavar="CASE")
@click.argument("key", metavar="PARTICIPANT")
@click.option("--round", "round_number", type=int, default=None)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@STORE
@rulebook_option
@guarded
def cell(
    slug: str,
    case_key: str,
    key: str,
    round_number: int | None,
    fmt: str,
    store_url: str | None,
    rulebook_dir: str | None,
) -> None:
    """One cell: expected and observed, record by record, with explanations."""
    from campaign.html import _errors

    cs = open_store(store_url, rulebook_dir)
    detail = run(lambda: cs.cell(slug, case_key, key, round_number=round_number))
    if fmt == "json":
        echo_json(detail)
    else:
        click.echo(
            f"{detail['case']['key']} x {detail['participant']}: {detail['state']} "
            + " ".join(detail["overlays"])
        )
        for slot in ("ack", "answer", "settlement"):
            want = (detail["expected"] or {}).get(slot)
            got = detail["observed"].get(slot)
            if want is None and got is None:
                continue
            click.echo(f"  {slot}: expected {_brief(want)}; observed {_brief(got)}")
        for r in detail["diff"].get("records", []):
            click.echo(
                f"  record {r['record']} ET{r['record_type']}: missing "
                f"{_errors(r['missing'])}; extra {_errors(r['extra'])}"
                + (f"; unmodelled {_errors(r['unmodelled'])}" if r["unmodelled"] else "")
            )
        for e in detail["diff"].get("explanations", []):
            label = (e.get("label") or {}).get("fr") or ""
            click.echo(
                f"  {e['code']} {e.get('letter') or ''} {label} "
                f"({e.get('rule_source') or 'no rule'})"
            )
        for n in detail["notes"]:
            click.echo(f"  note {n['kind']} by {n['author']}: {n['text']}")
    settle(EXIT_OK if detail["state"] == "match" else EXIT_FINDINGS)
    raise SystemExit(settle_status())


def _brief(outcome: dict[str, Any] | None) -> str:
    if outcome is None:
        return "—"
    if "unreadable" in outcome:
        return f"unreadable ({outcome['unreadable']})"
    if "errored" in outcome:
        return f"errored ({outcome['errored']})"
    refusal = outcome.get("refusal_type")
    return f"{outcome['message']}{'/' + refusal if refusal else ''}"


@campaign.command()
@click.argument("first")
@click.argument("second")
@click.argument("third", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@STORE
@rulebook_option
@guarded
def diff(
    first: str,
    second: str,
    third: str | None,
    fmt: str,
    store_url: str | None,
    rulebook_dir: str | None,
) -> None:
    """SLUG ROUND_A ROUND_B: cells fixed, broken or changed between two rounds;
    SLUG_A SLUG_B: between two campaigns, aligned on case keys."""
    cs = open_store(store_url, rulebook_dir)
    if third is not None:
        if not (second.isdecimal() and third.isdecimal()):
            raise click.UsageError("SLUG ROUND_A ROUND_B takes round numbers")
        result = run(lambda: cs.diff_rounds(first, int(second), int(third)))
    else:
        result = run(lambda: cs.diff_campaigns(first, second))
    if fmt == "json":
        echo_json(result)
    else:
        a, b = result["from"], result["to"]
        click.echo(
            f"{a['campaign']} round {a['round']} -> {b['campaign']} round {b['round']}: "
            + ", ".join(f"{k} {v}" for k, v in result["counts"].items())
        )
        for kind in ("fixed", "broken", "changed", "added", "removed"):
            for item in result[kind]:
                click.echo(
                    f"  {kind:<8} {item['case']} x {item['participant']}: "
                    f"{item['from']} -> {item['to']}"
                )
    settle(EXIT_OK if not result["broken"] else EXIT_FINDINGS)
    raise SystemExit(settle_status())
