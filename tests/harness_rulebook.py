"""A campaign harness (protocol v1) whose system is the rulebook itself, for the tests.

``python -m tests.harness_rulebook conform``: answers every file as ``rulebook answer`` does.
``… unruly``: as conform, except seq 2 reports an error, seq 3 writes a line that is not
JSON, seq 4 is skipped and seq 5 makes the process exit (the runner starts it again).
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import sys

from answer import answers_for
from compiler import load_compiled
from validator import validate


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "conform"
    compiled = load_compiled()
    for line in sys.stdin:
        request = json.loads(line)
        if request["cmd"] == "start":
            reply: dict[str, object] = {
                "version": 1,
                "system": {"name": "rulebook-harness", "version": mode},
            }
        elif request["cmd"] == "stop":
            return
        else:
            seq = request["seq"]
            if mode == "unruly" and seq == 2:
                reply = {"seq": seq, "errored": True, "context": {"message": "ET20 refused"}}
            elif mode == "unruly" and seq == 3:
                print("this is not JSON", flush=True)
                continue
            elif mode == "unruly" and seq == 4:
                reply = {"seq": seq, "skipped": True, "message": "not implemented"}
            elif mode == "unruly" and seq == 5:
                sys.exit(3)
            else:
                data = base64.b64decode(request["file"]["base64"])
                today = dt.date.fromisoformat(request["today"])
                report = validate(compiled, io.BytesIO(data), today=today)
                answers = answers_for(compiled, data, report, settle=True)
                reply = {
                    "seq": seq,
                    "messages": [
                        {
                            "name": f"{seq}.{a.message}",
                            "base64": base64.b64encode(a.content).decode(),
                        }
                        for a in answers
                    ],
                }
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
