"""`fengqiao eval nlu`: intent accuracy, macro F1, emergency / handoff recall and the false-handoff rate on a
held-out file (default data/nlu_test.yml), for the model trained on bot/data only.

The held-out file is never a training input: the model comes from `fengqiao train-bot` (bot/data), and the
evaluation refuses to run when a held-out example also appears in the training data. Messages are parsed by
the trained model in the Rasa environment (bot/scripts/nlu_parse.py). Numbers are reported with the
emergency keyword safety net (what the bot does) and without it (the classifier alone), from the same
parses: the net records the intent it overrode.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.settings import PROJECT_ROOT, Settings

DEFAULT_TEST_FILE = PROJECT_ROOT / "data" / "nlu_test.yml"
EMERGENCY = "emergency"
HANDOFF_INTENTS = ("request_human", "request_mediation")
# Intents whose prediction takes the conversation away from the answer: a person, or emergency guidance.
HANDOFF_PATH = frozenset({EMERGENCY, *HANDOFF_INTENTS})
LEGAL_QUESTION = "ask_legal_question"
TARGETS = {
    "accuracy": 0.92,
    "macro_f1": 0.92,
    "recall_emergency": 0.97,
    "recall_request_human": 0.97,
    "recall_request_mediation": 0.97,
    "false_handoff_rate": 0.03,
}


class LeakError(RuntimeError):
    """A held-out example also appears in the training data."""


def read_examples(path: Path) -> list[tuple[str, str]]:
    """(text, intent) pairs of a Rasa YAML NLU file (entity annotations removed)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    pairs = []
    for block in data.get("nlu") or []:
        intent = block.get("intent")
        if not intent:
            continue
        for line in str(block.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- "):
                pairs.append((_strip_annotations(line[2:].strip()), intent))
    return pairs


def _strip_annotations(text: str) -> str:
    return re.sub(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})", r"\1", text)


def _key(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).lower() if ch.isalnum())


def training_examples(bot_dir: Path) -> list[tuple[str, str]]:
    pairs = []
    for f in sorted((bot_dir / "data").rglob("*.yml")):
        pairs += read_examples(f)
    return pairs


def check_no_leak(test: list[tuple[str, str]], train: list[tuple[str, str]]) -> None:
    seen = {_key(t) for t, _ in train}
    leaked = [t for t, _ in test if _key(t) in seen]
    if leaked:
        raise LeakError(f"{len(leaked)} held-out example(s) also in bot/data: {leaked[:5]}")


# --------------------------------------------------------------------------------------------------
# Metrics (pure functions, unit-tested)


@dataclass
class Scores:
    n: int
    accuracy: float
    macro_f1: float
    per_intent: dict[str, dict[str, float]]
    recall: dict[str, float]
    handoff_path_recall: float
    false_handoff_rate: float
    false_handoffs: int
    legal_questions: int
    fallback_rate: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            **{f"recall_{k}": round(v, 4) for k, v in self.recall.items()},
            "handoff_path_recall": round(self.handoff_path_recall, 4),
            "false_handoff_rate": round(self.false_handoff_rate, 4),
            "false_handoffs": self.false_handoffs,
            "legal_questions": self.legal_questions,
            "fallback_rate": round(self.fallback_rate, 4),
            "per_intent": {k: {m: round(v, 4) for m, v in d.items()} for k, d in self.per_intent.items()},
        }


def score(gold: list[str], predicted: list[str | None]) -> Scores:
    """Accuracy and macro F1 over the intents of the gold labels (a prediction of any other label, such as
    nlu_fallback, is simply wrong), recall of the emergency and handoff intents, the share of plain legal
    questions sent to a person or to emergency guidance."""
    if len(gold) != len(predicted) or not gold:
        raise ValueError("gold and predicted must be non-empty and of equal length")
    labels = sorted(set(gold))
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for g, p in zip(gold, predicted, strict=True):
        if g == p:
            tp[g] += 1
        else:
            fn[g] += 1
            if p is not None:
                fp[p] += 1
    per_intent = {}
    for label in labels:
        precision = tp[label] / (tp[label] + fp[label]) if tp[label] + fp[label] else 0.0
        recall = tp[label] / (tp[label] + fn[label]) if tp[label] + fn[label] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent[label] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": float(tp[label] + fn[label]),
        }
    accuracy = sum(tp.values()) / len(gold)
    macro_f1 = sum(d["f1"] for d in per_intent.values()) / len(labels)
    key_recall = {k: per_intent[k]["recall"] for k in (EMERGENCY, *HANDOFF_INTENTS) if k in per_intent}
    path_gold = [(g, p) for g, p in zip(gold, predicted, strict=True) if g in HANDOFF_INTENTS]
    path_recall = (sum(p in HANDOFF_INTENTS for _, p in path_gold) / len(path_gold)) if path_gold else 0.0
    legal = [p for g, p in zip(gold, predicted, strict=True) if g == LEGAL_QUESTION]
    false_handoffs = sum(p in HANDOFF_PATH for p in legal)
    fallbacks = sum(p == "nlu_fallback" for p in predicted)
    return Scores(
        len(gold),
        accuracy,
        macro_f1,
        per_intent,
        key_recall,
        path_recall,
        false_handoffs / len(legal) if legal else 0.0,
        false_handoffs,
        len(legal),
        fallbacks / len(gold),
    )


def without_safety_net(parse: dict[str, Any]) -> str | None:
    """The intent the classifier alone produced, before the keyword nets (handoff requests, emergencies) overrode
    it. The handoff net runs first, so when both fired its record is the classifier's own choice."""
    if parse.get("handoff_net_fired"):
        return parse.get("intent_before_handoff_net")
    if parse.get("safety_net_fired"):
        return parse.get("intent_before_safety_net")
    return parse.get("intent")


# --------------------------------------------------------------------------------------------------
# Running the model


def parse_all(settings: Settings, model: Path, texts: list[str]) -> list[dict[str, Any]]:
    from fengqiao.rasa_model import rasa_env

    python = settings.rasa_venv / "bin" / "python"
    script = settings.bot_dir / "scripts" / "nlu_parse.py"
    stdin = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts)
    env = rasa_env(settings) | {
        "OMP_NUM_THREADS": "1",
        "TF_NUM_INTRAOP_THREADS": "1",
        "TF_NUM_INTEROP_THREADS": "1",
    }
    proc = subprocess.run(
        [str(python), str(script), str(model)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=settings.bot_dir,
        env=env,
        encoding="utf-8",
    )
    if proc.returncode != 0:
        raise RuntimeError(f"parsing with the Rasa model failed:\n{proc.stderr[-3000:]}")
    parses = [json.loads(line) for line in proc.stdout.splitlines() if line.strip().startswith("{")]
    if len(parses) != len(texts):
        raise RuntimeError(f"expected {len(texts)} parses, got {len(parses)}:\n{proc.stderr[-2000:]}")
    return parses


def evaluate(
    settings: Settings, test_file: Path = DEFAULT_TEST_FILE, model: Path | None = None
) -> dict[str, Any]:
    from fengqiao.rasa_model import ensure_model

    test = read_examples(test_file)
    check_no_leak(test, training_examples(settings.bot_dir))
    started = time.monotonic()
    model = model or ensure_model(settings)
    train_s = time.monotonic() - started
    started = time.monotonic()
    parses = parse_all(settings, model, [t for t, _ in test])
    parse_s = time.monotonic() - started
    gold = [i for _, i in test]
    with_net = score(gold, [p["intent"] for p in parses])
    without_net = score(gold, [without_safety_net(p) for p in parses])
    errors = [
        {
            "text": t,
            "gold": g,
            "predicted": p["intent"],
            "without_net": without_safety_net(p),
            "confidence": p["confidence"],
            "ranking": p["ranking"],
        }
        for (t, g), p in zip(test, parses, strict=True)
        if p["intent"] != g or without_safety_net(p) != g
    ]
    return {
        "test_file": str(test_file),
        "model": model.name,
        "n": len(test),
        "with_safety_net": with_net.as_dict(),
        "without_safety_net": without_net.as_dict(),
        "safety_net_fired": sum(bool(p.get("safety_net_fired")) for p in parses),
        "handoff_net_fired": sum(bool(p.get("handoff_net_fired")) for p in parses),
        "errors": errors,
        "seconds": {"model": round(train_s, 1), "parse": round(parse_s, 1)},
        "targets": TARGETS,
    }


def _line(name: str, value: float, target: float | None, higher_is_better: bool = True) -> str:
    if target is None:
        return f"  {name:<34} {value:7.3f}"
    ok = value >= target if higher_is_better else value <= target
    sign = "≥" if higher_is_better else "≤"
    return f"  {name:<34} {value:7.3f}   target {sign} {target:.2f}  {'PASS' if ok else 'FAIL'}"


def format_report(result: dict[str, Any], show_errors: bool = True) -> str:
    out = [
        f"held-out file: {result['test_file']} ({result['n']} examples), model {result['model']}",
        f"(model ready in {result['seconds']['model']} s, parsed in {result['seconds']['parse']} s; "
        f"the keyword nets changed the classifier's intent on {result['safety_net_fired']} messages (emergency) "
        f"and {result['handoff_net_fired']} (handoff requests))",
    ]
    for key, title in (
        ("with_safety_net", "with the keyword nets (what the bot does)"),
        ("without_safety_net", "without the keyword nets (classifier alone)"),
    ):
        s = result[key]
        out.append(f"\n{title}:")
        out.append(_line("intent accuracy", s["accuracy"], TARGETS["accuracy"]))
        out.append(_line("macro F1", s["macro_f1"], TARGETS["macro_f1"]))
        for intent in (EMERGENCY, *HANDOFF_INTENTS):
            k = f"recall_{intent}"
            if k in s:
                out.append(_line(f"recall {intent}", s[k], TARGETS[k]))
        out.append(_line("recall handoff path (either intent)", s["handoff_path_recall"], None))
        out.append(
            _line(
                f"false handoff rate ({s['false_handoffs']}/{s['legal_questions']} legal q.)",
                s["false_handoff_rate"],
                TARGETS["false_handoff_rate"],
                higher_is_better=False,
            )
        )
        out.append(_line("nlu_fallback rate", s["fallback_rate"], None))
    per = result["with_safety_net"]["per_intent"]
    out.append("\nper intent (with the net):       precision  recall    f1  support")
    for intent, d in per.items():
        out.append(
            f"  {intent:<30} {d['precision']:9.3f} {d['recall']:7.3f} {d['f1']:5.3f} {int(d['support']):8d}"
        )
    if show_errors and result["errors"]:
        out.append("\nerrors (gold → predicted [without net]):")
        for e in result["errors"]:
            out.append(
                f"  {e['text']}  {e['gold']} → {e['predicted']} [{e['without_net']}] {e['confidence']:.2f}"
            )
    return "\n".join(out)


def add_arguments(p) -> None:
    p.add_argument(
        "--test",
        type=Path,
        default=DEFAULT_TEST_FILE,
        metavar="FILE.yml",
        help="held-out Rasa NLU file (default: data/nlu_test.yml)",
    )
    p.add_argument(
        "--model",
        type=Path,
        metavar="MODEL.tar.gz",
        help="a trained model; default: the model for bot/ (trained on bot/data if missing)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-errors", action="store_true", help="leave out the list of misclassified messages")


def command(args) -> int:
    from core.settings import get_settings

    return main(get_settings(), args.test, args.model, args.json, not args.no_errors)


def main(settings: Settings, test_file: Path, model: Path | None, as_json: bool, show_errors: bool) -> int:
    try:
        result = evaluate(settings, test_file, model)
    except LeakError as exc:
        print(f"refusing to evaluate: {exc}", file=sys.stderr)
        return 2
    if as_json:
        print(
            json.dumps(
                {k: v for k, v in result.items() if show_errors or k != "errors"},
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        print(format_report(result, show_errors))
    return 0
