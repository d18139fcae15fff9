"""Small, pure text helpers the learners and executors share: words, headings, bullets, weeks."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
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

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'+-]*|[\u4e00-\u9fff]+")
_BULLET = re.compile(r"^\s*(?P<mark>[-*•·]|\d+[.)])\s+(?P<text>\S.*)$")
_HEADINGS = (
    (re.compile(r"^\*\*(?P<h>[^*]{1,60})\*\*:?$"), "**{h}**"),
    (re.compile(r"^\*(?P<h>[^*]{1,60})\*:?$"), "*{h}*"),
    (re.compile(r"^__(?P<h>[^_]{1,60})__:?$"), "__{h}__"),
    (re.compile(r"^(?P<hashes>#{1,6})\s+(?P<h>.{1,60})$"), "{hashes} {h}"),
    (re.compile(r"^(?P<h>[^\s:*#-][^:]{0,40})[:：]$"), "{h}:"),
)
_ISO_WEEK = re.compile(r"\b(?P<y>\d{4})-W(?P<w>\d{2})\b")
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def words(text: str) -> list[str]:
    """Lower-cased words (Latin words and runs of CJK characters)."""
    return [w.lower().strip("'-") for w in _WORD.findall(text)]


def stem(word: str) -> str:
    """A crude English stem, enough to match 'fixed'/'fixing'/'fixes'."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOPWORDS and len(w) >= 2]


def stems(text: str) -> set[str]:
    return {stem(w) for w in content_words(text)}


def jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    sa, sb = set(a), set(b)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


def heading_key(heading: str) -> str:
    return " ".join(words(heading))


@dataclass(frozen=True, slots=True)
class Heading:
    text: str
    style: str  # e.g. "*{h}*", "{h}:" — how to write a heading the same way


def parse_heading(line: str) -> Heading | None:
    """A short line that introduces a section: `*Done*`, `## Done`, `Done:`."""
    stripped = line.strip()
    if not stripped or len(stripped.split()) > 6:
        return None
    for pattern, style in _HEADINGS:
        match = pattern.match(stripped)
        if match:
            text = match.group("h").strip().rstrip(":：").strip()
            if not text or not words(text):
                return None
            hashes = match.groupdict().get("hashes")
            return Heading(text, style.replace("{hashes}", hashes) if hashes else style)
    return None


def parse_bullet(line: str) -> tuple[str, str] | None:
    """`- item` → ('-', 'item'); None when the line is no bullet."""
    match = _BULLET.match(line)
    if not match:
        return None
    return match.group("mark"), match.group("text").strip()


@dataclass(frozen=True, slots=True)
class Section:
    heading: Heading
    items: tuple[str, ...]
    bullet: str


@dataclass(frozen=True, slots=True)
class StructuredPost:
    title: str
    sections: tuple[Section, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(heading_key(s.heading.text) for s in self.sections)


def parse_structured(text: str) -> StructuredPost | None:
    """A post made of headed sections of bullets (at least two sections), else None."""
    title_lines: list[str] = []
    sections: list[tuple[Heading, list[str], str]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        bullet = parse_bullet(line)
        heading = None if bullet else parse_heading(line)
        if heading is not None:
            sections.append((heading, [], "-"))
        elif bullet is not None and sections:
            head, items, _ = sections[-1]
            items.append(bullet[1])
            sections[-1] = (head, items, bullet[0])
        elif not sections:
            title_lines.append(line.strip())
        elif sections[-1][1]:
            continue  # prose after a section's bullets: not part of the template
    filled = [s for s in sections if s[1]]
    if len(filled) < 2:
        return None
    return StructuredPost(
        title=" ".join(title_lines)[:200],
        sections=tuple(Section(h, tuple(items), mark) for h, items, mark in filled),
    )


def generalize_title(title: str) -> str:
    """`Weekly report 2026-W47` → `Weekly report {week}`; dates become `{date}`."""
    return _DATE.sub("{date}", _ISO_WEEK.sub("{week}", title)).strip()


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
