"""Parse messages with a trained model (runs in the Rasa environment, cwd=bot/, PYTHONPATH=bot/).

    .venv-rasa/bin/python bot/scripts/nlu_parse.py MODEL.tar.gz < texts.jsonl > parses.jsonl

Input: one JSON object a line with "text". Output: one JSON object a line with the text, the final intent
and its confidence, the intent before the handoff and emergency keyword nets and before the input guard
(when they changed it), the top of the ranking and the entities. Used by `fengqiao eval nlu`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys


async def _main(model: str) -> int:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        text = json.loads(line)["text"]
        parsed = await agent.parse_message(text)
        intent = parsed.get("intent") or {}
        out = {
            "text": text,
            "intent": intent.get("name"),
            "confidence": round(float(intent.get("confidence") or 0.0), 4),
            "handoff_net_fired": "intent_before_handoff_net" in parsed,
            "intent_before_handoff_net": parsed.get("intent_before_handoff_net"),
            "safety_net_fired": "intent_before_safety_net" in parsed,
            "intent_before_safety_net": parsed.get("intent_before_safety_net"),
            "intent_before_input_guard": parsed.get("intent_before_input_guard"),
            "ranking": [
                (r.get("name"), round(float(r.get("confidence") or 0.0), 4))
                for r in (parsed.get("intent_ranking") or [])[:3]
            ],
            "entities": [
                {k: e.get(k) for k in ("entity", "value", "start", "end")}
                for e in parsed.get("entities") or []
            ],
        }
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.disable(logging.WARNING)
    sys.exit(asyncio.run(_main(sys.argv[1])))
