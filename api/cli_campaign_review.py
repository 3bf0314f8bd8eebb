"""``rulebook campaign`` commands for review and automation: notes, decisions, the audit
log, recomputation, export and verification, and the harness (added to the ``campaign``
group of ``api.cli_campaign``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from api.cli_campaign import STORE, campaign, echo_json, open_store, run, settle_status
from api.cli_common import (
    EXIT_FINDINGS,
    EXIT_OK,
    compiled_rulebook,
    guarded,
    rulebook_option,
    settle,
)
from campaign.core import COORDINATOR


@campaign.command()
@click.argument("slug")
@click.argument("case_key", metavar="CASE")
@click.argument("key", metavar="[PARTICIPANT]", required=False)
@click.option("--comment", "kind", flag_value="comment", default=True)
@click.option("--dispute", "kind", flag_value="dispute", help="The participant contests it.")
@click.option("--waive", "kind", flag_value="waiver", help="A known deviation, accepted.")
@click.option("--override", "kind", flag_value="override", help="The coordinator's decision.")
@click.option("--text", required=True)
@click.option("--link", default=None, help="An issue or a document.")
@STORE
@rulebook_option
@guarded
def note(
    slug: str,
    case_key: str,
    key: str | None,
    kind: str,
    text: str,
    link: str | None,
    store_url: str | None,
    rulebook_dir: str | None,
) -> None:
    """Note a case, or a participant's cell (appended to the audit trail)."""
    cs = open_store(store_url, rulebook_dir)
    result = run(lambda: cs.note(slug, COORDINATOR, case_key, key, kind, text, link))
    click.echo(f"note {result['id']}: {kind} on {case_key}" + (f" x {key}" if key else ""))


@campaign.command()
@click.argument("slug")
@click.argument("case_key", metavar="CASE")
@click.option(
    "--status",
    type=click.Choice(["open", "explained", "resolved"]),
    default="resolved",
    show_default=True,
)
@click.option(
    "--cause",
    type=click.Choice(
        ["participant", "rulebook", "instruction-ambiguous", "version-lag", "test-data"]
    ),
)
@click.option("--resolution", help="round:N | release:X | question:QN")
@click.option("--round", "round_number", type=int, default=None)
@STORE
@rulebook_option
@guarded
def resolve(
    slug: str,
    case_key: str,
    status: str,
    cause: str | None,
    resolution: str | None,
    round_number: int | None,
    store_url: str | None,
    rulebook_dir: str | None,
) -> None:
    """Decide a case's divergence: its cause and what resolves it."""
    cs = open_store(store_url, rulebook_dir)
    result = run(
        lambda: cs.resolve(
            slug,
            case_key,
            status=status,
            cause=cause,
            resolution=resolution,
            round_number=round_number,
        )
    )
    click.echo(
        f"{result['case']} round {result['round']}: {result['status']}"
        + (f", cause {cause}" if cause else "")
        + (f", {resolution}" if resolution else "")
    )


@campaign.command()
@click.argument("slug")
@STORE
@rulebook_option
@guarded
def recompute(slug: str, store_url: str | None, rulebook_dir: str | None) -> None:
    """Rebuild the current round's cells from the observations (exit 1 if any changed)."""
    cs = open_store(store_url, rulebook_dir)
    result = run(lambda: cs.recompute(slug))
    click.echo(
        f"round {result['round']}: {result['cells']} cells recomputed, {result['changed']} changed"
    )
    settle(EXIT_OK if result["changed"] == 0 else EXIT_FINDINGS)
    raise SystemExit(settle_status())


@campaign.command()
@click.argument("slug")
@click.option("--after", type=int, default=0, help="Only events after this id.")
@STORE
@rulebook_option
@guarded
def events(slug: str, after: int, store_url: str | None, rulebook_dir: str | None) -> None:
    """The campaign's audit log, one JSON line per event."""
    cs = open_store(store_url, rulebook_dir)
    for item in run(lambda: cs.events(slug, after)):
        click.echo(json.dumps(item, ensure_ascii=False))


@campaign.command()
@click.argument("slug")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="FILE.tar")
@STORE
@rulebook_option
@guarded
def export(slug: str, out: str, store_url: str | None, rulebook_dir: str | None) -> None:
    """Everything of a campaign in one tar: files, submissions, matrices, hashes."""
    from campaign.archive import export as write

    cs = open_store(store_url, rulebook_dir)
    result = run(lambda: write(cs, slug, Path(out)))
    click.echo(f"{result['archive']}: {result['files']} files, sha256 {result['sha256']}")


@campaign.command()
@click.argument("archive", type=click.Path(dir_okay=False, exists=True))
@rulebook_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@guarded
def verify(archive: str, rulebook_dir: str | None, fmt: str) -> None:
    """Check an exported campaign: every hash, every cell recomputed (exit 1 if not)."""
    from campaign.archive import verify as check

    result = run(lambda: check(compiled_rulebook(rulebook_dir), Path(archive)))
    if fmt == "json":
        echo_json(result)
    else:
        click.echo(
            f"{result['campaign']}: {result['files']} files, {result['cells']} cells "
            f"recomputed: {'ok' if result['ok'] else 'PROBLEMS'}"
        )
        for p in result["problems"]:
            click.echo(f"  {p}")
    settle(EXIT_OK if result["ok"] else EXIT_FINDINGS)
    raise SystemExit(settle_status())


@campaign.command("run")
@click.argument("slug")
@click.option("--participant", "key", required=True)
@click.option("--harness", "command", required=True, help="The command speaking protocol v1.")
@click.option(
    "--timeout",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds a harness has for one file.",
)
@click.option("--only", multiple=True, metavar="CASE", help="Only these cases (repeatable).")
@STORE
@rulebook_option
@guarded
def run_harness(
    slug: str,
    key: str,
    command: str,
    timeout: float,
    only: tuple[str, ...],
    store_url: str | None,
    rulebook_dir: str | None,
) -> None:
    """Run KEY's system on each of its files through a harness and submit its answers; a
    JSON Lines run log on standard output."""
    from campaign.harness import run as go

    cs = open_store(store_url, rulebook_dir)

    def log(line: dict[str, Any]) -> None:
        click.echo(json.dumps(line, ensure_ascii=False))
        sys.stdout.flush()

    counts = run(lambda: go(cs, slug, key, command, timeout=timeout, only=list(only), log=log))
    settle(EXIT_OK if set(counts) <= {"match"} else EXIT_FINDINGS)
    raise SystemExit(settle_status())


@campaign.command("protocol-schema")
def protocol_schema() -> None:
    """The JSON Schema of what a harness writes (protocol v1)."""
    from campaign.harness import PROTOCOL

    echo_json(PROTOCOL)


@campaign.command("matrix-schema")
def matrix_schema() -> None:
    """The JSON Schema of the matrix (what 'matrix --format json' and the service give)."""
    from campaign.matrix import SCHEMA

    echo_json(SCHEMA)


__all__ = [
    "events",
    "export",
    "matrix_schema",
    "note",
    "protocol_schema",
    "recompute",
    "resolve",
    "run_harness",
    "verify",
]
