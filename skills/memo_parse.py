"""Reading meeting notes in any common shape: headed bullets, inline labels, speaker turns.

Notes become statements — decisions, actions (with owner and due date), questions, answers,
reopened decisions, and other fields — in English and Chinese. What is left open is then
found from the statements: a question nothing after it answers, an action nobody owns, a
decision reopened and not settled again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from skills.template import heading_candidate, key, strip_bullet
from skills.tokens import overlap

DECISION, ACTION, QUESTION, ANSWER, REOPEN, FIELD, NOTE = (
    "decision",
    "action",
    "question",
    "answer",
    "reopen",
    "field",
    "note",
)
_LABEL_KINDS: dict[str, tuple[str, ...]] = {
    DECISION: (
        "decision",
        "decisions",
        "decided",
        "agreed",
        "agreement",
        "outcome",
        "outcomes",
        "resolution",
        "conclusion",
        "conclusions",
        "call",
        "verdict",
        "result",
        "go no go",
        "决定",
        "决议",
        "结论",
        "定了",
        "共识",
        "结果",
        "决策",
    ),
    ACTION: (
        "action",
        "actions",
        "action item",
        "action items",
        "ai",
        "ais",
        "todo",
        "todos",
        "to do",
        "follow up",
        "follow ups",
        "followup",
        "followups",
        "next steps",
        "next step",
        "owner",
        "owners",
        "tasks",
        "task",
        "待办",
        "行动项",
        "跟进",
        "后续",
        "任务",
        "待跟进",
        "负责",
        "改进项",
        "改进措施",
        "改进",
        "行动",
        "后续动作",
        "action points",
    ),
    QUESTION: (
        "question",
        "questions",
        "q",
        "open",
        "open question",
        "open questions",
        "open issues",
        "unknowns",
        "parking lot",
        "问题",
        "疑问",
        "待定",
        "待确认",
        "未决",
        "遗留问题",
        "开放问题",
    ),
    ANSWER: ("a", "answer", "ans", "reply", "答", "回答", "答复", "回复"),
    REOPEN: ("reopened", "reopen", "revisited", "revisit", "re-opened", "重新讨论", "再议", "翻案"),
}
_KIND_OF_LABEL = {key(label): kind for kind, labels in _LABEL_KINDS.items() for label in labels}
_LABEL = re.compile(r"^(?P<label>@?[^:：]{1,24}?)\s*[:：]\s*(?P<rest>.*)$")
_QUESTION = re.compile(
    r"[?？]\s*\W*$|^(?:要不要|是否|能不能|会不会)|(?:吗|么|呢)[？?]?\s*$|"
    r"^(?:whether|should we|do we|are we|can we|how do we|who will|what about)\b",
    re.I,
)
_REOPEN = re.compile(
    r"\b(re-?open(?:ed|ing|s)?|revisit(?:ed|ing|s)?|reconsider(?:ed|ing|s)?|re-?discuss(?:ed|ing)?|"
    r"back to square one|undo (?:the )?decision|walk(?:ed|ing)? back|no longer agreed|"
    r"re-?litigat\w+|questioned again|brought up again|raised again)\b|又被拿出来|重新讨论|推翻|"
    r"再议|又提出|重新评估|又讨论|翻案|重新考虑|又提了|又吵|又拿出来|再次讨论|重新提",
    re.I,
)
# A reply that defers or leaves it open answers nothing.
_UNSETTLED = re.compile(
    r"\b(didn'?t settle|not settled|no decision|undecided|no conclusion|no answer|nobody knew|"
    r"no one knew|unclear|tbd|next time|take (?:it|this) offline|parked|revisit later|later)\b|"
    r"没结论|没有结论|待定|未定|不清楚|没人知道|下次再|回头再|再说|以后再|暂不讨论|没定|"
    r"没讨论|先不定",
    re.I,
)
# Said of a matter, these leave it open.
_OPEN_MATTER = re.compile(
    r"\b(still debating|going back and forth|no consensus|undecided|not decided|no decision|"
    r"didn'?t settle|not settled|no conclusion|disagree(?:d|ment)?)\b|还在讨论|有分歧|"
    r"意见不一致|没结论|"
    r"没有结论|没定下来|没达成一致",
    re.I,
)
_SETTLED = re.compile(r"\b(settled|resolved|decided|final)\b|定了|已定|敲定|达成一致", re.I)
_ARROW = re.compile(r"[?？]\s*(?:→|->|=>|A\s*[:：]|答\s*[:：])\s*(?P<answer>\S.*)$")
_DECIDED = re.compile(
    r"\b(we )?(decided|agreed|settled on|go(?:ing)? with|let'?s go with|chose|will use|final call|"
    r"approved|signed off)\b|决定|定了|就这么定|拍板|同意|确定了|结论是",
    re.I,
)
_UNOWNED = re.compile(
    r"\b(someone|somebody|anyone|tbd|no owner|unassigned|nobody|who owns|who will|who(?:'s| is) "
    r"(?:on|taking|doing|owning))\b|需要有人|没人接|没有人|还没人|谁负责|谁来|待认领|无人|"
    r"没人跟|暂无负责人",
    re.I,
)
_DUE = re.compile(
    r"\s*(?:\b(?:by|due|before|until|on)\s+(?P<due>(?:next\s+)?(?:mon|tue|wed|thu|fri|sat|sun)\w*|"
    r"\d{4}-\d{2}-\d{2}|tomorrow|today|end of (?:day|week|month|sprint)|eod|eow|next week|"
    r"\d{1,2}/\d{1,2})\b|(?P<zh>(?:下?周[一二三四五六日天]|明天|今天|月底|下周|"
    r"本周)(?:之?前|内)?))",
    re.I,
)
_OWNER_TAG = re.compile(
    r"[(（]\s*(?:owner|who|负责人?)\s*[:：=]?\s*@?(?P<o>[\w.-]+)\s*[)）]|(?:负责人|"
    r"owner)\s*[:：]\s*@?(?P<o2>[\w.-]+)",
    re.I,
)
_ASSIGN = re.compile(
    r"^@?(?P<o>[A-Za-z][\w.-]{1,30}|[\u4e00-\u9fff]{2,3})\s*(?:to|will|owns|takes|:|：|负责|"
    r"来|跟进|"
    r"牵头)\s*(?P<task>.+)$",
    re.I,
)
_TRAILING_OWNER = re.compile(r"(?:[-—–]\s*|[(（]\s*)@?(?P<o>[\w.-]+)\s*[)）]?\s*$")
_ASKS_LABEL = re.compile(r"^@?(?P<who>[\w.-]+)\s*(?:问|asks?|asked|提问)$", re.I)
_SELF = re.compile(
    r"\b(?:i'?ll|i will|i can take|i'm going to|i'm on it|let me)\b|我来|我负责|我跟进|我去|我顺便|"
    r"我(?:这周|今天|明天|下周|周[一二三四五六日])",
    re.I,
)
_MENTION = re.compile(r"@(?P<o>[\w.-]+)")
_VERBS = frozenset(
    [
        "we",
        "the",
        "a",
        "an",
        "all",
        "everyone",
        "team",
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
        "investigate",
        "test",
        "look",
    ]
)


@dataclass(slots=True)
class Statement:
    kind: str
    text: str
    label: str = ""
    speaker: str = ""
    owner: str = ""
    due: str = ""
    headed: bool = False  # a bullet under a heading, not an inline "Label: value"


@dataclass(slots=True)
class Notes:
    title: str
    statements: list[Statement] = field(default_factory=list)

    def of(self, kind: str) -> list[Statement]:
        return [s for s in self.statements if s.kind == kind]

    def fields(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for s in self.statements:
            if s.kind == FIELD:
                found.setdefault(s.label, []).append(s.text)
        return found


def label_kind(label: str) -> str | None:
    found = _KIND_OF_LABEL.get(key(label)) or _KIND_OF_LABEL.get(owned_label(label)[0])
    if found is None and len(key(label)) <= 24:
        # "我们决定", "还没定", "open questions today": a label that holds a kind's word
        for word, kind in _KIND_WORDS:
            if word.search(label):
                return kind
    return found


_OWNED_LABEL = re.compile(
    r"^(?P<kind>[A-Za-z]+|[\u4e00-\u9fff]{2,3})\s*(?:[(（]\s*@?(?P<o1>[\w.-]+)\s*[)）]|"
    r"\s+@?(?P<o2>[\w.-]+))$"
)


_KIND_WORDS = (
    (re.compile(r"推翻|翻案|重新讨论|再议|reopen|revisit|re-?discuss", re.I), REOPEN),
    (re.compile(r"还没定|未定|待定|没定|open question|unresolved", re.I), QUESTION),
    (re.compile(r"决定|决议|结论|decided|decision|agreed", re.I), DECISION),
    (re.compile(r"待办|行动|跟进|action|todo|follow", re.I), ACTION),
    (re.compile(r"问题|疑问|question", re.I), QUESTION),
)


def owned_label(label: str) -> tuple[str, str]:
    """`ACTION(hana)` / `AI marcus` / `待办 sunli` → ("action", "hana"); else (key, "")."""
    match = _OWNED_LABEL.match(label.strip())
    if not match or key(match["kind"]) not in _KIND_OF_LABEL:
        return key(label), ""
    return key(match["kind"]), match["o1"] or match["o2"] or ""


def _is_person(label: str, people: set[str]) -> bool:
    bare = label.lstrip("@").strip()
    return label.startswith("@") or bare.lower() in people


def parse(text: str, people: Iterable[str] = ()) -> Notes:
    known = {p.lower() for p in people} | {m.lower() for m in _MENTION.findall(text)}
    lines = [line for line in text.splitlines() if line.strip()]
    speakers = _speakers(lines)
    notes = Notes(title="")
    section_kind: str | None = None
    section_label = ""
    for index, line in enumerate(lines):
        mark, body = strip_bullet(line)
        heading = heading_candidate(line) if not mark else None
        if heading is not None and not heading.inline:
            kind = label_kind(heading.text)
            nxt = lines[index + 1] if index + 1 < len(lines) else ""
            if kind or (index > 0 and strip_bullet(nxt)[0]):
                section_kind, section_label = kind or FIELD, heading.text
                continue
        label = _LABEL.match(body)
        if label and label["label"][-1:].isdigit() and label["rest"][:1].isdigit():
            label = None  # "20:00" is a time, not a label
        if (
            label
            and section_kind in (DECISION, ACTION, QUESTION)
            and not label_kind(label["label"])
            and not _is_person(label["label"].strip(), known)
        ):
            label = None  # "- 2.5 范围冻结：…" under 决议 is a decision, whatever its colon
        if index == 0 and not mark and _is_title(label, known):
            notes.title = body
            continue
        if label and len(label["label"].split()) <= 4 and label["rest"].strip():
            name, rest = label["label"].strip(), label["rest"].strip()
            if _is_person(name, known) or name.lower() in speakers:
                if section_kind == ACTION:  # "- ana: write the doc" under Action items
                    due = _due(_DUE.search(rest))
                    owner = name.lstrip("@")
                    notes.statements.append(Statement(ACTION, rest, owner=owner, due=due))
                    continue
                speaker = name.lstrip("@")
                inner = _LABEL.match(rest)  # "zhangwei：结论：…" is a decision zhangwei states
                kind = label_kind(inner["label"]) if inner and inner["rest"].strip() else None
                if inner and kind:
                    statement = _labelled(kind, inner["rest"].strip(), inner["label"], known)
                    statement.speaker = speaker
                    notes.statements.append(statement)
                else:
                    notes.statements.append(_classify(rest, speaker=speaker, people=known))
                continue
            kind = label_kind(name)
            if kind is not None:
                first, *more = _clauses(rest, known) if kind == DECISION else [rest]
                statement = _labelled(kind, first if more else rest, name, known)
                owner = owned_label(name)[1]
                if owner and statement.kind == ACTION:
                    statement.owner = owner
                notes.statements.append(statement)
                notes.statements.extend(_answer_actions(statement, known))
                # "决定：…，xuming 出升级计划": what a named person is to do is an action
                notes.statements.extend(_action(c, "", known) for c in more)
                continue
            asker = _ASKS_LABEL.match(name)
            if asker or (_QUESTION.search(rest) and not label_kind(name)):
                # "yuki 问: …?", "还有一个问题没人回答: …?": a question, whoever asks it
                speaker = asker["who"] if asker else ""
                notes.statements.append(Statement(QUESTION, rest, label=name, speaker=speaker))
                continue
            if not re.search(r"https?$", name):
                notes.statements.append(Statement(FIELD, rest, label=name))
                continue
        if section_kind and section_kind != FIELD:
            statement = _labelled(section_kind, body, section_label, known)
            notes.statements.append(statement)
            notes.statements.extend(_answer_actions(statement, known))
        elif section_kind == FIELD:
            statement = _classify(body, people=known)
            if statement.kind == NOTE:
                statement = Statement(FIELD, body, label=section_label, headed=True)
            notes.statements.append(statement)
        else:
            notes.statements.extend(_classify(c, people=known) for c in _clauses(body, known))
    _choices_answered(notes.statements)
    return notes


_CHOICE = re.compile(
    r"要不要|是否|还是|\b(?:should we|do we|shall we|are we (?:going to|keeping|dropping)|"
    r"keep or)\b",
    re.I,
)


# An opinion is no decision: "我觉得要，但…", "I think so, but…".
_HEDGE = re.compile(
    r"\b(?:i think|i guess|maybe|might|perhaps|not sure|but)\b|我觉得|可能|但是?|不确定|感觉", re.I
)


def _choices_answered(statements: list[Statement]) -> None:
    """'jojo: 要不要放到下单前再弹？' 'xuming: 放到下单前，首页不弹': the answer is a decision."""
    for question, answer in zip(statements, statements[1:], strict=False):
        if (
            question.kind == QUESTION
            and answer.kind == NOTE
            and question.speaker
            and answer.speaker
            and answer.speaker != question.speaker
            and _CHOICE.search(question.text)
            and not _UNSETTLED.search(answer.text)
            and not _HEDGE.search(answer.text)
        ):
            answer.kind = DECISION


def _clauses(text: str, people: set[str]) -> list[str]:
    """A prose line holding several statements: split at ';', and at ',' before a name."""
    parts = [p.strip() for p in re.split(r"[;；]\s*", text) if p.strip()]
    out: list[str] = []
    for part in parts:
        pieces = (
            re.split(r"[,，]\s*(?=@?(?:" + "|".join(map(re.escape, people)) + r")\b)", part)
            if people
            else [part]
        )
        out.extend(p.strip() for p in pieces if p.strip())
    return out or [text]


def _is_title(label: re.Match[str] | None, people: set[str]) -> bool:
    """A first line that is no labelled statement and no one's turn names the meeting."""
    return label is None or (
        label_kind(label["label"]) is None and not _is_person(label["label"], people)
    )


def _speakers(lines: list[str]) -> set[str]:
    """Labels that several lines start with and that name no field: people taking turns."""
    counts: dict[str, int] = {}
    for line in lines:
        match = _LABEL.match(strip_bullet(line)[1])
        if match and label_kind(match["label"]) is None:
            name = match["label"].strip().lower()
            if re.fullmatch(r"@?[a-z][\w.-]{1,30}|[\u4e00-\u9fff]{2,3}", name):
                counts[name] = counts.get(name, 0) + 1
    repeated = {name for name, n in counts.items() if n >= 2}
    return repeated if len(repeated) >= 2 else set()  # a conversation has two sides


def _answer_actions(statement: Statement, people: set[str]) -> list[Statement]:
    """'… per BIN? → omar checks with the gateway by Friday': the answer gives omar work."""
    answer = _ARROW.search(statement.text) if statement.kind == QUESTION else None
    if answer is None:
        return []
    action = _action(answer["answer"], "", people)
    return [action] if action.owner else []


def _labelled(kind: str, text: str, label: str, people: set[str]) -> Statement:
    if kind == DECISION and _REOPEN.search(text) and _SETTLED.search(text):
        return Statement(DECISION, text, label=label)  # "revisited …: settled, we fail closed"
    if kind == DECISION and (
        _REOPEN.search(text) or _UNSETTLED.search(text) or _OPEN_MATTER.search(text)
    ):
        return Statement(REOPEN, text, label=label)  # "决定：…改回周五，没定下来"
    if kind == REOPEN and _SETTLED.search(text) and not _OPEN_MATTER.search(text):
        return Statement(DECISION, text, label=label)
    if kind == ACTION:
        return _action(text, label, people)
    if kind == QUESTION and _UNOWNED.search(text) and not _QUESTION.search(text):
        return _action(text, label, people)
    return Statement(kind, text, label=label)


def _classify(text: str, speaker: str = "", people: set[str] | None = None) -> Statement:
    people = people or set()
    if _REOPEN.search(text) or (_DECIDED.search(text) and _UNSETTLED.search(text)):
        return Statement(REOPEN, text, speaker=speaker)
    if _QUESTION.search(text):
        return Statement(QUESTION, text, speaker=speaker)
    if _DECIDED.search(text):
        return Statement(DECISION, text, speaker=speaker)
    if speaker and _SELF.search(text):
        due = _DUE.search(text)
        return Statement(ACTION, text, speaker=speaker, owner=speaker, due=_due(due))
    action = _action(text, "", people)
    if action.owner or _UNOWNED.search(text):
        action.speaker = speaker
        return action
    return Statement(NOTE, text, speaker=speaker)


def _due(match: re.Match[str] | None) -> str:
    return (match["due"] or match["zh"] or "") if match else ""


def _action(text: str, label: str, people: set[str]) -> Statement:
    due = _due(_DUE.search(text))
    owner = ""
    tag = _OWNER_TAG.search(text)
    assign = _ASSIGN.match(text.strip())
    mention = _MENTION.search(text)
    if tag and not _UNOWNED.search(tag.group(0)) and not _UNSETTLED.search(tag.group(0)):
        owner = tag["o"] or tag["o2"] or ""
    elif mention:
        owner = mention["o"]
    elif assign and (
        assign["o"].lower() in people
        or (assign["o"][:1].isupper() and assign["o"].lower() not in _VERBS)
    ):
        owner = assign["o"]
    elif text.split() and text.split()[0].lstrip("@").lower() in people:
        owner = text.split()[0].lstrip("@")  # "AI: wenjing 准备 shadow config"
    trailing = _TRAILING_OWNER.search(text)
    if not owner and trailing and trailing["o"].lower() in people:
        owner = trailing["o"]
    if _UNOWNED.search(text) and not mention and not tag:
        owner = ""
    return Statement(ACTION, text, label=label, owner=owner, due=due)


def unaddressed(notes: Notes) -> list[tuple[str, str]]:
    """(what, text) for each open issue, in the order the notes raise them."""
    found: list[tuple[str, str]] = []
    statements = notes.statements
    for i, s in enumerate(statements):
        later = statements[i + 1 :]
        if s.kind == QUESTION:
            if _UNOWNED.search(s.text) and not _answered(s, later):
                found.append(("owner", s.text))
            elif not _answered(s, later):
                found.append(("question", s.text))
        elif s.kind == ACTION and not s.owner:
            found.append(("owner", s.text))
        elif s.kind == REOPEN and not any(
            t.kind == DECISION and overlap(s.text, t.text) >= 0.3 for t in later
        ):
            found.append(("reopen", s.text))
        elif s.kind in (NOTE, FIELD) and _UNOWNED.search(s.text):
            found.append(("owner", s.text))
        elif s.kind in (NOTE, FIELD) and _OPEN_MATTER.search(s.text):
            found.append(("reopen", s.text))  # "still debating X", "意见不一致"
    return found


def _answered(question: Statement, later: list[Statement]) -> bool:
    if _UNSETTLED.search(question.text):
        return False  # "Q: … ? no answer", "… nobody knew"
    if re.search(r"[?？]\s*(?:A|Answer|答|回答)\s*[:：]\s*\S", question.text) or _ARROW.search(
        question.text
    ):
        return True  # "Q: …? A: …" or "…? → mina: no" on one line
    for t in later[:3]:
        if t.kind == DECISION and not _UNSETTLED.search(t.text):
            break
        if t.kind == REOPEN or _UNSETTLED.search(t.text):
            return False  # "… 要不要恢复？" "我觉得要，但…" "这个再议，今天先不定"
    replies = [t for t in later if not _UNSETTLED.search(t.text)]
    if later and later[0].kind == ANSWER and later[0] in replies:
        return True
    if (
        later
        and later[0] in replies
        and question.speaker
        and later[0].speaker
        and later[0].speaker != question.speaker
        and later[0].kind != QUESTION
    ):
        return True
    return any(
        t.kind in (DECISION, ANSWER, NOTE, FIELD) and overlap(question.text, t.text) >= 0.5
        for t in replies
    )
