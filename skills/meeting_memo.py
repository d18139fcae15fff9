"""`meeting-memo`: learn the team's meeting types and their templates; write a memo from notes.

A memo lists decisions, action items with owners and dates, and the **unaddressed issues**:
questions nobody answered, actions with no owner, decisions reopened without resolution.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from skills.kind import Learned, RunRequest, RunResult
from skills.material import Material
from skills.text import jaccard, stems, words

_MEETING_WORDS = (
    "standup",
    "stand-up",
    "planning",
    "retro",
    "retrospective",
    "incident review",
    "postmortem",
    "post-mortem",
    "kickoff",
    "kick-off",
    "sprint review",
    "1:1",
    "design review",
    "sync",
    "demo",
    "all-hands",
    "triage",
)
_TITLE = re.compile(r"^(?P<type>[A-Za-z][\w /&:-]*?)\s+(?:meeting|notes|minutes|memo|sync)\b", re.I)
_DATEISH = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}\b|\b\d{4}-W\d{2}\b")
_FIELD = re.compile(
    r"^\s*(?:[-*•]\s*)?(?P<field>[A-Za-z][A-Za-z /]{0,24}?)\s*[:：]\s*(?P<rest>.*)$"
)
_SYNONYMS = {
    "stand-up": "standup",
    "post-mortem": "incident review",
    "postmortem": "incident review",
    "retrospective": "retro",
    "kick-off": "kickoff",
}
_FIELD_KIND = {
    "decision": "decision",
    "decisions": "decision",
    "decided": "decision",
    "agreed": "decision",
    "resolution": "decision",
    "action": "action",
    "actions": "action",
    "action item": "action",
    "action items": "action",
    "todo": "action",
    "ai": "action",
    "follow-up": "action",
    "follow up": "action",
    "question": "question",
    "questions": "question",
    "q": "question",
    "open question": "question",
    "answer": "answer",
    "a": "answer",
    "re": "answer",
}
_REOPEN = re.compile(
    r"\b(reopen(?:ed|ing)?|revisit(?:ed|ing)?|reconsider(?:ed|ing)?|"
    r"back to square one|undo (?:the )?decision|no longer agreed)\b",
    re.I,
)
_OWNER = re.compile(
    r"^@?(?P<owner>[A-Za-z][\w.-]{1,30})\s+(?:to|will|owns|takes|:)\s+(?P<task>.+)$", re.I
)
_OWNER_TAG = re.compile(r"\((?:owner|who)\s*[:=]?\s*@?(?P<owner>[\w.-]+)\)|@(?P<at>[\w.-]+)", re.I)
_DUE = re.compile(
    r"\s*(?:\b(?:by|due|before|until)\s+(?P<due>(?:next\s+)?(?:mon|tue|wed|thu|fri|sat|sun)\w*|"
    r"\d{4}-\d{2}-\d{2}|tomorrow|today|end of (?:day|week|month|sprint)|eod|eow|next week|"
    r"\d{1,2}/\d{1,2}))\.?",
    re.I,
)
_NOT_OWNERS = {
    "we",
    "the",
    "a",
    "an",
    "someone",
    "somebody",
    "team",
    "all",
    "everyone",
    "tbd",
    "write",
    "draft",
    "update",
    "fix",
    "ship",
    "check",
    "send",
    "review",
    "add",
    "make",
    "create",
    "prepare",
    "follow",
    "ask",
    "find",
    "set",
    "move",
    "plan",
}
DEFAULT_SECTIONS = ["Decisions", "Action items"]


def meeting_type(title: str) -> str | None:
    """`Planning meeting 2026-11-25` → `planning`; None when the line names no meeting."""
    line = _DATEISH.sub("", title.splitlines()[0] if title else "").strip(" -—:")
    lowered = line.lower()
    match = _TITLE.match(line)
    if match:
        name = match.group("type").lower().strip()
        name = re.sub(r"\s+", " ", name.split(":")[0]).strip()
        return _SYNONYMS.get(name, name) if name and len(name.split()) <= 3 else None
    for word in _MEETING_WORDS:
        if re.search(rf"(^|\W){re.escape(word)}(\W|$)", lowered):
            return _SYNONYMS.get(word, word)
    return None


def _field_name(name: str) -> str:
    return name.strip().lower()


@dataclass(slots=True)
class Memo:
    kind: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # other fields, in order
    decisions: list[str] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    unaddressed: list[str] = field(default_factory=list)


def analyse(notes: str) -> Memo:
    """Decisions, actions (owner, date), and what was left open, from meeting notes."""
    lines = [line.strip() for line in notes.splitlines() if line.strip()]
    memo = Memo(kind=(meeting_type(lines[0]) if lines else None) or "")
    body = lines[1:] if lines and memo.kind else lines
    entries: list[tuple[str, str]] = []  # (kind, text)
    for line in body:
        match = _FIELD.match(line)
        name = _field_name(match.group("field")) if match else ""
        rest = match.group("rest").strip() if match else line.lstrip("-*• ").strip()
        kind = _FIELD_KIND.get(name)
        if kind is None and match and len(name.split()) <= 3 and rest:
            memo.fields.setdefault(match.group("field").strip(), []).append(rest)
            kind = "field"
        if kind is None:
            if rest.endswith("?"):
                kind = "question"
            elif _REOPEN.search(rest):
                kind = "reopen"
            elif re.match(r"^(we )?(decided|agreed)\b", rest, re.I):
                kind = "decision"
            elif _OWNER.match(rest) and re.search(r"\b(to|will)\b", rest):
                kind = "action"
            else:
                kind = "note"
        entries.append((kind, rest))
    for index, (kind, text) in enumerate(entries):
        later = entries[index + 1 :]
        if kind == "decision":
            memo.decisions.append(text)
        elif kind == "action":
            action = _parse_action(text)
            memo.actions.append(action)
            if not action["owner"]:
                memo.unaddressed.append(f"Action with no owner: {action['task']}")
        elif kind == "question":
            memo.questions.append(text)
            if not _answered(text, later):
                memo.unaddressed.append(f"Question nobody answered: {text}")
        elif kind == "reopen" and not any(
            k == "decision" and jaccard(stems(t), stems(text)) >= 0.2 for k, t in later
        ):
            memo.unaddressed.append(f"Decision reopened without resolution: {text}")
    return memo


def _answered(question: str, later: list[tuple[str, str]]) -> bool:
    asked = stems(question) - {"we", "do", "keep"}
    for kind, text in later:
        if kind == "answer":
            return True
        if (
            kind in ("decision", "note", "field")
            and asked
            and (len(asked & stems(text)) / len(asked) >= 0.5)
        ):
            return True
    return False


def _parse_action(text: str) -> dict:
    due_match = _DUE.search(text)
    due = due_match.group("due") if due_match else ""
    task = _DUE.sub("", text).strip().rstrip(".")
    owner = ""
    match = _OWNER.match(task)
    if match and match.group("owner").lower() not in _NOT_OWNERS:
        owner, task = match.group("owner").lstrip("@"), match.group("task")
    else:
        tag = _OWNER_TAG.search(task)
        if tag:
            owner = tag.group("owner") or tag.group("at") or ""
            task = _OWNER_TAG.sub("", task).strip()
    return {"owner": owner, "task": task.strip(), "due": due}


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
        by_type: dict[str, list[Material]] = defaultdict(list)
        for m in materials:
            first = m.text.strip().splitlines()[0] if m.text.strip() else ""
            kind = meeting_type(first)
            if kind and len(m.text.strip().splitlines()) >= 2:
                by_type[kind].append(m)
        types = []
        provenance: dict[str, list[str]] = {}
        used: Counter[str] = Counter()
        for kind, notes in sorted(by_type.items(), key=lambda kv: -len(kv[1])):
            if len(notes) < 2:
                continue
            positions: dict[str, list[float]] = defaultdict(list)
            spelled: dict[str, Counter[str]] = defaultdict(Counter)
            for m in notes:
                fields_seen: list[str] = []
                for line in m.text.strip().splitlines()[1:]:
                    match = _FIELD.match(line)
                    if match and len(match.group("field").split()) <= 3:
                        key = _field_name(match.group("field"))
                        if key not in fields_seen:
                            fields_seen.append(key)
                            spelled[key][match.group("field").strip()] += 1
                for index, key in enumerate(fields_seen):
                    positions[key].append(index / max(1, len(fields_seen) - 1))
            keep = [k for k in positions if len(positions[k]) * 2 >= len(notes)]
            keep.sort(key=lambda k: statistics.mean(positions[k]))
            types.append(
                {
                    "name": kind,
                    "notes": len(notes),
                    "fields": [spelled[k].most_common(1)[0][0] for k in keep],
                    "words": sorted(set(words(kind))),
                    "authors": sorted({m.author for m in notes}),
                }
            )
            provenance[kind] = [m.id for m in notes]
            used.update(m.author for m in notes)
        if not types:
            return None
        inputs = sorted({i for ids in provenance.values() for i in ids})
        return Learned({"types": types}, {"types": provenance, "inputs": inputs}, dict(used))

    def run(self, template: dict, request: RunRequest) -> RunResult:
        notes = request.input_text
        if not notes.strip() and request.materials:
            notes = "\n".join(m.text for m in request.materials)
        if not notes.strip():
            return RunResult(
                "Paste the meeting notes after the command (the first line may name the "
                "meeting, e.g. `Planning meeting 2026-11-25`), or run it in the meeting's thread.",
                ok=False,
            )
        memo = analyse(notes)
        types = [t for t in template.get("types", []) if set(t.get("authors", [])) & request.live]
        chosen = _choose_type(memo, types)
        fields = [f for f in (chosen or {}).get("fields", [])]
        title = f"*{(chosen or {}).get('name', memo.kind or 'meeting').capitalize()} memo*"
        out = [title]
        if chosen:
            out[0] += f" — the team's {chosen['name']} template"
        shown_kinds = set()
        for name in fields:
            key = _FIELD_KIND.get(_field_name(name))
            if key in ("decision", "action", "question", "answer"):
                shown_kinds.add(key)
                _memo_section(out, key, memo)
                continue
            values = next((v for k, v in memo.fields.items() if k.lower() == name.lower()), [])
            out.append(f"*{name}*")
            out.extend(f"- {v}" for v in values) if values else out.append("- (none)")
        for key in ("decision", "action"):
            if key not in shown_kinds:
                _memo_section(out, key, memo)
        for name, values in memo.fields.items():
            if all(name.lower() != f.lower() for f in fields):
                out.append(f"*{name}*")
                out.extend(f"- {v}" for v in values)
        out.append("*Unaddressed issues*")
        out.extend(f"- {u}" for u in memo.unaddressed) if memo.unaddressed else out.append(
            "- none: every question was answered and every action has an owner"
        )
        return RunResult(
            "\n".join(out),
            data={
                "type": (chosen or {}).get("name", memo.kind),
                "decisions": memo.decisions,
                "actions": memo.actions,
                "unaddressed": memo.unaddressed,
            },
        )

    def summary(self, template: dict) -> list[str]:
        return [
            f"meeting type {t['name']}: {t['notes']} notes; template: "
            f"{', '.join(t['fields']) or '-'}"
            for t in template.get("types", [])
        ]


def _memo_section(out: list[str], key: str, memo: Memo) -> None:
    if key == "decision":
        out.append("*Decisions*")
        out.extend(f"- {d}" for d in memo.decisions) if memo.decisions else out.append("- (none)")
    elif key == "action":
        out.append("*Action items*")
        for a in memo.actions:
            owner = a["owner"] or "(no owner)"
            due = f" — due {a['due']}" if a["due"] else " — no date"
            out.append(f"- {owner}: {a['task']}{due}")
        if not memo.actions:
            out.append("- (none)")
    elif key == "question":
        out.append("*Questions*")
        out.extend(f"- {q}" for q in memo.questions) if memo.questions else out.append("- (none)")


def _choose_type(memo: Memo, types: list[dict]) -> dict | None:
    if not types:
        return None
    if memo.kind:
        for t in types:
            if t["name"] == memo.kind or set(words(memo.kind)) & set(t.get("words", [])):
                return t
    seen = {f.lower() for f in memo.fields} | ({"decision"} if memo.decisions else set())
    best = max(types, key=lambda t: jaccard({f.lower() for f in t["fields"]}, seen))
    if jaccard({f.lower() for f in best["fields"]}, seen) > 0:
        return best
    return None
