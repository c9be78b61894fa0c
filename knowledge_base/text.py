"""Text normalisation and tokenisation shared by indexing and search."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import jieba

# Function words and question framing that carry no legal meaning in a resident's question.
STOPWORDS = frozenset(
    [
        "的",
        "了",
        "是",
        "在",
        "和",
        "与",
        "对",
        "于",
        "由",
        "从",
        "被",
        "把",
        "及",
        "或",
        "并",
        "等",
        "请问",
        "问",
        "我",
        "我们",
        "你",
        "你们",
        "他",
        "她",
        "它",
        "他们",
        "这",
        "那",
        "个",
        "之",
        "其",
        "什么",
        "怎么",
        "怎么办",
        "怎样",
        "如何",
        "咨询",
        "一下",
        "有关",
        "关于",
        "应该",
        "可以",
        "是否",
        "有没有",
        "如果",
        "因为",
        "所以",
        "但是",
        "然后",
        "因此",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "哦",
        "嗯",
        "么",
        "啥",
        "咋",
        "能",
        "能不能",
        "会",
        "会不会",
        "要",
        "想",
        "就",
        "都",
        "也",
        "还",
        "又",
        "很",
        "太",
        "着",
        "过",
        "给",
        "让",
        "该",
        "有",
        "没有",
        "没",
        "现在",
        "已经",
        "一个",
        "这个",
        "那个",
        "这样",
        "那样",
        "自己",
        "人家",
        "哪里",
        "哪",
        "谁",
        "多少",
        "为什么",
        "为啥",
    ]
)

_PUNCT_RE = re.compile(r"^[\W_]+$", re.UNICODE)
_SPACE_RE = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s.json")


def to_simplified(text: str) -> str:
    """Traditional → Simplified Chinese (OpenCC); Simplified text passes through unchanged."""
    return _t2s().convert(text)


def normalize(text: str) -> str:
    """NFKC (full-width letters and digits → ASCII), Traditional → Simplified, collapsed whitespace."""
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(text)
    return _SPACE_RE.sub(" ", text).strip()


class Tokenizer:
    """A private jieba instance (so user dictionaries never leak between indexes) plus stop-word filtering."""

    def __init__(self, user_words: Iterable[str] = ()):
        self._jieba = jieba.Tokenizer()
        self._lock = threading.Lock()
        self._initialised = False
        self._user_words = list(user_words)

    def _ensure_initialised(self) -> None:
        with self._lock:
            if self._initialised:
                return
            self._jieba.initialize()
            for word in self._user_words:
                self._jieba.add_word(word, freq=2000)
            self._initialised = True

    def tokens(self, text: str) -> list[str]:
        """Search-mode tokens (long words and their parts), without stop words and punctuation."""
        self._ensure_initialised()
        out = []
        for tok in self._jieba.cut_for_search(text.lower()):
            tok = tok.strip()
            if not tok or tok in STOPWORDS or _PUNCT_RE.match(tok):
                continue
            out.append(tok)
        return out

    def tokenize_many(self, texts: Iterable[str]) -> list[list[str]]:
        return [self.tokens(t) for t in texts]

    @classmethod
    def from_user_dict(cls, path: Path) -> Tokenizer:
        words = [line.split()[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return cls(words)
