"""Test helpers for campaigns: simulated insurers with planted deviations, a real PostgreSQL.

An insurer is simulated by what it would answer: the answers the rulebook writes for the
file (a conforming insurer), written by a rulebook lacking one rule, or edited afterwards
(an error percentage truncated, a refusal type changed, a message cut short). PostgreSQL is
a real server from Debian's packages, started in a temporary directory (as the ``postgres``
user when the tests run as root, which PostgreSQL refuses to run as) and stopped after.
"""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from answer import answers_for
from compiler import Compiled
from validator import validate
from validator.report import Report


def without_rule(compiled: Compiled, code: str) -> Compiled:
    """The rulebook an insurer that does not apply rule ``code`` implements."""
    return dataclasses.replace(
        compiled, rules=tuple(r for r in compiled.rules if r.code != code), by_record={}
    )


def report_of(compiled: Compiled, content: bytes, today: str) -> Report:
    import datetime as dt

    return validate(compiled, io.BytesIO(content), today=dt.date.fromisoformat(today))


def answers(compiled: Compiled, content: bytes, report: Report) -> list[tuple[str, bytes]]:
    """What an insurer implementing ``compiled`` answers (``report``: its validation of the
    file), settlement included."""
    return [
        (f"{n}.{a.message}", a.content)
        for n, a in enumerate(answers_for(compiled, content, report, settle=True), start=1)
    ]


def set_role_zone(compiled: Compiled, message: bytes, role: str, text: str) -> bytes:
    """The message with the zone that has ``role`` (refusal, percentage) set to ``text``."""
    msg = compiled.messages[message[:6].decode()]
    pos = 0
    for seg in msg.segments:
        layout = compiled.layouts[seg]
        zone = layout.role(role)
        if zone is not None:
            start = pos + zone.offset
            assert len(text) == zone.length
            return message[:start] + text.encode() + message[start + zone.length :]
        pos += layout.length
    raise AssertionError(f"{msg.name} has no {role} zone")


def percentage_pair(report: Report) -> tuple[int, int]:
    """(rounded, truncated) error percentage in hundredths, as written and as planted."""
    value = report.error_rate * 10000
    return min(10000, round(value)), min(10000, int(value))


# --------------------------------------------------------------------------- PostgreSQL


def _binaries() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    return versions[-1] if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres() -> Iterator[str]:
    """A PostgreSQL server for the test; yields its SQLAlchemy URL (database ``rulebook``)."""
    bindir = _binaries()
    if bindir is None:
        raise RuntimeError(
            "PostgreSQL is not installed: bash scripts/install --dev installs Debian's package"
        )
    root = Path(tempfile.mkdtemp(prefix="rulebook-pg-", dir="/tmp"))
    data = root / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, cwd=root)

    try:
        run(
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )
        run(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(root / "log"),
            "-w",
            "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=200",
            "start",
        )
        run(
            str(bindir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "rulebook",
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/rulebook"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            cwd=root,
            check=False,
        )
        time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)
