"""Running a participant's own system on every file of a campaign: the harness protocol.

Input: a command that speaks protocol v1 — JSON Lines on its standard input and output —
the campaign, the participant and its files.
Output: each file's answers submitted as if uploaded (matched by the references they repeat;
by the case when they repeat none, recorded as such), a harness's error, skip, crash or
timeout recorded as an ``errored`` cell (never green), and a JSON Lines run log
(``header``, one line per case, ``footer``). ``PROTOCOL`` is the protocol's JSON Schema
(``rulebook campaign protocol-schema``); ``check`` is a smoke test of a harness.

    -> {"cmd": "start", "version": 1, "campaign": SLUG, "rulebook": {"version", "hash"}}
    <- {"version": 1, "system": {"name": …, "version": …}}
    -> {"cmd": "run", "seq": N, "case": KEY, "today": DATE, "file": {"name", "base64"}}
    <- {"seq": N, "messages": [{"name", "base64"}]}
       | {"seq": N, "skipped": true, "message": …, "issue_url": …}
       | {"seq": N, "errored": true, "context": {…}}
    -> {"cmd": "stop"}
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import queue
import shlex
import subprocess
import threading
from collections import Counter
from collections.abc import Callable
from typing import IO, Any

import jsonschema

from campaign.core import CampaignError

_MESSAGE = {
    "type": "object",
    "required": ["name", "base64"],
    "properties": {"name": {"type": "string"}, "base64": {"type": "string"}},
}
PROTOCOL: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Rulebook campaign harness protocol, version 1: what a harness writes",
    "oneOf": [
        {
            "title": "start",
            "type": "object",
            "required": ["version", "system"],
            "properties": {
                "version": {"const": 1},
                "system": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string"},
                        "version": {"type": "string"},
                        "role": {"enum": ["insurer", "sender"]},
                        "declared_rulebook": {"type": "string"},
                    },
                },
            },
            "additionalProperties": False,
        },
        {
            "title": "answers",
            "type": "object",
            "required": ["seq", "messages"],
            "properties": {
                "seq": {"type": "integer"},
                "messages": {"type": "array", "items": _MESSAGE},
            },
            "additionalProperties": False,
        },
        {
            "title": "skipped",
            "type": "object",
            "required": ["seq", "skipped"],
            "properties": {
                "seq": {"type": "integer"},
                "skipped": {"const": True},
                "message": {"type": "string"},
                "issue_url": {"type": "string"},
            },
            "additionalProperties": False,
        },
        {
            "title": "errored",
            "type": "object",
            "required": ["seq", "errored"],
            "properties": {
                "seq": {"type": "integer"},
                "errored": {"const": True},
                "context": {"type": "object"},
            },
            "additionalProperties": False,
        },
    ],
}


class HarnessError(Exception):
    """The harness did not answer as the protocol says; the text says how."""


class Harness:
    """A running harness process and the lines it writes, read with a timeout."""

    def __init__(self, command: str, timeout: float) -> None:
        self.command = command
        self.timeout = timeout
        try:
            self.process = subprocess.Popen(
                shlex.split(command),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                bufsize=1,
            )
        except OSError as exc:
            raise CampaignError(422, "bad-harness", f"cannot start {command!r}: {exc}") from None
        self.lines: queue.Queue[str | None] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def send(self, payload: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(payload) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise HarnessError(f"the harness stopped reading ({exc})") from None

    def receive(self) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=self.timeout)
        except queue.Empty:
            raise HarnessError(f"no answer within {self.timeout:g} s") from None
        if line is None:
            raise HarnessError(f"the harness exited (status {self.process.poll()})")
        try:
            payload = json.loads(line)
        except ValueError:
            raise HarnessError(f"not a JSON line: {line[:200]!r}") from None
        try:
            jsonschema.validate(payload, PROTOCOL)
        except jsonschema.ValidationError as exc:
            raise HarnessError(f"not protocol v1: {exc.message}") from None
        if not isinstance(payload, dict):
            raise HarnessError("not a JSON object")
        return payload

    def stop(self) -> None:
        with contextlib.suppress(HarnessError):
            self.send({"cmd": "stop"})
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def messages_of(answer: dict[str, Any]) -> list[tuple[str, bytes]]:
    out = []
    for m in answer["messages"]:
        try:
            out.append((m["name"], base64.b64decode(m["base64"], validate=True)))
        except (binascii.Error, ValueError):
            raise HarnessError(f"message {m['name']!r} is not base64") from None
    return out


def run(
    campaigns: Any,
    slug: str,
    participant: str,
    command: str,
    *,
    timeout: float = 30.0,
    only: list[str] | None = None,
    log: Callable[[dict[str, Any]], None] = lambda _line: None,
) -> dict[str, int]:
    """Run the harness on every file of the participant (or the cases ``only`` names)."""
    info = campaigns.info(slug)
    files = [f for f in campaigns.manifest(slug, participant) if not only or f["case"] in only]
    harness = Harness(command, timeout)
    counts: Counter[str] = Counter()
    try:
        harness.send({"cmd": "start", "version": 1, "campaign": slug, "rulebook": info["rulebook"]})
        system = harness.receive().get("system")
        log(
            {
                "header": {
                    "campaign": slug,
                    "participant": participant,
                    "rulebook": info["rulebook"],
                    "system": system,
                    "cases": len(files),
                }
            }
        )
        for seq, item in enumerate(files, start=1):
            name, content = campaigns.instance_file(slug, participant, item["case"])
            line: dict[str, Any] = {"seq": seq, "case": item["case"]}
            try:
                if harness.process.poll() is not None:
                    harness = Harness(command, timeout)  # a crashed harness is started again
                    harness.send(
                        {
                            "cmd": "start",
                            "version": 1,
                            "campaign": slug,
                            "rulebook": info["rulebook"],
                        }
                    )
                    harness.receive()
                harness.send(
                    {
                        "cmd": "run",
                        "seq": seq,
                        "case": item["case"],
                        "today": item["today"],
                        "file": {"name": name, "base64": base64.b64encode(content).decode()},
                    }
                )
                answer = harness.receive()
                if answer.get("seq") != seq:
                    raise HarnessError(f"answered seq {answer.get('seq')}, not {seq}")
                if "messages" in answer:
                    line["results"] = _submit_all(
                        campaigns, slug, participant, item["case"], messages_of(answer)
                    )
                else:
                    kind = "skipped" if answer.get("skipped") else "errored"
                    context = {k: v for k, v in answer.items() if k not in ("seq",)}
                    result = campaigns.harness_result(
                        slug, participant, item["case"], {kind: True, **context}
                    )
                    line["results"] = [result.to_json()]
            except HarnessError as exc:
                result = campaigns.harness_result(
                    slug, participant, item["case"], {"errored": True, "message": str(exc)}
                )
                line["results"] = [result.to_json()]
                if harness.process.poll() is None and "no answer within" in str(exc):
                    harness.process.kill()  # a hung harness is started again for the next case
                    harness.process.wait()
            # the cell's state once all the case's messages are in
            line["state"] = next(
                (r["state"] for r in reversed(line["results"]) if r.get("state")), "refused"
            )
            counts[line["state"]] += 1
            log(line)
    finally:
        harness.stop()
    log({"footer": dict(counts)})
    return dict(counts)


def _submit_all(
    campaigns: Any, slug: str, participant: str, case: str, messages: list[tuple[str, bytes]]
) -> list[dict[str, Any]]:
    out = []
    for name, data in messages:
        try:
            results = campaigns.submit(slug, participant, name, data, client="harness")
        except CampaignError as exc:
            if exc.code != "unmatched-answer":
                out.append({"name": name, "state": None, "error": exc.code, "message": exc.message})
                continue
            results = campaigns.submit(
                slug, participant, name, data, case_key=case, client="harness"
            )
        out.extend(r.to_json() for r in results)
    return out
