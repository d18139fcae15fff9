"""Template mining and filling: recurring structured posts → headed sections → filled draft.

Used by `weekly-report` (posts with a weekly cadence) and by skills taught by example.
A template dict looks like::

    {"title": "Weekly report {week}", "heading_style": "*{h}*", "bullet": "-",
     "sections": [{"heading": "Done", "usual_items": 2, "usual_words": 5,
                   "keywords": {"ship": 3, …}, "authors": [...], "sources": [...]}],
     "title_authors": [...], "posts": 12, "weeks": 4}
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from skills.material import Material
from skills.text import (
    StructuredPost,
    content_words,
    generalize_title,
    heading_key,
    iso_week_label,
    jaccard,
    parse_bullet,
    parse_heading,
    parse_structured,
    stem,
    stems,
)

# What kind of section a heading names, and the cue words that route an item to it before
# anything is learned. Learned keywords (the team's own) add to these.
SECTION_CLASSES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "done": (
        (
            "done",
            "completed",
            "complete",
            "shipped",
            "finished",
            "accomplished",
            "last week",
            "achievements",
            "highlights",
            "已完成",
            "完成",
            "本周完成",
        ),
        (
            "finish",
            "shipped",
            "ship",
            "fix",
            "fixed",
            "done",
            "complet",
            "merg",
            "releas",
            "resolv",
            "deploy",
            "draft",
            "review",
            "wrote",
            "clos",
            "deliver",
            "land",
            "yesterday",
            "launch",
            "migrat",
            "implement",
            "add",
            "built",
        ),
    ),
    "progress": (
        (
            "in progress",
            "progress",
            "doing",
            "ongoing",
            "current",
            "wip",
            "working on",
            "进行中",
            "进展",
        ),
        (
            "work",
            "continu",
            "pair",
            "investigat",
            "build",
            "today",
            "ongo",
            "progress",
            "start",
            "prototyp",
            "explor",
        ),
    ),
    "blockers": (
        (
            "blockers",
            "blocker",
            "blocked",
            "risks",
            "risk",
            "issues",
            "problems",
            "help needed",
            "阻塞",
            "风险",
            "问题",
        ),
        ("wait", "block", "need", "stuck", "depend", "access", "risk", "slow", "broken"),
    ),
    "next": (
        ("next week", "next", "plans", "plan", "upcoming", "todo", "to do", "下周", "计划"),
        ("will", "next", "plan", "tomorrow", "go", "upcoming", "load", "runbook", "prepar"),
    ),
}
_LINE_CUES = {
    "yesterday": "done",
    "done": "done",
    "today": "progress",
    "now": "progress",
    "blockers": "blockers",
    "blocker": "blockers",
    "blocked": "blockers",
    "next": "next",
    "tomorrow": "next",
}
_NOT_WORK = re.compile(
    r"^(agenda|decision|decisions|question|questions|attendees|notes|owner|answer|a|q)\s*[:：]",
    re.I,
)
_ACTION = re.compile(r"^action\s*(item)?\s*[:：]\s*(?P<rest>.+)$", re.I)
_REVIEW = re.compile(r"^\s*(code\s+)?review(ed)?\s+(on|of|for)\s+(?P<ref>PR\s*#?\d+|#\d+)", re.I)
_PREFIX = re.compile(r"^(?P<cue>[A-Za-z][A-Za-z ]{1,20})\s*[:：]\s*(?P<rest>.+)$")
_EMPTY_ITEM = re.compile(r"^(none|nothing|n/?a|no blockers?|-+|—)\.?$", re.I)
_TITLE_WORDS = {
    "notes",
    "meeting",
    "report",
    "standup",
    "retro",
    "sync",
    "update",
    "weekly",
    "planning",
    "review",
    "memo",
    "minutes",
}


def section_class(heading: str) -> str | None:
    key = heading_key(heading)
    for name, (names, _) in SECTION_CLASSES.items():
        if key in names:
            return name
    for name, (names, _) in SECTION_CLASSES.items():
        if any(n in key for n in names if " " not in n and len(n) > 3):
            return name
    return None


# -- mining -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Post:
    material: Material
    post: StructuredPost


def structured_posts(materials: Iterable[Material]) -> list[_Post]:
    found = []
    for m in materials:
        post = parse_structured(m.text)
        if post is not None:
            found.append(_Post(m, post))
    return found


def _is_weekly(posts: Sequence[_Post]) -> bool:
    """Recurring with a weekly cadence: at least two ISO weeks, about one post a week each."""
    weeks = {iso_week_label(p.material.occurred_at) for p in posts}
    if len(weeks) < 2:
        return False
    per_author_week = Counter(
        (p.material.author, iso_week_label(p.material.occurred_at)) for p in posts
    )
    return statistics.mean(per_author_week.values()) <= 1.5


def mine(materials: Sequence[Material], *, weekly: bool) -> tuple[dict, dict] | None:
    """The template of the most common recurring structured post, and its provenance."""
    posts = structured_posts(materials)
    if not posts:
        return None
    by_signature: dict[frozenset[str], list[_Post]] = defaultdict(list)
    for p in posts:
        by_signature[frozenset(p.post.keys)].append(p)
    candidates = [group for group in by_signature.values() if not weekly or _is_weekly(group)]
    if not candidates:
        return None
    best = max(candidates, key=lambda g: (len(g), len(g[0].post.keys)))
    best_keys = set(best[0].post.keys)
    family = [p for p in posts if jaccard(p.post.keys, best_keys) >= 0.5]
    if weekly and not _is_weekly(family):
        family = best

    positions: dict[str, list[float]] = defaultdict(list)
    headings: dict[str, Counter[str]] = defaultdict(Counter)
    styles: Counter[str] = Counter()
    bullets: Counter[str] = Counter()
    items_per: dict[str, list[int]] = defaultdict(list)
    words_per: dict[str, list[int]] = defaultdict(list)
    keywords: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    authors: dict[str, set[str]] = defaultdict(set)
    sources: dict[str, list[str]] = defaultdict(list)
    titles: Counter[str] = Counter()
    title_authors: dict[str, set[str]] = defaultdict(set)
    for p in family:
        n = len(p.post.sections)
        title = generalize_title(p.post.title)
        if title:
            titles[title] += 1
            title_authors[title].add(p.material.author)
        for index, section in enumerate(p.post.sections):
            key = heading_key(section.heading.text)
            positions[key].append(index / max(1, n - 1))
            headings[key][section.heading.text] += 1
            styles[section.heading.style] += 1
            bullets[section.bullet] += 1
            items_per[key].append(len(section.items))
            for item in section.items:
                words_per[key].append(len(item.split()))
                if not _EMPTY_ITEM.match(item):
                    keywords[key][p.material.author].update(stems(item))
            authors[key].add(p.material.author)
            sources[key].append(p.material.id)
    keep = [k for k in positions if len(positions[k]) * 2 >= len(family)]
    keep.sort(key=lambda k: statistics.mean(positions[k]))
    title = titles.most_common(1)[0][0] if titles else ""
    template = {
        "title": title,
        "title_authors": sorted(title_authors.get(title, set())),
        "heading_style": styles.most_common(1)[0][0],
        "bullet": bullets.most_common(1)[0][0],
        "posts": len(family),
        "weeks": len({iso_week_label(p.material.occurred_at) for p in family}),
        "sections": [
            {
                "heading": headings[k].most_common(1)[0][0],
                "class": section_class(headings[k].most_common(1)[0][0]),
                "usual_items": round(statistics.median(items_per[k])),
                "usual_words": round(statistics.median(words_per[k] or [0])),
                "keywords": merge_keywords(keywords[k].values()),
                "keywords_by": {a: dict(c.most_common(40)) for a, c in sorted(keywords[k].items())},
                "authors": sorted(authors[k]),
            }
            for k in keep
        ],
    }
    provenance = {
        "sections": {headings[k].most_common(1)[0][0]: sorted(set(sources[k])) for k in keep},
        "inputs": sorted({p.material.id for p in family}),
    }
    return template, provenance


# -- filling ------------------------------------------------------------------------------


@dataclass(slots=True)
class Item:
    text: str
    sources: list[Material] = field(default_factory=list)
    cue: str | None = None  # a section class or a section heading key the author gave


def _clean(text: str) -> str:
    text = text.strip().rstrip(".").strip()
    return text[:1].upper() + text[1:] if text else text


def _looks_like_title(line: str, first: bool, multi: bool) -> bool:
    if not (first and multi):
        return False
    ws = {w.lower() for w in re.findall(r"[A-Za-z]+", line)}
    return len(line.split()) <= 7 and bool(ws & _TITLE_WORDS)


def extract_items(materials: Sequence[Material], author: str) -> list[Item]:
    """One item per piece of work in this author's own messages (others' are never read)."""
    items: list[Item] = []
    for m in materials:
        if m.author != author:
            continue
        review = _REVIEW.match(m.text)
        if review:
            items.append(Item(f"Reviewed {review.group('ref')}", [m], "done"))
            continue
        lines = [line for line in m.text.splitlines() if line.strip()]
        heading_cue: str | None = None
        for index, line in enumerate(lines):
            heading = parse_heading(line) if not parse_bullet(line) else None
            if heading is not None:
                heading_cue = heading_key(heading.text)
                continue
            bullet = parse_bullet(line)
            text = bullet[1] if bullet else line.strip()
            if _looks_like_title(text, index == 0, len(lines) > 1):
                continue
            if text.endswith("?") or _NOT_WORK.match(text):
                continue
            cue = heading_cue
            action = _ACTION.match(text)
            if action:
                rest = action.group("rest")
                owner = rest.split()[0].lstrip("@").lower() if rest.split() else ""
                if owner != author.lower():
                    continue  # someone else's action, or nobody's: not this person's work
                text, cue = rest.split(None, 1)[1] if len(rest.split()) > 1 else rest, "next"
            prefix = _PREFIX.match(text)
            if prefix and prefix.group("cue").lower().strip() in _LINE_CUES:
                cue = _LINE_CUES[prefix.group("cue").lower().strip()]
                text = prefix.group("rest")
            elif prefix and len(prefix.group("cue").split()) <= 2 and not bullet:
                text = f"{prefix.group('cue')}: {prefix.group('rest')}"
            if _EMPTY_ITEM.match(text.strip()) or len(content_words(text)) < 2:
                continue
            items.append(Item(_clean(text), [m], cue))
    return _merge_duplicates(items)


def _merge_duplicates(items: list[Item]) -> list[Item]:
    merged: list[Item] = []
    for item in items:
        item_stems = stems(item.text)
        twin = next((o for o in merged if jaccard(stems(o.text), item_stems) >= 0.5), None)
        if twin is None:
            merged.append(item)
        else:
            twin.sources.extend(s for s in item.sources if s not in twin.sources)
            if len(item.text) > len(twin.text):
                twin.text = item.text
            twin.cue = twin.cue or item.cue
    return merged


def route(item: Item, sections: Sequence[dict]) -> int:
    """The section an item belongs to: the author's own cue, else learned and cue words."""
    if not sections:
        return -1
    if item.cue:
        for index, s in enumerate(sections):
            if heading_key(s["heading"]) == item.cue or s.get("class") == item.cue:
                return index
    item_stems = {stem(w) for w in content_words(item.text)}
    first = stem(item.text.split()[0].lower()) if item.text.split() else ""
    scores = []
    for s in sections:
        learned = s.get("keywords", {})
        total = sum(learned.values()) or 1
        score = sum(math.log1p(20 * learned.get(w, 0) / total) for w in item_stems)
        cls = s.get("class")
        if cls in SECTION_CLASSES:
            cues = SECTION_CLASSES[cls][1]
            score += sum(0.6 for w in item_stems if any(w.startswith(c) for c in cues))
            # The opening verb says most: "Finished …", "Waiting on …", "Will …".
            if first and (
                any(first.startswith(c) for c in cues)
                or (
                    cls == "done"
                    and item.text.split()[0].lower().endswith("ed")
                    and not first.startswith(("block", "need"))
                )
            ):
                score += 3.0
        scores.append(score)
    best = max(range(len(sections)), key=lambda i: scores[i])
    if scores[best] <= 0:
        fallback = next((i for i, s in enumerate(sections) if s.get("class") == "progress"), None)
        return fallback if fallback is not None else 0
    return best


def merge_keywords(counters: Iterable[Counter[str] | dict[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for counter in counters:
        total.update(counter)
    return dict(total.most_common(40))


def visible_sections(template: dict, live: set[str]) -> list[dict]:
    """The sections someone who still consents taught, routed only by their words.

    Withdrawal hides the rest at once, without waiting for a rebuild.
    """
    shown = []
    for s in template.get("sections", []):
        if s.get("authors") and not set(s["authors"]) & live:
            continue  # an imported section names no author here and stays visible
        by = s.get("keywords_by")
        if by is not None:
            s = {**s, "keywords": merge_keywords(c for a, c in by.items() if a in live)}
        shown.append(s)
    return shown


def heading_line(template: dict, heading: str) -> str:
    return template.get("heading_style", "*{h}*").replace("{h}", heading)
