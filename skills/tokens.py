"""Tokens for comparing text in English, Chinese, or both in one line.

Latin words are lower-cased and crudely stemmed; runs of Chinese characters are segmented
with jieba (loaded once, on first use) and also give character bigrams, which survive
segmentation differences between two people's phrasings.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Iterable
from functools import cache
from typing import Any

from skills.text import STOPWORDS, stem

_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9_']*")
_CJK = re.compile(r"[\u4e00-\u9fff]+")
_CJK_CHAR = re.compile(r"[\u4e00-\u9fff]")
# Function words that say nothing about the work (particles, pronouns, copulas).
ZH_STOP = frozenset(
    [
        "的",
        "地",
        "得",
        "了",
        "着",
        "过",
        "在",
        "是",
        "我",
        "你",
        "他",
        "她",
        "它",
        "们",
        "把",
        "被",
        "也",
        "都",
        "和",
        "与",
        "及",
        "就",
        "还",
        "又",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "哦",
        "嗯",
        "这",
        "那",
        "个",
        "一下",
        "一个",
        "有",
        "没",
        "不",
        "很",
        "给",
        "让",
        "对",
        "从",
        "到",
        "为",
        "以",
        "而",
        "之",
        "其",
    ]
)
# Work references: tickets (PAY-231, DP-1203), pull/merge requests (PR 512, #518, !12).
_REF = re.compile(
    r"(?<![\w-])(?P<ticket>[A-Z][A-Z0-9]{1,9}-\d+|[A-Za-z][A-Za-z0-9]{1,9}-\d{2,})\b|"
    r"(?:\b(?:PR|MR|pr|mr)\s*#?\s*|#|"
    r"!)(?P<num>\d{2,})\b"
)


@cache
def _jieba() -> Any:
    import jieba  # type: ignore[import-untyped]  # noqa: PLC0415 - 0.7 s to load: only for Chinese

    jieba.setLogLevel(logging.WARNING)
    return jieba


@cache
def _segment(run: str) -> tuple[str, ...]:
    return tuple(w for w in _jieba().cut(run) if w.strip())


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def cjk_share(text: str) -> float:
    letters = len(_CJK_CHAR.findall(text)) + len(_LATIN.findall(text))
    return len(_CJK_CHAR.findall(text)) / letters if letters else 0.0


def words(text: str) -> list[str]:
    """Content words in reading order: stemmed Latin words and segmented Chinese words."""
    found: list[str] = []
    for match in re.finditer(r"[A-Za-z][A-Za-z0-9_']*|[\u4e00-\u9fff]+", text):
        token = match.group(0)
        if _CJK.fullmatch(token):
            found.extend(w for w in _segment(token) if w not in ZH_STOP)
        else:
            lowered = token.lower().strip("'")
            if lowered not in STOPWORDS and len(lowered) >= 2:
                found.append(stem(lowered))
    return found


def bigrams(text: str) -> set[str]:
    """Chinese character bigrams (single characters for one-character runs)."""
    grams: set[str] = set()
    for run in _CJK.findall(text):
        if len(run) == 1:
            grams.add(run)
        grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return grams


def features(text: str) -> Counter[str]:
    """Words, Chinese bigrams and work references: what two phrasings of one thing share."""
    found = Counter(words(text))
    found.update("~" + g for g in bigrams(text))
    found.update("@" + r for r in refs(text))
    return found


def refs(text: str) -> set[str]:
    """Ticket, PR and MR references, normalized: `PR #512` and `#512` are both `512`."""
    found = set()
    for match in _REF.finditer(text):
        found.add((match["ticket"] or match["num"]).lower())
    return found


def cosine(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    dot = sum(v * b.get(k, 0) for k, v in a.items())
    if not dot:
        return 0.0
    return dot / (
        math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    )


def overlap(a: str, b: str) -> float:
    """Share of `a`'s features found in `b` (0..1)."""
    fa, fb = set(features(a)), set(features(b))
    return len(fa & fb) / len(fa) if fa else 0.0


def similarity(a: str, b: str) -> float:
    return cosine(features(a), features(b))


def idf(documents: Iterable[Counter[str]]) -> dict[str, float]:
    docs = list(documents)
    df: Counter[str] = Counter()
    for d in docs:
        df.update(set(d))
    n = len(docs) or 1
    return {k: math.log((1 + n) / (1 + v)) + 1 for k, v in df.items()}
