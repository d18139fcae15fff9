"""`meeting-memo`: learn the team's meeting types and their templates; write a memo from notes.

A meeting type is what the titles of the team's recurring notes keep constant ("Sprint
planning — Sprint 13", "Sprint planning — Sprint 14" → sprint planning; "故障复盘 5/12" →
故障复盘); its template is the fields those notes keep using. A memo lists decisions, action
items with owners and dates, and the **unaddressed issues**: questions nobody answered, actions
with no owner, decisions reopened without a conclusion. When it finds none it says what it
looked for — it never claims that everything was answered.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from skills.kind import Learned, RunRequest, RunResult
from skills.material import Material
from skills.memo_parse import (
    ACTION,
    DECISION,
    FIELD,
    QUESTION,
    REOPEN,
    Notes,
    owned_label,
    parse,
    unaddressed,
)
from skills.template import key
from skills.tokens import cjk_share

LABELS = {
    "en": {
        "decisions": "Decisions",
        "actions": "Action items",
        "unaddressed": "Unaddressed issues",
    },
    "zh": {"decisions": "决定", "actions": "待办", "unaddressed": "未解决的问题"},
}
_OPEN = {
    "en": {
        "question": "Question nobody answered: {}",
        "owner": "Action with no owner: {}",
        "reopen": "Decision reopened, no conclusion: {}",
        "concern": "Concern raised, nothing done about it: {}",
        "none": "none found — I looked for questions without an answer, actions without an owner, "
        "decisions reopened without a conclusion and concerns left standing, and these notes "
        "show none of them",
        "no_owner": "no owner",
        "memo": "memo",
        "template": "the team's {} template",
        "empty": "(none in these notes)",
    },
    "zh": {
        "question": "没有答复的问题：{}",
        "owner": "没有负责人的待办：{}",
        "reopen": "被重新讨论、还没有结论的决定：{}",
        "concern": "提出了担忧、还没有处理：{}",
        "none": "没有发现：我检查了没有答复的问题、没有负责人的待办、"
        "重新讨论却没有结论的决定和没有处理的担忧，这份纪要里没有",
        "no_owner": "无负责人",
        "memo": "纪要",
        "template": "按团队的{}模板",
        "empty": "（纪要里没有）",
    },
}
_TITLE_TOKEN = re.compile(r"[A-Za-z][A-Za-z/&+-]*[A-Za-z]|[A-Za-z]|[\u4e00-\u9fff]")
_NOISE = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[/.]\d{1,2}|\d{1,2}月\d{1,2}日|\bW\d{1,2}\b|"
    r"[vV]?\d+(?:\.\d+)*"
)
_GENERIC = {"notes", "note", "minutes", "memo", "meeting", "会议", "纪要"}
_GENERIC_WORDS = re.compile(r"纪要|会议|记录|notes?\b|minutes\b|memo\b", re.I)
# Names one kind of meeting goes by (for grouping only; a type keeps the team's own name).
_SAME_MEETING = {
    "pir": "postmortem",
    "post-mortem": "postmortem",
    "incident": "postmortem",
    "retrospective": "retro",
    "stand-up": "standup",
    "kick-off": "kickoff",
    "handoff": "handover",
    "go-no-go": "go/no-go",
    "gonogo": "go/no-go",
}


# One meeting in two languages (teams that mix them title notes either way).
_SAME_PHRASE = (
    (re.compile(r"周例会|周会|weekly (?:sync|meeting)"), "weekly"),
    (re.compile(r"(?:事故|故障)?复盘|incident review|post-?mortem|pir\b"), "postmortem"),
    (re.compile(r"模型评审|model review"), "model review"),
    (
        re.compile(r"技术评审|方案评审|设计评审|tech(?:nical)? review|design review"),
        "design review",
    ),
    (re.compile(r"上线评审|发布评审|release review|go/no-go|go-no-go"), "go/no-go"),
    (re.compile(r"需求评审|requirements? review"), "requirements review"),
    (re.compile(r"回顾会?|retrospective"), "retro"),
    (re.compile(r"站会|stand-?up"), "standup"),
    (re.compile(r"\bcab\b|change advisory board|change review|变更评审"), "change review"),
    (re.compile(r"迭代计划|sprint planning|计划会"), "sprint planning"),
)


def canon(tokens: Iterable[str]) -> list[str]:
    """The title's words with a meeting's other names (and its other language) made one."""
    text = ""
    for t in tokens:
        text += t if re.match(r"[\u4e00-\u9fff]", t) or not text else " " + t
    for pattern, name in _SAME_PHRASE:
        text = pattern.sub(f" {name} ", text)
    return [_SAME_MEETING.get(t, t) for t in _TITLE_TOKEN.findall(text)]


MIN_NOTES = 2


def is_notes(notes: Notes) -> bool:
    kinds = Counter(s.kind for s in notes.statements)
    marked = kinds[DECISION] + kinds[ACTION] + kinds[QUESTION] + kinds[REOPEN]
    inline = sum(1 for s in notes.statements if s.kind == FIELD and not s.headed)
    speakers = {s.speaker for s in notes.statements if s.speaker}
    # A standup ("Yesterday: … Today: …") is notes, and so is a conversation written down;
    # a report of headed bullets is not.
    return (
        bool(notes.title)
        and len(notes.statements) >= 2
        and (marked >= 2 or inline >= 2 or (len(speakers) >= 2 and len(notes.statements) >= 3))
    )


def title_tokens(title: str, people: Iterable[str] = ()) -> list[str]:
    """The words of a notes title that can name its meeting (no dates, names or topic)."""
    line = title.split("\n")[0]
    bracket = re.match(r"^\s*[【\[](?P<t>[^】\]]{1,20})[】\]]", line)
    cleaned = _NOISE.sub(" ", bracket["t"] if bracket else line)
    cleaned = _GENERIC_WORDS.sub(" ", cleaned)
    # What follows a separator is the topic: "复盘：秒杀库存超卖", "Design review — push".
    head = re.split(r"\s*[:：—–|｜(（【\[,，]", cleaned, maxsplit=1)[0]
    cleaned = head if len(head.strip()) >= 2 else cleaned
    names = {p.lower() for p in people}
    tokens = [t.lower() for t in _TITLE_TOKEN.findall(cleaned)]
    return [t for t in tokens if t not in _GENERIC and t not in names]


def _contains(a: Sequence[str], b: Sequence[str]) -> float:
    sa, sb = set(canon(a)), set(canon(b))
    return len(sa & sb) / min(len(sa), len(sb)) if sa and sb else 0.0


def type_name(titles: Sequence[Sequence[str]]) -> str:
    """What the titles keep constant, in the order they say it."""
    counts = Counter(t for tokens in titles for t in set(tokens))
    keep = [t for t in dict.fromkeys(titles[0]) if counts[t] * 2 > len(titles)]
    if not keep:  # "PIR …" and "Postmortem …": one meeting, named as most titles name it
        keep = list(Counter(tuple(t) for t in titles).most_common(1)[0][0])
    out = ""
    for t in keep:
        out += t if re.match(r"[\u4e00-\u9fff]", t) or not out else " " + t
    return re.sub(r"\s+(?=[\u4e00-\u9fff])|(?<=[\u4e00-\u9fff])\s+", "", out).strip()


class MeetingMemo:
    name = "meeting-memo"
    description = (
        "Writes a meeting memo in the team's template for the meeting's type (standup, "
        "planning, incident review, …): decisions, action items with owners and dates, and the "
        "unaddressed issues — unanswered questions, unowned actions, reopened decisions. Use "
        "on pasted meeting notes or a thread."
    )
    input = "text"

    def learn(self, materials: Sequence[Material]) -> Learned | None:
        people = {m.author for m in materials}
        groups: list[tuple[list[str], list[tuple[Material, Notes]]]] = []
        for m in materials:
            notes = parse(m.text, people)
            if not is_notes(notes):
                continue
            tokens = title_tokens(notes.title, people)
            if not tokens:
                continue
            home = next((g for g in groups if _contains(g[0], tokens) >= 0.6), None)
            if home is None:
                groups.append((tokens, [(m, notes)]))
            else:
                home[1].append((m, notes))
        groups = _join_singletons(groups)
        types = []
        provenance: dict[str, list[str]] = {}
        used: Counter[str] = Counter()
        for _, members in sorted(groups, key=lambda g: -len(g[1])):
            if len(members) < MIN_NOTES or len({m.author for m, _ in members}) < 1:
                continue
            name = type_name([title_tokens(n.title, people) for _, n in members])
            if not name or name in provenance:
                continue
            types.append(
                {
                    "name": name,
                    "notes": len(members),
                    "fields": _fields(members),
                    "authors": sorted({m.author for m, _ in members}),
                }
            )
            provenance[name] = [m.id for m, _ in members]
            used.update(m.author for m, _ in members)
        if not types:
            return None
        inputs = sorted({i for ids in provenance.values() for i in ids})
        return Learned({"types": types}, {"types": provenance, "inputs": inputs}, dict(used))

    def run(self, template: dict, request: RunRequest) -> RunResult:
        text = request.input_text
        if not text.strip() and request.materials:
            text = "\n".join(m.text for m in request.materials)
        if not text.strip():
            return RunResult(
                "Paste the meeting notes after the command (the first line may name the "
                "meeting, e.g. `Planning meeting 2026-11-25`), or run it in the meeting's thread.",
                ok=False,
            )
        notes = parse(text, set(request.people) | request.live)
        types = [t for t in template.get("types", []) if set(t.get("authors", [])) & request.live]
        chosen = choose_type(notes, types, set(request.people) | request.live)
        return render(notes, chosen, "zh" if cjk_share(text) > 0.3 else "en")

    def summary(self, template: dict) -> list[str]:
        return [
            f"meeting type {t['name']}: {t['notes']} notes; template: "
            f"{', '.join(t['fields']) or '-'}"
            for t in template.get("types", [])
        ]


def _join_singletons(
    groups: list[tuple[list[str], list[tuple[Material, Notes]]]],
) -> list[tuple[list[str], list[tuple[Material, Notes]]]]:
    """Notes that stand alone under a title but share its first word are one meeting under
    two names ("Capacity planning", "Capacity review"): the type is what they share."""
    alone = [g for g in groups if len(g[1]) < MIN_NOTES]
    kept = [g for g in groups if len(g[1]) >= MIN_NOTES]
    while alone:
        tokens, members = alone.pop(0)
        twin = next((g for g in alone if canon(g[0][:1]) == canon(tokens[:1]) and tokens), None)
        if twin is None:
            kept.append((tokens, members))
            continue
        alone.remove(twin)
        kept.append(([t for t in tokens if t in canon(twin[0]) or t in twin[0]], members + twin[1]))
    return kept


def _fields(members: Sequence[tuple[Material, Notes]]) -> list[str]:
    """The labels the type's notes keep using, in their usual order (speakers are no field)."""
    positions: dict[str, list[float]] = defaultdict(list)
    spelled: dict[str, Counter[str]] = defaultdict(Counter)
    for _, notes in members:
        seen: list[str] = []
        for s in notes.statements:
            if (
                s.label
                and not s.speaker
                and not owned_label(s.label)[1]
                and key(s.label) not in seen
            ):
                seen.append(key(s.label))
                spelled[key(s.label)][s.label] += 1
        for i, k in enumerate(seen):
            positions[k].append(i / max(1, len(seen) - 1))
    keep = [k for k in positions if len(positions[k]) * 2 >= len(members)]
    keep.sort(key=lambda k: statistics.mean(positions[k]))
    return [spelled[k].most_common(1)[0][0] for k in keep]


def choose_type(notes: Notes, types: Sequence[dict], people: Iterable[str] = ()) -> dict | None:
    tokens = title_tokens(notes.title, people)
    scored = sorted(
        ((_contains(_TITLE_TOKEN.findall(t["name"].lower()), tokens) if tokens else 0.0, i, t)
         for i, t in enumerate(types)),
        key=lambda x: (-x[0], x[1]),
    )  # fmt: skip
    if scored and scored[0][0] >= 0.6:
        return scored[0][2]
    if scored and scored[0][0] >= 0.5 and (len(scored) == 1 or scored[1][0] < scored[0][0]):
        return scored[0][2]  # "Monday sync" is the team's "ops sync" when nothing else fits
    labels = {key(s.label) for s in notes.statements if s.label}
    best, score = None, 0.0
    for t in types:
        fields = {key(f) for f in t["fields"]}
        s = len(fields & labels) / len(fields | labels) if fields and labels else 0.0
        if s > score:
            best, score = t, s
    return best if score >= 0.5 else None


def render(notes: Notes, chosen: dict | None, lang: str) -> RunResult:
    words, labels = _OPEN[lang], LABELS[lang]
    kind = chosen["name"] if chosen else ""
    title = kind[:1].upper() + kind[1:] if kind else ("Meeting" if lang == "en" else "会议")
    sep = " " if lang == "en" or not re.match(r"[\u4e00-\u9fff]", title[-1:]) else ""
    out = [
        f"*{title}{sep}{words['memo']}*"
        + (f" — {words['template'].format(kind)}" if chosen else "")
    ]
    if notes.title:
        out.append(notes.title)
    fields = notes.fields()
    for name in (chosen or {}).get("fields", []):
        values = next((v for k, v in fields.items() if key(k) == key(name)), None)
        if values is None:
            continue
        out.append(f"*{name}*")
        out.extend(f"- {v}" for v in values)
    for name, values in fields.items():
        if all(key(name) != key(f) for f in (chosen or {}).get("fields", [])):
            out.append(f"*{name}*")
            out.extend(f"- {v}" for v in values)
    decisions = notes.of(DECISION)
    out.append(f"*{labels['decisions']}*")
    out.extend(f"- {d.text}" for d in decisions) if decisions else out.append(f"- {words['empty']}")
    actions = notes.of(ACTION)
    out.append(f"*{labels['actions']}*")
    for a in actions:
        owner = a.owner or words["no_owner"]
        out.append(f"- {a.text} — {owner}" + (f", {a.due}" if a.due else ""))
    if not actions:
        out.append(f"- {words['empty']}")
    issues = unaddressed(notes)
    out.append(f"*{labels['unaddressed']}*")
    out.extend(f"- {words[what].format(text)}" for what, text in issues) if issues else out.append(
        f"- {words['none']}"
    )
    return RunResult(
        "\n".join(out),
        data={
            "type": kind or None,
            "decisions": [d.text for d in decisions],
            "actions": [
                {"owner": a.owner or None, "task": a.text, "due": a.due or None} for a in actions
            ],
            "unaddressed": [text for _, text in issues],
        },
    )


__all__ = ["FIELD", "LABELS", "MeetingMemo"]
