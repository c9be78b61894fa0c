"""`fengqiao eval guides --file FILE.jsonl`: how often the guide selector picks the fitting guide.

FILE has one labelled message a line: {"text": "老板拖欠三个月工资", "situation": "unpaid_wages"}, optionally with
"dispute_type" (the conversation's type, as the answer passes it). A "situation" of "none" (or empty) marks a
message that must get no guide. Printed: the fitting guide chosen, a wrong guide chosen, and no guide, as counts
and shares of all messages (and, for messages labelled "none", how many correctly got none).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from knowledge_base.jsonl import iter_jsonl


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--file", required=True, metavar="FILE.jsonl", help='one {"text", "situation"} a line')
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--mistakes", action="store_true", help="also list the messages that got a wrong or no guide"
    )


def run(path: Path) -> dict:
    from actions import guides

    examples = []
    for line_no, row in iter_jsonl(path):
        if not isinstance(row.get("text"), str):
            raise ValueError(f"{path.name} line {line_no}: no text")
        examples.append(row)
    guides.guides()  # load before timing
    started = time.perf_counter()
    result = guides.evaluate(examples)
    elapsed = time.perf_counter() - started
    out = result.as_dict()
    out["ms_per_message"] = round(1000 * elapsed / max(len(examples), 1), 3)
    out["mistakes"] = [
        {"text": t, "situation": label, "chosen": chosen or None} for t, label, chosen in result.mistakes
    ]
    return out


def command(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(f"no such file: {path}")
        return 2
    out = run(path)
    if args.json:
        if not args.mistakes:
            out.pop("mistakes")
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    n = out["n"]
    print(f"messages: {n}")
    print(f"fitting guide chosen: {out['fitting']} ({out['fitting_share']:.1%})")
    print(f"wrong guide chosen:   {out['wrong']} ({out['wrong_share']:.1%})")
    print(f"no guide:             {out['no_guide']} ({out['no_guide_share']:.1%})")
    if out["correct_no_guide"]:
        print(f"no guide, as labelled: {out['correct_no_guide']} ({out['correct_no_guide_share']:.1%})")
    print(f"selection: {out['ms_per_message']} ms a message")
    if args.mistakes:
        for m in out["mistakes"]:
            print(f"  [{m['situation']} → {m['chosen'] or '-'}] {m['text']}")
    return 0
