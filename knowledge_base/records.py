"""The one normalised record type every source is converted into."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class Record:
    id: str
    kind: str  # "statute" | "precedent"
    title: str  # law name for statutes, case title for precedents
    text: str
    level: str | None = None  # 法律 / 行政法规 / 司法解释 / 部门规章 / 地方性法规 / 宪法
    region: str | None = None  # e.g. 浙江省 for local regulations, None for national
    chapter: str | None = None
    article_no: str | None = None  # 第五十条
    article_num: int | None = None  # 50
    status: str | None = None  # 现行有效 / 已废止 / 已被修改 / 历史版本 / None when unknown
    version_date: str | None = None
    effective_date: str | None = None
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # precedents: outcome, cited articles, category

    @property
    def citation_label(self) -> str:
        if self.kind == "statute":
            return f"《{self.title}》{self.article_no or ''}"
        return self.title

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        return cls(**data)
