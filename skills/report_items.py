"""Work items from one person's own messages, routed to the team's sections.

What counts as work, and which section it goes to, comes from the team's own reports (their
items under each heading) and the writer's own words: a label they gave the line ("blocked
on …", "下周：…"), or what the line says of the work's state ("merged", "跑完了"). Chit-chat
is what looks like none of the team's items and states nothing. Messages about one piece of
work (the same ticket, PR or wording) become one item in its latest state. In meeting notes
the person posted, only the actions assigned to them are theirs.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from skills.material import Material
from skills.status import (
    BLOCKED,
    DONE,
    NEXT,
    PROGRESS,
    heading_state,
    state_of,
    without_state_words,
)
from skills.template import _NOTHING, heading_candidate, key, split_sections, strip_bullet
from skills.tokens import cosine, features, refs, words

_NOTES_LABEL = re.compile(
    r"^\s*(?:[-*•]\s*)?(?:action(?: items?)?|actions|ai|todo|to-do|decisions?|decided|agenda|"
    r"attendees|participants|questions?|q|a|owner|follow[- ]?ups?|next steps|outcome|"
    r"决定|结论|待办|行动项|跟进|议题|参会人?|与会|问题|答)\s*[:：]",
    re.I,
)
_MENTION = re.compile(r"@([\w.-]+)")
_SENTENCE = re.compile(r"(?<=[。；;!！])\s*|(?<=[.?])\s+(?=[A-Z\u4e00-\u9fff])")
_QUESTION = re.compile(r"[?？]\s*[\W\d_]*$")
# A line that starts by saying where it stands ("blocked on …", "next week I'll …", "下周…").
_LEADING_LABEL = re.compile(
    r"^\W*(?:next week|next up|next|tomorrow|blocked (?:on|by)|waiting (?:on|for)|stuck on|"
    r"done|fyi done|下周|明天|阻塞|卡在|风险|已完成)\b",
    re.I,
)
_FILLER = re.compile(r"^(fyi|btw|update|quick update|status|ps|also|ok|okay|so)\b[\s,:：-]*", re.I)


_THIS_WEEK = {DONE: PROGRESS, PROGRESS: DONE}


@dataclass(slots=True)
class Item:
    text: str
    sources: list[Material] = field(default_factory=list)
    section: int = -1


@dataclass(slots=True)
class Router:
    """What the team's reports teach: the words of each section's items, and of its heading."""

    sections: Sequence[dict]
    words: list[Counter[str]]
    totals: list[int]
    vocabulary: int
    items: list[Counter[str]]

    @classmethod
    def learn(cls, sections: Sequence[dict], examples: Sequence[Material]) -> Router:
        keys = [s.get("key") or key(s["heading"]) for s in sections]
        counts = [Counter[str]() for _ in sections]
        items: list[Counter[str]] = []
        for m in examples:
            parsed = split_sections(m.text, keys)
            for k, lines in parsed.sections.items():
                for line in lines:
                    f = features(line)
                    counts[keys.index(k)].update(f)
                    items.append(f)
        for i, s in enumerate(sections):
            counts[i].update({w: 3 for w in features(s["heading"])})
        vocabulary = len(set().union(*counts)) if counts else 1
        return cls(sections, counts, [sum(c.values()) for c in counts], vocabulary, items)

    def likeness(self, text: str) -> float:
        """How much what a line is about looks like the team's report items (0..1)."""
        f = features(without_state_words(text))
        return max((cosine(f, item) for item in self.items), default=0.0)

    def by_label(self, label: str) -> int | None:
        """The section a writer's own label names: the heading itself, or the state it says."""
        k = key(label)
        if not k:
            return None
        for i, s in enumerate(self.sections):
            sk = s.get("key") or key(s["heading"])
            if k == sk or (len(k) >= 2 and (k in sk or sk in k)):
                return i
        state = heading_state(label) or state_of(label)
        return self.by_state(state) if state else None

    def by_state(self, state: str | None) -> int | None:
        """The section of that state; done and in-progress work share one section when the
        team keeps only one for this week ("本周进展" holds what was finished too)."""
        for wanted in (state, _THIS_WEEK.get(state or "")):
            for i, s in enumerate(self.sections):
                if wanted and s.get("state") == wanted:
                    return i
        return None

    def by_words(self, text: str) -> int:
        """The section whose items this line's words are most like (naive Bayes)."""
        f = features(text)
        best, best_score = 0, -math.inf
        for i, c in enumerate(self.words):
            score = sum(
                n * math.log((c.get(w, 0) + 0.5) / (self.totals[i] + 0.5 * self.vocabulary))
                for w, n in f.items()
            )
            if score > best_score:
                best, best_score = i, score
        return best

    def route(self, text: str, label: str = "") -> int:
        if label:
            found = self.by_label(label)
            if found is not None:
                return found
        state = state_of(text)
        found = self.by_state(state) if state else None
        if found is not None:
            return found
        if any(self.words[i] for i in range(len(self.words))) and self.items:
            return self.by_words(text)
        fallback = self.by_state(PROGRESS)
        return fallback if fallback is not None else 0


def _clauses(lines: Sequence[str]) -> list[str]:
    """Notes written on one line ("marcus owns X, olu adds Y") as one clause each."""
    return [c.strip() for line in lines for c in re.split(r"[,;，；]\s*|:\s+", line) if c.strip()]


def _units(
    m: Material, requester: str, router: Router, people: frozenset[str] = frozenset()
) -> list[tuple[str, str]]:
    """(label, text) for each candidate item line of one message."""
    lines = [line for line in m.text.splitlines() if line.strip()]
    notes = sum(1 for line in lines if _NOTES_LABEL.match(line)) >= 2 or (
        len(lines) >= 3 and len({u for u in _MENTION.findall(m.text)} - {requester}) >= 2
    )
    others = {
        p for p in people if p != requester and re.search(rf"(?<![\w@]){re.escape(p)}\b", m.text)
    }
    if notes or len(others) >= 2:
        return [("todo", line) for line in _assigned_to(_clauses(lines), requester)]
    report = split_sections(m.text, [s.get("key") or key(s["heading"]) for s in router.sections])
    if len(report.sections) >= 2:
        return [(k, line) for k, found in report.sections.items() for line in found]
    units: list[tuple[str, str]] = []
    label = ""
    for line in lines:
        heading = heading_candidate(line)
        if heading is not None and heading.style in ("{h}", "1、{h}"):
            heading = None  # a short plain line is a status, not a heading of the person's own
        _, text = strip_bullet(line)
        if heading is not None and not heading.inline and router.by_label(heading.text) is not None:
            label = heading.text  # a heading of the person's own ("Next week:") over bullets
            continue
        if heading is not None and heading.inline and _NOTHING.match(heading.inline):
            continue  # "Blockers: none." says there is nothing of that kind
        if heading is not None and heading.inline and router.by_label(heading.text) is not None:
            # "Next week: X" gives X; "PAY-420 is live: X" keeps what the label says of the work.
            pure = not refs(heading.text) and not words(without_state_words(heading.text))
            units.append((heading.text, heading.inline if pure else text))
            continue
        pieces = [p for p in _SENTENCE.split(text) if p and p.strip()]
        units.extend((label, p.strip()) for p in (pieces or [text]))
    return units


def _assigned_to(lines: Sequence[str], requester: str) -> list[str]:
    """In notes someone posted, the lines that give work to that person."""
    me = re.compile(
        rf"(?:@{re.escape(requester)}\b|^\W*{re.escape(requester)}(?:\s*(?:to|will|:|：|负责|来)|\s+(?=\w))\s*)",
        re.I,
    )
    found = []
    for line in lines:
        _, text = strip_bullet(line)
        body = _NOTES_LABEL.sub("", text).strip()
        if me.search(body):
            found.append(me.sub("", body).strip(" ,，:：-"))
    return found


def _is_work(text: str, label: str, router: Router) -> bool:
    if _NOTHING.match(text) or len(words(text)) < 2 and not refs(text):
        return False
    if _QUESTION.search(text) and not label:
        return False
    label = label or ("lead" if _LEADING_LABEL.match(text) else "")
    # A state alone ("coffee machine is fixed") is no work: it must also look like the team's.
    score = 1.2 * bool(refs(text)) + 1.0 * bool(label) + 0.5 * bool(state_of(text))
    score += 2.5 * router.likeness(text)
    return score >= 0.85


def _clean(text: str) -> str:
    text = _FILLER.sub("", text.strip()).strip(" -–—:：,，")
    text = re.sub(r"\s*[\U0001F300-\U0001FAFF\u2600-\u27BF]+\s*$", "", text).rstrip("。.!！ ")
    return text[:1].upper() + text[1:] if text[:1].isascii() else text


def _same_work(a: Item, b_text: str) -> bool:
    shared = refs(a.text) & refs(b_text)
    if shared:
        return True
    if refs(a.text) and refs(b_text):
        return False
    fa, fb = features(a.text), features(b_text)
    if cosine(fa, fb) >= 0.5:
        return True
    # "Starting on the inhibition rules" … "Inhibition rules merged: …" (one is short).
    common = set(fa) & set(fb)
    return len(common) >= 2 and len(common) / min(len(fa), len(fb)) >= 0.6


_STAGE = {PROGRESS: 1, BLOCKED: 1, DONE: 2}


def _moves_on(before: str | None, after: str | None) -> bool:
    """Work that opens with the same subject is one piece only as it moves forward: "still
    tuning X" then "X done". "X dry run done" then "working on X rollout" are two pieces, and
    a plan for next week is its own item."""
    if NEXT in (before, after) or before is None or after is None:
        return False
    return _STAGE.get(after, 0) >= _STAGE.get(before, 0)


def _state(router: Router, section: int) -> str | None:
    return router.sections[section].get("state") if section >= 0 else None


def _same_subject(a: Item, b_text: str) -> bool:
    """ "数仓同步任务 t_order 跑通了" … "数仓同步延迟稳定了": both open with the same subject
    (what is left without the words saying where the work stands), and name no ticket."""
    if refs(a.text) or refs(b_text):
        return False
    wa, wb = words(without_state_words(a.text)), words(without_state_words(b_text))
    return len(wa) >= 2 and wa[:2] == wb[:2]


def extract(
    materials: Sequence[Material],
    requester: str,
    router: Router,
    *,
    pasted: bool = False,
    people: frozenset[str] = frozenset(),
) -> list[Item]:
    """One item per piece of work in the requester's own messages, oldest first.

    Text the requester pasted into the command is all meant as material: nothing is
    filtered out of it as chit-chat.
    """
    items: list[Item] = []
    for m in sorted(materials, key=lambda m: m.occurred_at):
        if m.author != requester:
            continue
        for label, raw in _units(m, requester, router, people):
            text = _clean(raw)
            if not text or not (pasted or _is_work(text, label, router)):
                continue
            section = router.route(text, label)
            twin = next(
                (
                    i
                    for i in items
                    if _same_work(i, text)
                    or (
                        _same_subject(i, text)
                        and _moves_on(_state(router, i.section), _state(router, section))
                    )
                ),
                None,
            )
            if twin is None:
                items.append(Item(text, [m], section))
                continue
            twin.sources.append(m)  # the later message says where the work stands now
            twin.text, twin.section = text, section
    return [i for i in items if i.section >= 0]


def state_counts(items: Sequence[Item]) -> Counter[int]:
    return Counter(i.section for i in items)


__all__ = ["NEXT", "Item", "Router", "extract"]
