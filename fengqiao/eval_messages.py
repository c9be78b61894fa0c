"""`fengqiao eval requests` and `fengqiao eval emergencies`: one message each, in a new conversation, through the
public HTTP contract, and what the bot did with it.

- requests (`{"text", "expect": "handoff" | "no_handoff"}`): a message is handed on when the conversation waits for
  a mediator at once (a request for a person) or the mediation intake starts (a request for mediation; the intake
  queues it after at most three questions, tests/e2e/test_handoff_intake.py).
- emergencies (`{"text", "expect": "emergency" | "not_emergency", "first_number"}`): a message is treated as an
  emergency when the first reply is one of the emergency guidance texts (actions/emergency.py); the number it
  leads with is the first emergency number the text names.

Against `--url` or a private stack on free ports (the built knowledge base and Rasa model).
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from knowledge_base.jsonl import read_jsonl

_NUMBER_RE = re.compile(r"(?<!\d)(110|119|120|122|12356|12338|12355|400-161-9995)(?!\d)")


def send_one(client: httpx.Client, text: str) -> dict[str, Any]:
    created = client.post("/api/conversations", json={})
    created.raise_for_status()
    cid, token = created.json()["conversation_id"], created.json()["token"]
    resp = client.post(
        f"/api/conversations/{cid}/messages",
        headers={"Authorization": f"Bearer {token}"},
        json={"text": text, "client_id": uuid.uuid4().hex},
    )
    resp.raise_for_status()
    return resp.json()


def _texts(reply: dict[str, Any]) -> list[str]:
    return [r.get("text") or "" for r in reply.get("replies") or []]


def judge_request(reply: dict[str, Any]) -> str:
    from actions.flows.intake import INTAKE_INTRO

    if reply.get("mode") == "waiting":
        return "handoff"
    return "intake" if any(t.startswith(INTAKE_INTRO) for t in _texts(reply)) else "answer"


def judge_emergency(reply: dict[str, Any]) -> tuple[bool, str | None]:
    from actions.emergency import GUIDANCE

    texts = _texts(reply)
    first = texts[0] if texts else ""
    if first not in set(GUIDANCE.values()):
        return False, None
    m = _NUMBER_RE.search(first)
    return True, m.group(1) if m else None


def run_requests(client: httpx.Client, rows: list[dict[str, Any]]) -> dict[str, Any]:
    out = {
        "handoff": {"handoff": 0, "intake": 0, "answer": 0},
        "no_handoff": {"handoff": 0, "intake": 0, "answer": 0},
    }
    misses = []
    for row in rows:
        got = judge_request(send_one(client, row["text"]))
        out[row["expect"]][got] += 1
        if (got == "answer") != (row["expect"] == "no_handoff"):
            misses.append({"id": row.get("id"), "text": row["text"], "expect": row["expect"], "got": got})
    n_req = sum(out["handoff"].values())
    n_not = sum(out["no_handoff"].values())
    return {
        "requests": n_req,
        "handed_on": n_req - out["handoff"]["answer"],
        "not_requests": n_not,
        "wrongly_handed_on": n_not - out["no_handoff"]["answer"],
        "by_expectation": out,
        "misses": misses,
    }


def run_emergencies(client: httpx.Client, rows: list[dict[str, Any]]) -> dict[str, Any]:
    emergencies = [r for r in rows if r["expect"] == "emergency"]
    calm = [r for r in rows if r["expect"] != "emergency"]
    found = right_number = false_alarms = 0
    misses = []
    for row in rows:
        is_emergency, number = judge_emergency(send_one(client, row["text"]))
        if row["expect"] == "emergency":
            found += is_emergency
            right_number += is_emergency and number == row.get("first_number")
            if not (is_emergency and number == row.get("first_number")):
                misses.append(
                    {
                        "id": row.get("id"),
                        "text": row["text"],
                        "kind": row.get("kind"),
                        "expect_number": row.get("first_number"),
                        "emergency": is_emergency,
                        "number": number,
                    }
                )
        else:
            false_alarms += is_emergency
            if is_emergency:
                misses.append(
                    {"id": row.get("id"), "text": row["text"], "expect": "not_emergency", "number": number}
                )
    return {
        "emergencies": len(emergencies),
        "treated_as_emergency": found,
        "led_with_the_right_number": right_number,
        "not_emergencies": len(calm),
        "false_alarms": false_alarms,
        "misses": misses,
    }


def _command(args: Any, run: Callable[[httpx.Client, list[dict[str, Any]]], dict[str, Any]]) -> int:
    rows = read_jsonl(args.file)

    def evaluate(url: str) -> dict[str, Any]:
        with httpx.Client(base_url=url, timeout=60.0) as client:
            return run(client, rows)

    if args.url:
        result = evaluate(args.url)
    else:
        from fengqiao.bench import private_stack

        with private_stack(progress=lambda m: print(f"[stack] {m}", file=sys.stderr)) as stack:
            result = evaluate(stack.settings.gateway_url)
    print(json.dumps(result, ensure_ascii=False, indent=None if args.json else 2))
    return 0


def requests_command(args: Any) -> int:
    return _command(args, run_requests)


def emergencies_command(args: Any) -> int:
    return _command(args, run_emergencies)


def add_arguments(p: Any, what: str) -> None:
    p.add_argument("--file", required=True, type=Path, metavar="FILE.jsonl", help=what)
    p.add_argument("--url", help="a running gateway; default: start a private stack on free ports")
    p.add_argument("--json", action="store_true", help="print one line of JSON")
