"""Small, pure text helpers the learners share: English stop words, a crude stem, ISO weeks."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "after",
        "again",
        "all",
        "also",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "before",
        "being",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "done",
        "down",
        "each",
        "etc",
        "few",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "here",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "it's",
        "its",
        "just",
        "let",
        "let's",
        "lets",
        "me",
        "more",
        "most",
        "my",
        "no",
        "not",
        "of",
        "off",
        "on",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "per",
        "please",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "too",
        "under",
        "up",
        "very",
        "via",
        "vs",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "yes",
        "you",
        "your",
    ]
)

_ISO_WEEK = re.compile(r"\b(?P<y>\d{4})-W(?P<w>\d{2})\b")


def stem(word: str) -> str:
    """A crude English stem, enough to match 'fixed'/'fixing'/'fixes'."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def iso_week_label(day: date | datetime) -> str:
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def parse_iso_week(label: str) -> tuple[datetime, datetime] | None:
    """`2026-W47` → (Monday 00:00 UTC, next Monday 00:00 UTC); None when malformed."""
    match = _ISO_WEEK.fullmatch(label.strip().upper()) if label else None
    if not match:
        return None
    try:
        monday = date.fromisocalendar(int(match["y"]), int(match["w"]), 1)
    except ValueError:
        return None
    start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
    return start, start + timedelta(days=7)


def week_bounds(now: datetime) -> tuple[datetime, datetime]:
    monday = (now - timedelta(days=now.weekday())).date()
    start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
    return start, start + timedelta(days=7)
