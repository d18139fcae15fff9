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

from skills.memo_words import (
    ACTION,
    ANSWER,
    ARROW_RE,
    ASKING_RE,
    ASKS_LABEL_RE,
    ASSIGN_RE,
    CHECKBOX_RE,
    CHOICE_RE,
    CONCERN_RE,
    DECIDED_RE,
    DECISION,
    DUE_RE,
    FIELD,
    GO_RE,
    HEDGE_RE,
    KIND_OF_LABEL,
    KIND_WORDS,
    LABEL_RE,
    MARKER_KINDS,
    MENTION_RE,
    NOTE,
    OPEN_MATTER_RE,
    OWNED_LABEL_RE,
    OWNER_TAG_RE,
    QUESTION,
    QUESTION_RE,
    REOPEN,
    REOPEN_RE,
    SELF_RE,
    SETTLED_RE,
    TABLE_DUE,
    TABLE_OWNER,
    TRAILING_OWNER_RE,
    UNOWNED_RE,
    UNSETTLED_RE,
    VERBS,
)
from skills.template import heading_candidate, key, strip_bullet
from skills.tokens import overlap


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
    found = KIND_OF_LABEL.get(key(label)) or KIND_OF_LABEL.get(owned_label(label)[0])
    if found is None and len(key(label)) <= 24:
        # "我们决定", "还没定", "open questions today": a label that holds a kind's word
        for word, kind in KIND_WORDS:
            if word.search(label):
                return kind
    return found


def owned_label(label: str) -> tuple[str, str]:
    """`ACTION(hana)` / `AI marcus` / `待办 sunli` → ("action", "hana"); else (key, "")."""
    match = OWNED_LABEL_RE.match(label.strip())
    if not match or key(match["kind"]) not in KIND_OF_LABEL:
        return key(label), ""
    return key(match["kind"]), match["o1"] or match["o2"] or ""


def _is_person(label: str, people: set[str]) -> bool:
    bare = label.lstrip("@").strip()
    return label.startswith("@") or bare.lower() in people


def parse(text: str, people: Iterable[str] = ()) -> Notes:
    known = {p.lower() for p in people} | {m.lower() for m in MENTION_RE.findall(text)}
    lines = [line for line in text.splitlines() if line.strip()]
    speakers = _speakers(lines)
    notes = Notes(title="")
    section_kind: str | None = None
    section_label = ""
    table: list[str] = []  # the header cells of the table being read
    for index, line in enumerate(lines):
        if line.lstrip().startswith("|"):
            table = _table_row(line, table, notes)
            continue
        table = []
        mark, body = strip_bullet(line)
        box = CHECKBOX_RE.match(body)
        if box:  # "- [ ] dmitri: implement the swap" is open work, "- [x] decided: …" done
            body, mark = body[box.end() :], mark or "-"
        heading = heading_candidate(line) if not mark else None
        if heading is not None and not heading.inline:
            kind = label_kind(heading.text)
            nxt = lines[index + 1] if index + 1 < len(lines) else ""
            if kind or (index > 0 and strip_bullet(nxt)[0]):
                section_kind, section_label = kind or FIELD, heading.text
                continue
        if not mark and section_kind is None and len(re.findall(r"[。；;]", body)) >= 2:
            notes.statements.extend(_prose(body, known))  # a paragraph, not "Label: value"
            continue
        label = LABEL_RE.match(body)
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
                listed = mark and name.lower() not in speakers and _is_person(name, known)
                open_box = box is not None and not box["done"].strip()
                if section_kind == ACTION or (
                    (listed or open_box)
                    and _classify(rest, people=known).kind in (ACTION, NOTE, FIELD)
                ):  # "- ana: write the doc" under Action items, Owners or Committed
                    due = _due(DUE_RE.search(rest))
                    owner = name.lstrip("@")
                    notes.statements.append(Statement(ACTION, rest, owner=owner, due=due))
                    continue
                speaker = name.lstrip("@")
                inner = LABEL_RE.match(rest)  # "zhangwei：结论：…" is a decision zhangwei states
                kind = label_kind(inner["label"]) if inner and inner["rest"].strip() else None
                if inner and kind:
                    statement = _labelled(kind, inner["rest"].strip(), inner["label"], known)
                    statement.speaker = speaker
                    notes.statements.append(statement)
                else:
                    notes.statements.extend(_turn(rest, speaker, known))
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
            asker = ASKS_LABEL_RE.match(name)
            if asker or (QUESTION_RE.search(rest) and not label_kind(name)):
                # "yuki 问: …?", "还有一个问题没人回答: …?": a question, whoever asks it
                speaker = asker["who"] if asker else ""
                notes.statements.append(Statement(QUESTION, rest, label=name, speaker=speaker))
                continue
            if not re.search(r"https?$", name):
                said = _classify(rest, people=known)
                if said.kind in (DECISION, QUESTION, REOPEN) or (
                    said.kind == ACTION and (said.owner or UNOWNED_RE.search(rest))
                ):  # "风险：…，需要有人在上线前过一遍" is work nobody owns
                    # "exp_0729 新人券门槛：通过" is a decision about what the label names
                    said.text, said.label = body, name
                    notes.statements.append(said)
                else:
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
            notes.statements.extend(_prose(body, known))
    _choices_answered(notes.statements)
    return notes


def _turn(text: str, speaker: str, people: set[str]) -> list[Statement]:
    """One speaker's turn: "ok. tobiah makes the routing change today" is tobiah's action
    after an agreement, not a decision."""
    ok = re.match(r"^\s*(?:ok|okay|好|行)[.,，。]\s*(?P<rest>\S.*)$", text, re.I)
    if ok and ok["rest"].split()[0].lstrip("@").lower() in people:
        action = _action(ok["rest"], "", people)
        action.speaker = speaker
        return [action]
    return [_classify(text, speaker=speaker, people=people)]


def _prose(body: str, people: set[str]) -> list[Statement]:
    """Statements of running prose, sentence by sentence. A sentence that leaves a matter
    open is one statement, with what was left open ("We said X, but now …; we didn't settle
    it"); after "定了几件事：" the items that follow in that sentence are decisions too."""
    out: list[Statement] = []
    for sentence in _SENTENCE.split(body):
        if not sentence.strip():
            continue
        if OPEN_MATTER_RE.search(sentence) or REOPEN_RE.search(sentence):
            out.append(Statement(REOPEN, sentence.strip()))
            continue
        listing = False
        for clause in _clauses(sentence, people):
            said = _classify(clause, people=people)
            if said.kind == NOTE and listing:
                said.kind = DECISION
            listing = listing or (said.kind == DECISION and bool(re.search(r"[:：]", clause)))
            out.append(said)
    return out


_SENTENCE = re.compile(r"(?<=[。！？!?])\s*|(?<=[a-z0-9)]\.)\s+(?=[A-Z])")


def _choices_answered(statements: list[Statement]) -> None:
    """'jojo: 要不要放到下单前再弹？' 'xuming: 放到下单前，首页不弹': the answer is a decision."""
    for question, answer in zip(statements, statements[1:], strict=False):
        if (
            question.kind == QUESTION
            and answer.kind == NOTE
            and question.speaker
            and answer.speaker
            and answer.speaker != question.speaker
            and CHOICE_RE.search(question.text)
            and not UNSETTLED_RE.search(answer.text)
            and not HEDGE_RE.search(answer.text)
        ):
            answer.kind = DECISION


def _table_row(line: str, header: list[str], notes: Notes) -> list[str]:
    """A Markdown table of work ("| item | owner | due |"): each row an action."""
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if not header:
        return cells
    if all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
        return header
    owner_at = next((i for i, h in enumerate(header) if TABLE_OWNER.search(h)), None)
    due_at = next((i for i, h in enumerate(header) if TABLE_DUE.search(h)), None)
    task = " ".join(c for i, c in enumerate(cells) if i not in (owner_at, due_at) and c)
    owner = cells[owner_at] if owner_at is not None and owner_at < len(cells) else ""
    if UNOWNED_RE.search(owner) or UNSETTLED_RE.search(owner) or owner in ("?", "-", "—"):
        owner = ""
    due = cells[due_at] if due_at is not None and due_at < len(cells) else ""
    notes.statements.append(Statement(ACTION, task, owner=owner.lstrip("@"), due=due))
    return header


def _clauses(text: str, people: set[str]) -> list[str]:
    """A prose line holding several statements: split at ';', and at ',' before a name."""
    parts = [
        p.strip() for p in re.split(r"[;；。]\s*|(?<=[a-z)])\.\s+(?=[A-Za-z])", text) if p.strip()
    ]
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
        match = LABEL_RE.match(strip_bullet(line)[1])
        if match and label_kind(match["label"]) is None:
            name = match["label"].strip().lower()
            if re.fullmatch(r"@?[a-z][\w.-]{1,30}|[\u4e00-\u9fff]{2,3}", name):
                counts[name] = counts.get(name, 0) + 1
    repeated = {name for name, n in counts.items() if n >= 2}
    return repeated if len(repeated) >= 2 else set()  # a conversation has two sides


def _answer_actions(statement: Statement, people: set[str]) -> list[Statement]:
    """'… per BIN? → omar checks with the gateway by Friday': the answer gives omar work."""
    answer = ARROW_RE.search(statement.text) if statement.kind == QUESTION else None
    if answer is None:
        return []
    action = _action(answer["answer"], "", people)
    return [action] if action.owner else []


def _labelled(kind: str, text: str, label: str, people: set[str]) -> Statement:
    if kind == DECISION and REOPEN_RE.search(text) and SETTLED_RE.search(text):
        return Statement(DECISION, text, label=label)  # "revisited …: settled, we fail closed"
    if kind == DECISION and (
        REOPEN_RE.search(text) or UNSETTLED_RE.search(text) or OPEN_MATTER_RE.search(text)
    ):
        return Statement(REOPEN, text, label=label)  # "决定：…改回周五，没定下来"
    if kind == REOPEN and SETTLED_RE.search(text) and not OPEN_MATTER_RE.search(text):
        return Statement(DECISION, text, label=label)
    if kind == ACTION:
        return _action(text, label, people)
    if kind == QUESTION and UNOWNED_RE.search(text) and not QUESTION_RE.search(text):
        return _action(text, label, people)
    return Statement(kind, text, label=label)


def _classify(text: str, speaker: str = "", people: set[str] | None = None) -> Statement:
    people = people or set()
    for marker, kind in MARKER_KINDS:
        if text.startswith(marker):
            rest = text[len(marker) :].lstrip("\ufe0f ").strip()
            if kind == ACTION:
                action = _action(rest, "", people)
                action.speaker = speaker
                return action
            if kind == DECISION and (UNSETTLED_RE.search(rest) or OPEN_MATTER_RE.search(rest)):
                return Statement(REOPEN, rest, speaker=speaker)
            return Statement(kind, rest, speaker=speaker)
    if REOPEN_RE.search(text) or (DECIDED_RE.search(text) and UNSETTLED_RE.search(text)):
        return Statement(REOPEN, text, speaker=speaker)
    if UNOWNED_RE.search(text) and not ASKING_RE.match(text):
        # "someone needs to update the asset register, owner: ?" is an action nobody owns
        return Statement(ACTION, text, speaker=speaker)
    if QUESTION_RE.search(text):
        return Statement(QUESTION, text, speaker=speaker)
    if speaker and SELF_RE.search(text):  # "ok. I'll take it" is a promise before an agreement
        due = DUE_RE.search(text)
        return Statement(ACTION, text, speaker=speaker, owner=speaker, due=_due(due))
    if DECIDED_RE.search(text) or GO_RE.search(text):
        return Statement(DECISION, text, speaker=speaker)
    if OPEN_MATTER_RE.search(text):  # "X wanted …, Y said no, we didn't settle it"
        return Statement(REOPEN, text, speaker=speaker)
    action = _action(text, "", people)
    narrated = re.match(r"^@?[\w.-]+\s+\w+ed\b", text) and not DUE_RE.search(text)
    if (action.owner and not narrated) or UNOWNED_RE.search(text):
        action.speaker = speaker
        return action
    return Statement(NOTE, text, speaker=speaker)


def _due(match: re.Match[str] | None) -> str:
    return (match["due"] or match["zh"] or "") if match else ""


def _action(text: str, label: str, people: set[str]) -> Statement:
    due = _due(DUE_RE.search(text))
    owner = ""
    tag = OWNER_TAG_RE.search(text)
    assign = ASSIGN_RE.match(text.strip())
    mention = MENTION_RE.search(text)
    if tag and not UNOWNED_RE.search(tag.group(0)) and not UNSETTLED_RE.search(tag.group(0)):
        owner = tag["o"] or tag["o2"] or ""
    elif mention:
        owner = mention["o"]
    elif assign and (
        assign["o"].lower() in people
        or (assign["o"][:1].isupper() and assign["o"].lower() not in VERBS)
    ):
        owner = assign["o"]
    elif text.split() and text.split()[0].lstrip("@").lower() in people:
        owner = text.split()[0].lstrip("@")  # "AI: wenjing 准备 shadow config"
    trailing = TRAILING_OWNER_RE.search(text)
    if not owner and trailing and trailing["o"].lower() in people:
        owner = trailing["o"]
    if UNOWNED_RE.search(text) and not mention and not tag:
        owner = ""
    return Statement(ACTION, text, label=label, owner=owner, due=due)


def unaddressed(notes: Notes) -> list[tuple[str, str]]:
    """(what, text) for each open issue, in the order the notes raise them."""
    found: list[tuple[str, str]] = []
    statements = notes.statements
    for i, s in enumerate(statements):
        later = statements[i + 1 :]
        if s.kind == QUESTION:
            if UNOWNED_RE.search(s.text) and not _answered(s, later):
                found.append(("owner", s.text))
            elif not _answered(s, later):
                found.append(("question", s.text))
        elif s.kind == ACTION and not s.owner:
            found.append(("owner", s.text))
        elif s.kind == REOPEN and not any(
            t.kind == DECISION and overlap(s.text, t.text) >= 0.3 for t in later
        ):
            found.append(("reopen", s.text))
        elif s.kind in (NOTE, FIELD) and UNOWNED_RE.search(s.text):
            found.append(("owner", s.text))
        elif s.kind in (NOTE, FIELD) and OPEN_MATTER_RE.search(s.text):
            found.append(("reopen", s.text))  # "still debating X", "意见不一致"
        elif s.kind in (NOTE, FIELD) and UNSETTLED_RE.search(s.text):
            found.append(("question", s.text))  # "…，下次再聊", "…，还不清楚", "待确认：…"
        elif s.kind in (NOTE, FIELD) and CONCERN_RE.search(s.text) and not _settled(s, later):
            found.append(("concern", s.text))  # "I'm worried that …" and nothing answers it
    return found


def _settled(concern: Statement, later: list[Statement]) -> bool:
    return any(t.kind in (DECISION, ACTION) and overlap(concern.text, t.text) >= 0.3 for t in later)


def _answered(question: Statement, later: list[Statement]) -> bool:
    if UNSETTLED_RE.search(question.text):
        return False  # "Q: … ? no answer", "… nobody knew"
    if re.search(r"[?？]\s*(?:A|Answer|答|回答)\s*[:：]\s*\S", question.text) or ARROW_RE.search(
        question.text
    ):
        return True  # "Q: …? A: …" or "…? → mina: no" on one line
    for t in later[:3]:
        if t.kind == DECISION and not UNSETTLED_RE.search(t.text):
            break
        if t.kind == REOPEN or UNSETTLED_RE.search(t.text):
            return False  # "… 要不要恢复？" "我觉得要，但…" "这个再议，今天先不定"
    replies = [t for t in later if not UNSETTLED_RE.search(t.text)]
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
