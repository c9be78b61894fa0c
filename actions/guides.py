"""Plain-language guides (data/guides/<id>.yml) and the selector that picks the one fitting a resident's message.

A guide says, for one situation residents often bring (拖欠工资, 楼上漏水 …), what the law says in plain words,
what can be claimed, what evidence to keep, where to go and by when, and which articles it rests on. The answer
leads with a guide when one fits the message, and falls back to the statute answer otherwise.

Selection is a small rule system, tuned for precision (a wrong guide is worse than none):
- each guide's `triggers` have `core` patterns (regexes of what residents write about that situation), `boost`
  patterns (words that make it likelier) and `exclude` patterns (words that mean another situation);
- a guide whose core words residents also use in other situations (被骗, 撞伤) has `require` patterns naming
  its defining element (a remote contact for 电信诈骗, a vehicle for 交通事故): it is a candidate only when one
  of them matches too;
- a guide is a candidate only when a core pattern matches and no exclude pattern does; its score is
  CORE_WEIGHT per core pattern matched, plus one per boost matched, plus TYPE_BONUS when the conversation's
  dispute type is the guide's;
- a guide marked `generic` (到法院起诉, 人身损害赔偿项目: they fit many situations) is a candidate only when no
  other guide is; a guide may set its own `core_weight` when its core words name the question exactly (法律援助);
- the best candidate is chosen only when its score reaches MIN_SCORE and leads the second by MARGIN.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from actions import calculators, disputes

GUIDES_DIR = Path(__file__).resolve().parent.parent / "data" / "guides"
SITUATIONS_FILE = "situations.yml"

CORE_WEIGHT = 3.0
BOOST_WEIGHT = 1.0
TYPE_BONUS = 1.0
MIN_SCORE = 3.0
MARGIN = 2.0
# Boosts count only up to this many: a long message full of context words must not outweigh a second core match.
MAX_BOOSTS = 3

DISPUTE_TYPES = frozenset(disputes.NAMES) | {disputes.OTHER}
FIELDS = (
    "id",
    "name",
    "dispute_type",
    "triggers",
    "summary",
    "claims",
    "evidence",
    "where_to_go",
    "time_limits",
    "articles",
    "numbers",
)


class GuideError(ValueError):
    """A guide file that does not have the shape the answer needs."""


@dataclass(frozen=True)
class ArticleRef:
    law: str  # the corpus's full name: 中华人民共和国劳动合同法
    article: str  # 第三十条
    terms: tuple[str, ...]  # words of the article's text the guide relies on

    @property
    def citation(self) -> str:
        return f"{self.law}{self.article}"


@dataclass(frozen=True)
class TimeLimit:
    what: str  # 申请劳动仲裁
    limit: str  # 一年
    starts: str  # 从知道或者应当知道权利被侵害之日起算
    note: str = ""

    @property
    def text(self) -> str:
        line = f"{self.what}：{self.limit}，{self.starts}"
        return line + (f"；{self.note}" if self.note else "")


@dataclass(frozen=True)
class Triggers:
    core: tuple[re.Pattern, ...]
    boost: tuple[re.Pattern, ...]
    exclude: tuple[re.Pattern, ...]
    require: tuple[re.Pattern, ...] = ()  # when given, one must match: the situation's defining element


@dataclass(frozen=True)
class Guide:
    id: str
    name: str
    dispute_type: str
    triggers: Triggers
    summary: str
    claims: tuple[str, ...]
    evidence: tuple[str, ...]
    where_to_go: tuple[str, ...]
    time_limits: tuple[TimeLimit, ...]
    articles: tuple[ArticleRef, ...]
    numbers: tuple[dict[str, Any], ...]
    calculator: str | None = None
    generic: bool = False  # chosen only when no situation-specific guide is a candidate
    core_weight: float = 3.0

    def texts(self) -> list[str]:
        """Every text a resident may read from this guide."""
        return [self.name, self.summary, *self.claims, *self.evidence, *self.where_to_go] + [
            t.text for t in self.time_limits
        ]


# --------------------------------------------------------------------------------------------------
# Loading


def _strings(data: dict, key: str, gid: str, *, required: bool = True) -> tuple[str, ...]:
    value = data.get(key)
    if value is None and not required:
        return ()
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise GuideError(f"{gid}: {key} must be a non-empty list of texts")
    return tuple(v.strip() for v in value)


def _patterns(data: dict, key: str, gid: str, *, required: bool) -> tuple[re.Pattern, ...]:
    raw = _strings(data, key, gid, required=required)
    out = []
    for p in raw:
        try:
            out.append(re.compile(p))
        except re.error as exc:
            raise GuideError(f"{gid}: bad {key} pattern {p!r}: {exc}") from exc
    return tuple(out)


def parse_guide(data: dict[str, Any]) -> Guide:
    gid = str(data.get("id") or "?")
    missing = [f for f in FIELDS if f not in data]
    if missing:
        raise GuideError(f"{gid}: missing {', '.join(missing)}")
    if data["dispute_type"] not in DISPUTE_TYPES:
        raise GuideError(f"{gid}: unknown dispute_type {data['dispute_type']!r}")
    trig = data["triggers"] or {}
    triggers = Triggers(
        _patterns(trig, "core", gid, required=True),
        _patterns(trig, "boost", gid, required=False),
        _patterns(trig, "exclude", gid, required=False),
        _patterns(trig, "require", gid, required=False),
    )
    limits = []
    for t in data["time_limits"] or []:
        if not all(isinstance(t.get(k), str) and t[k].strip() for k in ("what", "limit", "starts")):
            raise GuideError(f"{gid}: each time limit needs what, limit and starts")
        limits.append(
            TimeLimit(
                t["what"].strip(), t["limit"].strip(), t["starts"].strip(), (t.get("note") or "").strip()
            )
        )
    articles = []
    for a in data["articles"] or []:
        if not (a.get("law") and a.get("article") and a.get("terms")):
            raise GuideError(f"{gid}: each article needs law, article and terms")
        articles.append(ArticleRef(a["law"], a["article"], tuple(a["terms"])))
    if not articles:
        raise GuideError(f"{gid}: no articles")
    numbers = tuple(dict(n) for n in data["numbers"] or [])
    calculator = data.get("calculator")
    if calculator is not None and calculator not in calculators.CALCULATORS:
        raise GuideError(f"{gid}: unknown calculator {calculator!r}")
    summary = data["summary"]
    if not isinstance(summary, str) or not summary.strip():
        raise GuideError(f"{gid}: summary must be a text")
    return Guide(
        id=gid,
        name=str(data["name"]).strip(),
        dispute_type=data["dispute_type"],
        triggers=triggers,
        summary=_join_lines(summary),
        claims=_strings(data, "claims", gid),
        evidence=_strings(data, "evidence", gid),
        where_to_go=_strings(data, "where_to_go", gid),
        time_limits=tuple(limits),
        articles=tuple(articles),
        numbers=numbers,
        calculator=calculator,
        generic=bool(trig.get("generic", False)),
        core_weight=float(trig.get("core_weight", CORE_WEIGHT)),
    )


_CJK_SPACE_RE = re.compile(r"(?<=[^\x00-\x7f])\s+(?=[^\x00-\x7f])")


def _join_lines(text: str) -> str:
    """A folded YAML text as one line: no space between Chinese characters, one elsewhere."""
    return _CJK_SPACE_RE.sub("", " ".join(text.split()))


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 (a safe loader)


def situations(directory: Path = GUIDES_DIR) -> list[dict[str, Any]]:
    """The situation list (id, group, name, scope)."""
    return list(_read(directory / SITUATIONS_FILE) or [])


def load_guides(directory: Path = GUIDES_DIR) -> dict[str, Guide]:
    """Every guide of the directory, by id, in the order of the situation list."""
    order = [s["id"] for s in situations(directory)] if (directory / SITUATIONS_FILE).is_file() else []
    guides: dict[str, Guide] = {}
    for path in sorted(directory.glob("*.yml")):
        if path.name == SITUATIONS_FILE:
            continue
        guide = parse_guide(_read(path) or {})
        if guide.id != path.stem:
            raise GuideError(f"{path.name}: id {guide.id!r} is not the file name")
        guides[guide.id] = guide
    rank = {gid: i for i, gid in enumerate(order)}
    return dict(sorted(guides.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))


_lock = threading.Lock()
_cache: dict[Path, dict[str, Guide]] = {}


def guides(directory: Path = GUIDES_DIR) -> dict[str, Guide]:
    """The guides, loaded once per process."""
    loaded = _cache.get(directory)
    if loaded is None:
        with _lock:
            loaded = _cache.get(directory)
            if loaded is None:
                loaded = load_guides(directory)
                _cache[directory] = loaded
    return loaded


# --------------------------------------------------------------------------------------------------
# Selection

_SPACE_RE = re.compile(r"\s+")


def prepare(text: str) -> str:
    """What the patterns see: NFKC, Simplified characters, lower case, no spaces."""
    text = unicodedata.normalize("NFKC", text or "")
    try:
        from knowledge_base.text import to_simplified

        text = to_simplified(text)
    except ImportError:  # pragma: no cover - opencc is part of both environments
        pass
    return _SPACE_RE.sub("", text).lower()


@dataclass(frozen=True)
class Scored:
    guide: Guide
    score: float
    core: int
    boosts: int


def score(guide: Guide, text: str, dispute_type: str | None = None) -> Scored | None:
    """The guide's score for prepared text, or None when it is no candidate."""
    t = guide.triggers
    core = sum(1 for p in t.core if p.search(text))
    if not core or any(p.search(text) for p in t.exclude):
        return None
    if t.require and not any(p.search(text) for p in t.require):
        return None
    boosts = min(sum(1 for p in t.boost if p.search(text)), MAX_BOOSTS)
    value = guide.core_weight * core + BOOST_WEIGHT * boosts
    if dispute_type and dispute_type == guide.dispute_type:
        value += TYPE_BONUS
    return Scored(guide, value, core, boosts)


def rank(
    text: str, dispute_type: str | None = None, catalogue: dict[str, Guide] | None = None
) -> list[Scored]:
    """Every candidate guide for the message, best first; generic guides only when no other guide is one."""
    prepared = prepare(text)
    found = [s for g in (catalogue or guides()).values() if (s := score(g, prepared, dispute_type))]
    specific = [s for s in found if not s.guide.generic]
    found = specific or found
    found.sort(key=lambda s: -s.score)
    return found


def select(
    text: str, dispute_type: str | None = None, catalogue: dict[str, Guide] | None = None
) -> Guide | None:
    """The guide that fits the message, or None when none fits or two fit about equally well."""
    ranked = rank(text, dispute_type if disputes.get(dispute_type) else None, catalogue)
    if not ranked or ranked[0].score < MIN_SCORE:
        return None
    if len(ranked) > 1 and ranked[0].score - ranked[1].score < MARGIN:
        return None
    return ranked[0].guide


def calculation(guide: Guide, text: str) -> str | None:
    """The guide's calculation from the numbers in the message, when it has a calculator and they are there."""
    if not guide.calculator:
        return None
    return calculators.calculate(guide.calculator, unicodedata.normalize("NFKC", text or ""))


# --------------------------------------------------------------------------------------------------
# Measuring the selector on labelled messages

NO_GUIDE_LABELS = frozenset({"", "none", "null"})


@dataclass(frozen=True)
class Evaluation:
    n: int
    fitting: int  # the labelled guide was chosen
    wrong: int  # another guide was chosen (for a message labelled "none": any guide)
    none: int  # no guide was chosen for a message with a label
    correct_none: int  # no guide for a message labelled "none"
    mistakes: tuple[tuple[str, str, str], ...]  # (text, label, chosen or "")

    def as_dict(self) -> dict[str, Any]:
        share = lambda k: round(k / self.n, 4) if self.n else 0.0  # noqa: E731
        return {
            "n": self.n,
            "fitting": self.fitting,
            "wrong": self.wrong,
            "no_guide": self.none,
            "correct_no_guide": self.correct_none,
            "fitting_share": share(self.fitting),
            "wrong_share": share(self.wrong),
            "no_guide_share": share(self.none),
            "correct_no_guide_share": share(self.correct_none),
        }


def evaluate(examples: list[dict[str, Any]], catalogue: dict[str, Guide] | None = None) -> Evaluation:
    """Counts of fitting, wrong and no guide over {"text", "situation", optional "dispute_type"} examples."""
    fitting = wrong = none = correct_none = 0
    mistakes = []
    for ex in examples:
        label = str(ex.get("situation") or "").strip()
        chosen = select(ex["text"], ex.get("dispute_type"), catalogue)
        got = chosen.id if chosen else ""
        if label.lower() in NO_GUIDE_LABELS:
            if got:
                wrong += 1
                mistakes.append((ex["text"], "none", got))
            else:
                correct_none += 1
        elif got == label:
            fitting += 1
        elif got:
            wrong += 1
            mistakes.append((ex["text"], label, got))
        else:
            none += 1
            mistakes.append((ex["text"], label, ""))
    return Evaluation(len(examples), fitting, wrong, none, correct_none, tuple(mistakes))
