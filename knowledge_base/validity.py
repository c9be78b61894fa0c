"""Every statute article's validity, from what the corpus itself says, not from the labels it came with.

The sources disagree with the law and with each other: the embedded database labels every article of the
农村土地承包法 (2018) 已废止 though nothing repeals it, and the statute file carries no status at all, so laws
that were repealed would be served as in force. The status of a law is therefore decided, in this order, by:

1. **A repealing article in the corpus** ("《中华人民共和国环境保护法》……同时废止", `repeals.repealed_laws`): 已废止
   from the day the repealing law takes effect (`effective_date`, else its `version_date`); before that day the
   law is still in force and its articles say when they stop.
2. **The reviewed override list** (`data/validity_overrides.json`): what a person checked, with the reason, for
   what the data gets wrong or cannot show (a repeal by a decision that is not in the corpus).
3. **A newer version of the same law in the corpus**: only the newest version is in force, the others are
   历史版本.
4. **The source's label**, when it says a newer text exists (历史版本, 已被修改): kept, it makes no claim of repeal.
   A label of 已废止 that neither the corpus nor the list supports is not believed: the law counts as in force
   and the build reports it, so that it can be reviewed.
5. **Dates**: a law that takes effect after today is 尚未施行.

Whatever is left is 现行有效: every statute article leaves the build with a status.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from knowledge_base.records import Record
from knowledge_base.repeals import repealed_laws

IN_FORCE, REPEALED, HISTORICAL, AMENDED, NOT_YET = "现行有效", "已废止", "历史版本", "已被修改", "尚未施行"
STATUSES = (IN_FORCE, REPEALED, HISTORICAL, AMENDED, NOT_YET)
OVERRIDES_FILE = Path(__file__).resolve().parent.parent / "data" / "validity_overrides.json"


@dataclass(frozen=True)
class Override:
    status: str
    reason: str
    repealed_by: str | None = None


def load_overrides(path: Path = OVERRIDES_FILE) -> dict[str, Override]:
    """{law title: reviewed status}; each entry says why (the list is read by people, not only by the build)."""
    if not path.is_file():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, Override] = {}
    for title, entry in raw.get("laws", {}).items():
        if entry.get("status") not in STATUSES or not entry.get("reason"):
            raise ValueError(f"{path.name}: {title}: needs a status among {STATUSES} and a reason")
        out[title] = Override(entry["status"], entry["reason"], entry.get("repealed_by"))
    return out


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "")[:10])
    except ValueError:
        return None


def _version_key(r: Record) -> str:
    return r.version_date or r.effective_date or ""


def _superseded_versions(rows: list[Record], pending: set[int]) -> set[str]:
    """Version dates of a law whose text a newer version replaced.

    A date counts as an older version only when most of its article numbers appear again in the newest one: the
    statute file dates part of the 民法典 2020-05-28 and the rest 2021-01-01, two halves of one text (no article
    number in both), not two versions."""
    numbers: dict[str, set[str]] = defaultdict(set)
    for i, r in enumerate(rows):
        if i not in pending:
            numbers[_version_key(r)].add(r.article_no or r.id)
    if len(numbers) < 2:
        return set()
    newest = max(numbers)
    return {
        key for key, nums in numbers.items() if key != newest and len(nums & numbers[newest]) * 2 >= len(nums)
    }


def assign_statuses(
    records: list[Record], *, today: date | None = None, overrides: dict[str, Override] | None = None
) -> list[str]:
    """Set `status` (and `extra["validity"]`, the evidence) on every statute record, in place; returns what the
    build should report: labels the evidence overturned, and repeals still to come."""
    today = today or date.today()
    overrides = load_overrides() if overrides is None else overrides
    statutes = [r for r in records if r.kind == "statute"]
    by_title: dict[str, list[Record]] = defaultdict(list)
    for r in statutes:
        by_title[r.title].append(r)
    # Repealing articles count from every law, also one repealed later: its repeal of an older law stands.
    repeals = repealed_laws(statutes)
    effective: dict[str, date | None] = {
        title: _day(max((r.effective_date or r.version_date or "" for r in rows), default=None))
        for title, rows in by_title.items()
    }
    report: list[str] = []
    for title, rows in by_title.items():
        # Versions that take effect after today, by position (a list test on records compares every field).
        pending = {i for i, r in enumerate(rows) if (start := _day(r.effective_date)) and start > today}
        older = _superseded_versions(rows, pending)
        # Every pending version has an effective date (that is how it is pending).
        coming = [d for i in pending if (d := rows[i].effective_date) is not None]
        label_repealed = any(r.status == REPEALED for r in rows)
        status, evidence = IN_FORCE, "no repealing article, override or newer version in the corpus"
        override = overrides.get(title)
        repealed_by = repeals.get(title)
        if repealed_by:
            repealer = repealed_by.split("》")[0].lstrip("《")
            starts = effective.get(repealer)
            if starts is None or starts <= today:
                status, evidence = (
                    REPEALED,
                    f"废止：{repealed_by}" + (f"（{starts.isoformat()}起）" if starts else ""),
                )
            else:
                evidence = f"将于{starts.isoformat()}被{repealed_by}废止"
                report.append(f"{title}: in force until {starts.isoformat()}, repealed by {repealed_by}")
        elif override:
            status, evidence = override.status, f"人工核对：{override.reason}"
        for i, r in enumerate(rows):
            r_status, r_evidence = status, evidence
            if status == IN_FORCE:
                if i in pending:
                    r_status, r_evidence = NOT_YET, f"自{r.effective_date}起施行"
                elif _version_key(r) in older:
                    r_status, r_evidence = HISTORICAL, "语料中有同一法律的更新版本"
                elif coming:
                    # The newer text is not in force yet: this one governs until it is, whatever its label says.
                    r_evidence = f"新版本自{min(coming)}起施行，在此之前适用本版本"
                elif r.status in (HISTORICAL, AMENDED):
                    r_status, r_evidence = r.status, "来源标注"
            r.extra = dict(r.extra or {}) | {"validity": r_evidence}
            r.status = r_status
        if label_repealed and status != REPEALED:
            report.append(f"{title}: labelled 已废止 by its source, but {evidence}: served as {status}")
    return report


def repealed_note(record: Record) -> str | None:
    """What a resident is told about a repealed article: it does not govern what happens now."""
    if record.status != REPEALED:
        return None
    evidence = (record.extra or {}).get("validity") or ""
    by = evidence.removeprefix("废止：") if evidence.startswith("废止：") else ""
    return (
        f"此法已废止{('（' + by + '）') if by else ''}，不适用于现在发生的纠纷；"
        "只有废止以前发生的事，才可能仍按它处理"
    )
