"""`fengqiao eval conversations`: multi-turn conversations through the public HTTP contract, and whether each turn's
answer cites a right law (a law the conversation's author named for that turn).

What it prints: the share of first turns, follow-up turns (a later turn on the same topic) and new-topic turns whose
answer cites a right law, and the conversations that cited a right law on every turn. A turn the bot answered
without citing anything (a clarifying question, a handoff) counts as not citing a right law. Against `--url` or a
private stack on free ports (the built knowledge base and Rasa model).
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from knowledge_base.jsonl import read_jsonl

PREFIX = "中华人民共和国"


def _law(title: str) -> str:
    return title.removeprefix(PREFIX).strip()


def cited_laws(reply: dict[str, Any]) -> set[str]:
    return {
        _law(c.get("law") or "")
        for r in reply.get("replies") or []
        for c in r.get("citations") or []
        if c.get("kind") == "statute" and c.get("law")
    }


def run(base_url: str, conversations: list[dict[str, Any]], timeout_s: float = 60.0) -> dict[str, Any]:
    """The shares of right turns by kind, and `turns`: what each turn cited (for --turns)."""
    kinds = {"first": [0, 0], "follow_up": [0, 0], "new_topic": [0, 0]}
    turns: list[dict[str, Any]] = []
    every_turn = 0
    with httpx.Client(base_url=base_url, timeout=timeout_s) as client:
        for conv in conversations:
            created = client.post("/api/conversations", json={})
            created.raise_for_status()
            cid, token = created.json()["conversation_id"], created.json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            all_right, mode = True, "bot"
            for i, turn in enumerate(conv["turns"]):
                kind = "first" if i == 0 else "new_topic" if turn.get("new_topic") else "follow_up"
                right, cited, said = False, set(), ""
                if mode == "bot":
                    resp = client.post(
                        f"/api/conversations/{cid}/messages",
                        headers=headers,
                        json={"text": turn["text"], "client_id": uuid.uuid4().hex},
                    )
                    resp.raise_for_status()
                    body = resp.json()
                    mode = body.get("mode", "bot")
                    cited = cited_laws(body)
                    said = " / ".join((r.get("text") or "")[:60] for r in body.get("replies") or [])
                    right = bool(cited & {_law(t) for t in turn["laws"]})
                turns.append(
                    {
                        "conversation": conv.get("id"),
                        "kind": kind,
                        "text": turn["text"],
                        "right": right,
                        "mode": mode,
                        "cited": sorted(cited),
                        "said": said,
                        "wanted": sorted(_law(t) for t in turn["laws"]),
                    }
                )
                kinds[kind][0] += right
                kinds[kind][1] += 1
                all_right = all_right and right
            every_turn += all_right
    return {
        "conversations": len(conversations),
        "every_turn_right": every_turn,
        **{
            k: {"right": r, "turns": n, "share": round(r / n, 3) if n else None}
            for k, (r, n) in kinds.items()
        },
        "turns": turns,
    }


def add_arguments(p: Any) -> None:
    p.add_argument(
        "--file",
        required=True,
        type=Path,
        metavar="FILE.jsonl",
        help="one conversation a line: {id, turns: [{text, laws, new_topic}]}",
    )
    p.add_argument("--url", help="a running gateway; default: start a private stack on free ports")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--turns", action="store_true", help="also print each turn: what it cited and what was wanted"
    )


def command(args: Any) -> int:
    conversations = read_jsonl(args.file)
    if args.url:
        result = run(args.url, conversations)
    else:
        from fengqiao.bench import private_stack

        with private_stack(progress=lambda m: print(f"[stack] {m}", file=sys.stderr)) as stack:
            result = run(stack.settings.gateway_url, conversations)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    if args.turns:
        for t in result["turns"]:
            mark = "ok " if t["right"] else "-- "
            cited = "、".join(t["cited"]) or f"(nothing cited; mode {t['mode']}: {t['said'][:80]})"
            print(f"{mark}{t['conversation']} {t['kind']:9s} {t['text'][:40]}")
            print(f"      cited {cited} | wanted {'、'.join(t['wanted'])}")
    print(
        f"conversations: {result['conversations']} ({result['every_turn_right']} with a right law on every turn)"
    )
    for kind in ("first", "follow_up", "new_topic"):
        r = result[kind]
        print(f"  {kind:10s} {r['right']:4d}/{r['turns']:<4d} turns cite a right law ({r['share']})")
    return 0
