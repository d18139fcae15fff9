"""Template induction: align a team's recurring posts to find their title, headings and order.

Nothing here knows any team's section names or markup. A heading is a short line that recurs
across posts by different people (`*Shipped*`, `### ✅ Done`, `【本周完成】`, `1、进行中`,
`Needs help:` all work); the lines between two headings are that section's items. The title
keeps only what is constant across posts: the week and the date become fields, a word seen
in one post alone is never part of it. A template dict looks like::

    {"title": "checkout weekly — {week}", "heading_style": "*{h}*", "bullet": "-",
     "sections": [{"heading": "Shipped", "key": "shipped", "state": "done",
                   "usual_items": 2, "authors": [...]}],
     "title_authors": [...], "posts": 12, "weeks": 4}
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from skills.material import Material
from skills.status import BLOCKED, DONE, NEXT, PROGRESS, heading_state, state_of
from skills.text import iso_week_label

MIN_POSTS = 2
_BULLET = re.compile(r"^\s*(?P<mark>[-*•·▪◦●]|\d{1,2}[.)]|[（(]?\d{1,2}[)）])\s+(?P<rest>\S.*)$")
_CHECKBOX = re.compile(r"^\[[ xX✓]\]\s*")
_NUMBERED = re.compile(r"^\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*[、.．]\s*(?P<rest>\S.*)$")
_MARKUP = (
    (re.compile(r"^\*\*(?P<h>[^*]+?)\*\*\s*[:：]?$"), "**{h}**"),
    (re.compile(r"^\*(?P<h>[^*]+?)\*\s*[:：]?$"), "*{h}*"),
    (re.compile(r"^__(?P<h>[^_]+?)__\s*[:：]?$"), "__{h}__"),
    (re.compile(r"^(?P<hashes>#{1,6})\s*(?P<h>.+?)\s*[:：]?$"), "{hashes} {h}"),
    (re.compile(r"^【(?P<h>[^】]+)】\s*[:：]?$"), "【{h}】"),
    (re.compile(r"^\[(?P<h>[^\]]+)\]\s*[:：]?$"), "[{h}]"),
    (re.compile(r"^(?P<h>[^:：]+?)\s*：$"), "{h}："),
    (re.compile(r"^(?P<h>[^:：]+?)\s*:$"), "{h}:"),
)
_LABEL = re.compile(r"^(?P<label>[^:：]{1,24}?)\s*[:：]\s*(?P<rest>\S.*)$")
_INLINE_BRACKET = re.compile(r"^【(?P<label>[^】]{1,16})】\s*(?P<rest>\S.*)$")
_KEY_DROP = re.compile(r"[^\w\u4e00-\u9fff]+")
_WEEK = re.compile(r"\b\d{4}-?W\d{1,2}\b|\bW(?:eek)?\s?\d{1,2}\b|第\s*\d{1,2}\s*周", re.I)
_DATE = re.compile(
    r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b|\b\d{1,2}[/.]\d{1,2}\b|\d{1,2}月\d{1,2}日|"
    r"\b\d{1,2}-\d{1,2}\b"
)
_TOKEN = re.compile(
    r"\{week\}|\{date\}|\{name\}|[A-Za-z0-9]+|[\u4e00-\u9fff]|[^\sA-Za-z0-9\u4e00-\u9fff]"
)
_NOTHING = re.compile(
    r"^(none|nothing|n/?a|nope|nil|no blockers?|no issues?|no risks?|all good|-+|—|无|没有|暂无|"
    r"无阻塞|无风险|暂时没有)[\s.!。！~]*((this week|so far|for now|目前|本周).{0,12})?$",
    re.I,
)


def key(text: str) -> str:
    """What two spellings of one heading share: letters and digits, lower-cased."""
    return " ".join(_KEY_DROP.sub(" ", text.lower()).split())


def strip_bullet(line: str) -> tuple[str, str]:
    """(`-`, item) for a bulleted line, ("", line) otherwise."""
    match = _BULLET.match(line)
    if match:
        return match["mark"], _CHECKBOX.sub("", match["rest"]).strip()
    return "", line.strip()


@dataclass(frozen=True, slots=True)
class HeadingLine:
    text: str  # the heading as written, markup removed
    style: str  # how to write a heading the same way, e.g. "【{h}】"
    inline: str = ""  # an item written on the heading's own line ("Blockers: none")


def heading_candidate(line: str) -> HeadingLine | None:
    """The line read as a heading: short, not a bulleted item (a numbered `1、X` may be one)."""
    stripped = line.strip()
    if not stripped or _BULLET.match(stripped):
        return None
    numbered = _NUMBERED.match(stripped)
    body = numbered["rest"] if numbered else stripped
    inline = _INLINE_BRACKET.match(body)
    if inline:  # 【X】 followed by text, however long the text
        return HeadingLine(inline["label"].strip(), "【{h}】", inline["rest"].strip())
    label = _LABEL.match(body)
    if label and len(label["label"].split()) <= 4 and key(label["label"]) and len(body) > 48:
        sep = "：" if "：" in body[: len(label["label"]) + 2] else ":"
        return HeadingLine(label["label"].strip(), "{h}" + sep, label["rest"].strip())
    if len(stripped) > 48:
        return None
    for pattern, style in _MARKUP:
        match = pattern.match(body)
        if match and key(match["h"]):
            hashes = match.groupdict().get("hashes") or ""
            style = style.replace("{hashes}", hashes)
            return HeadingLine(match["h"].strip(), ("1、" if numbered else "") + style)
    if label and len(label["label"].split()) <= 4 and key(label["label"]):
        sep = "：" if "：" in body[: len(label["label"]) + 2] else ":"
        return HeadingLine(label["label"].strip(), "{h}" + sep, label["rest"].strip())
    if len(body.split()) <= 5 and key(body):
        return HeadingLine(body, ("1、" if numbered else "") + "{h}")
    return None


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@dataclass(slots=True)
class _Post:
    material: Material
    keys: list[str]  # heading keys in order of appearance


def _recurring_keys(materials: Sequence[Material]) -> tuple[Counter[str], dict[str, set[str]]]:
    posts: Counter[str] = Counter()
    authors: dict[str, set[str]] = defaultdict(set)
    for m in materials:
        seen = set()
        for line in _lines(m.text)[:60]:
            heading = heading_candidate(line)
            if heading is not None:
                seen.add(key(heading.text))
        for k in seen:
            posts[k] += 1
            authors[k].add(m.author)
    return posts, authors


def _families(posts: list[_Post]) -> list[list[_Post]]:
    """Posts grouped by the recurring headings they share (a report is not a meeting memo)."""
    families: list[tuple[set[str], list[_Post]]] = []
    for p in sorted(posts, key=lambda p: -len(p.keys)):
        keys = set(p.keys)
        home = next(
            (f for f in families if len(keys & f[0]) / len(keys | f[0]) >= 0.5),
            None,
        )
        if home is None:
            families.append((keys, [p]))
        else:
            home[1].append(p)
    return [f for _, f in families]


def _weekly(posts: Sequence[_Post]) -> bool:
    weeks = {iso_week_label(p.material.occurred_at) for p in posts}
    per_author_week = Counter(
        (p.material.author, iso_week_label(p.material.occurred_at)) for p in posts
    )
    return len(weeks) >= 2 and statistics.mean(per_author_week.values()) <= 1.5


def mine(materials: Sequence[Material], *, weekly: bool) -> tuple[dict, dict] | None:
    """The template of the team's most common recurring structured post, and its provenance."""
    candidates = [m for m in materials if len(_lines(m.text)) >= 3]
    df, key_authors = _recurring_keys(candidates)
    many = len({m.author for m in candidates}) > 1
    recurring = {
        k for k, n in df.items() if n >= MIN_POSTS and (len(key_authors[k]) > 1 or not many)
    }
    posts = []
    for m in candidates:
        keys = []
        for index, line in enumerate(_lines(m.text)):
            heading = heading_candidate(line)
            if index == 0 and heading is not None and heading.inline:
                continue  # "【周报】2028-W14 zhangwei" is the title line
            k = key(heading.text) if heading else ""
            if k in recurring and k not in keys:
                keys.append(k)
        if len(keys) >= 2:
            posts.append(_Post(m, keys))
    families = [f for f in _families(posts) if len(f) >= MIN_POSTS and (not weekly or _weekly(f))]
    if not families:
        return None if weekly else _single_example(materials)
    family = max(families, key=lambda f: (len(f), len(set().union(*(p.keys for p in f)))))
    return _template(family)


def _template(family: list[_Post]) -> tuple[dict, dict]:
    counts: Counter[str] = Counter(k for p in family for k in p.keys)
    keep = [k for k, n in counts.items() if n * 2 >= len(family)]
    # A recurring first line with nothing under it is the title ("Weekly update"), no section.
    filled: Counter[str] = Counter()
    for p in family:
        filled.update(
            k for k, lines in split_sections(p.material.text, keep).sections.items() if lines
        )
    keep = [k for k in keep if filled[k] or any(k != p.keys[0] for p in family if k in p.keys)]
    positions: dict[str, list[float]] = defaultdict(list)
    for p in family:
        present = [k for k in p.keys if k in keep]
        for i, k in enumerate(present):
            positions[k].append(i / max(1, len(present) - 1))
    keep.sort(key=lambda k: statistics.mean(positions[k]))
    spelled: dict[str, Counter[str]] = defaultdict(Counter)
    styles: Counter[str] = Counter()
    bullets: Counter[str] = Counter()
    items: dict[str, list[int]] = defaultdict(list)
    authors: dict[str, set[str]] = defaultdict(set)
    sources: dict[str, list[str]] = defaultdict(list)
    item_text: dict[str, list[str]] = defaultdict(list)
    for p in family:
        parsed = split_sections(p.material.text, keep)
        for k, lines in parsed.sections.items():
            items[k].append(len(lines))
            authors[k].add(p.material.author)
            sources[k].append(p.material.id)
            item_text[k].extend(lines)
        for k, heading in parsed.headings.items():
            spelled[k][heading.text] += 1
            styles[heading.style] += 1
        bullets.update(parsed.bullets)
    title, title_authors = _title(family, keep)
    sections: list[dict[str, Any]] = []
    for k in keep:
        name = spelled[k].most_common(1)[0][0] if spelled[k] else k
        sections.append(
            {
                "heading": name,
                "key": k,
                "state": heading_state(name) or state_of(name) or _items_state(item_text[k]),
                "usual_items": round(statistics.median(items[k] or [0])),
                "authors": sorted(authors[k]),
            }
        )
    _fill_states(sections)
    template = {
        "title": title,
        "title_authors": title_authors,
        "heading_style": styles.most_common(1)[0][0] if styles else "*{h}*",
        "bullet": bullets.most_common(1)[0][0] if bullets else "-",
        "posts": len(family),
        "weeks": len({iso_week_label(p.material.occurred_at) for p in family}),
        "sections": sections,
    }
    provenance = {
        "sections": {s["heading"]: sorted(set(sources[s["key"]])) for s in sections},
        "inputs": sorted({p.material.id for p in family}),
    }
    return template, provenance


def _fill_states(sections: list[dict[str, Any]]) -> None:
    """Sections whose heading and items name no state take the states left, in the usual
    order of a status report (done, in progress, blocked, next), when the known ones follow
    that order too: "Shipped / In flight / Paging me / On deck"."""
    order = [DONE, PROGRESS, BLOCKED, NEXT]
    known = [order.index(s["state"]) for s in sections if s.get("state") in order]
    left = [state for state in order if state not in {s.get("state") for s in sections}]
    unknown = [s for s in sections if s.get("state") not in order]
    if not unknown or len(unknown) != len(left) or known != sorted(known):
        return
    merged = sorted(
        [(i, order.index(s["state"])) for i, s in enumerate(sections) if s.get("state") in order]
        + list(
            zip([sections.index(s) for s in unknown], [order.index(x) for x in left], strict=True)
        )
    )
    if [state for _, state in merged] == sorted(state for _, state in merged):
        for s, state in zip(unknown, left, strict=True):
            s["state"] = state


def _items_state(lines: list[str]) -> str | None:
    states = Counter(s for s in (state_of(line) for line in lines) if s)
    if not states:
        return None
    state, n = states.most_common(1)[0]
    return state if n * 2 >= len(lines) else None


@dataclass(slots=True)
class Parsed:
    sections: dict[str, list[str]]  # heading key -> its items
    headings: dict[str, HeadingLine]
    bullets: list[str]
    title: str


def split_sections(text: str, keys: Sequence[str]) -> Parsed:
    """A post read with the team's headings: each heading's items, and the title line."""
    wanted = set(keys)
    parsed = Parsed({}, {}, [], "")
    current: str | None = None
    for index, line in enumerate(_lines(text)):
        heading = heading_candidate(line)
        k = key(heading.text) if heading else ""
        if index == 0 and heading is not None and heading.inline:
            parsed.title = line.strip()
            continue
        if heading is not None and k in wanted:
            current = k
            parsed.headings.setdefault(k, heading)
            parsed.sections.setdefault(k, [])
            if heading.inline and not _NOTHING.match(heading.inline):
                parsed.sections[k].append(heading.inline)
            continue
        if current is None:
            if index == 0:
                parsed.title = line.strip()
            continue
        mark, item = strip_bullet(line)
        if mark:
            parsed.bullets.append(mark if not mark[0].isdigit() else "1.")
        if item and not _NOTHING.match(item):
            parsed.sections[current].append(item)
    return parsed


def _generalize(line: str) -> str:
    return _WEEK.sub("{week}", _DATE.sub("{date}", line))


def _title(family: list[_Post], keys: Sequence[str]) -> tuple[str, list[str]]:
    """The constant part of the posts' first lines; varying weeks and dates become fields."""
    titles = []
    for p in family:
        parsed = split_sections(p.material.text, keys)
        if parsed.title:
            own = re.compile(rf"(?<![\w@]){re.escape(p.material.author)}(?!\w)", re.I)
            titles.append((p.material.author, own.sub("{name}", _generalize(parsed.title))))
    if len(titles) * 2 < len(family):
        return "", []
    many = len({a for a, _ in titles}) > 1
    seen: dict[str, set[str]] = defaultdict(set)
    posts: Counter[str] = Counter()
    for author, line in titles:
        for t in set(_TOKEN.findall(line)):
            seen[t].add(author)
            posts[t] += 1
    constant = {t for t in posts if posts[t] * 2 > len(titles) and (len(seen[t]) > 1 or not many)}
    shapes = Counter(tuple(t for t in _TOKEN.findall(line) if t in constant) for _, line in titles)
    shape = shapes.most_common(1)[0][0]
    if not any(re.search(r"\w", t) for t in shape if t not in ("{week}", "{date}", "{name}")):
        return "", []
    line = next(
        line
        for _, line in titles
        if tuple(t for t in _TOKEN.findall(line) if t in constant) == shape
    )
    # Blank out what varies, keeping the spacing of one real title.
    kept = _TOKEN.sub(lambda m: m.group(0) if m.group(0) in constant else "\0", line)
    kept = (
        re.sub(r"[(（\[【]\s*\0*\s*[)）\]】]", "", kept.replace("\0", "")) if "\0" in kept else kept
    )
    kept = kept.replace("\0", "")
    kept = re.sub(r"[(（\[【]\s*[)）\]】]", "", kept)
    title = re.sub(r"([—–|｜·•/-])(?:\s*\1)+", r"\1", re.sub(r"\s+", " ", kept))
    title = re.sub(r"\s*[—–|｜·•/-]\s*(?=[*_]*$)", "", title).strip(" —–-|｜:：,，·•/")
    return title, sorted({a for a, _ in titles})


def example_template(text: str, authors: Sequence[str] = ()) -> dict | None:
    """A template read from one example by its markup alone (a taught example, an imported
    asset): marked-up headings (`*X*`, `## X`, `【X】`, `X:`) over items; None under two."""
    title: list[str] = []
    sections: list[tuple[HeadingLine, list[str]]] = []
    bullets: Counter[str] = Counter()
    for line in _lines(text):
        heading = heading_candidate(line)
        if heading is not None and not heading.inline and heading.style not in ("{h}", "1、{h}"):
            sections.append((heading, []))
            continue
        mark, item = strip_bullet(line)
        if not sections:
            title.append(line.strip())
        elif item:
            sections[-1][1].append(item)
            bullets[mark or "-"] += 1
    filled = [(h, items) for h, items in sections if items]
    if len(filled) < 2:
        return None
    return {
        "title": _generalize(" ".join(title))[:200],
        "title_authors": list(authors),
        "heading_style": filled[0][0].style,
        "bullet": bullets.most_common(1)[0][0] if bullets else "-",
        "posts": 1,
        "weeks": 1,
        "sections": [
            {
                "heading": h.text,
                "key": key(h.text),
                "state": heading_state(h.text) or state_of(h.text),
                "usual_items": len(items),
                "authors": list(authors),
            }
            for h, items in filled
        ],
    }


def _single_example(materials: Sequence[Material]) -> tuple[dict, dict] | None:
    """A taught template from one example: headings are what its markup says they are."""
    for m in materials:
        template = example_template(m.text, [m.author])
        if template is not None:
            template["title"], template["title_authors"] = "", []  # one post: nothing constant
            provenance = {
                "sections": {s["heading"]: [m.id] for s in template["sections"]},
                "inputs": [m.id],
            }
            return template, provenance
    return None


def visible_sections(template: dict, live: set[str]) -> list[dict]:
    """The sections someone who still consents taught (an imported one names no author here).

    Withdrawal hides the rest at once, without waiting for a rebuild.
    """
    return [
        s for s in template.get("sections", []) if not s.get("authors") or set(s["authors"]) & live
    ]


def heading_line(template: dict, heading: str) -> str:
    return template.get("heading_style", "*{h}*").replace("{h}", heading)
