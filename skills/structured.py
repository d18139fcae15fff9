"""What the model must answer for each skill kind, checked against what it was shown.

A model's answer is used only when it is JSON of the kind's schema and every part of it can be
traced to its source: weekly-report items cite numbered messages and share their words,
code-review findings quote real lines under real rules, memo entries come from the notes and
name only owners the notes name. Anything else is rejected and the offline result stays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

KINDS = ("weekly-report", "code-review", "meeting-memo")

_STR: dict[str, Any] = {"type": "string"}
_STR_OR_NULL: dict[str, Any] = {"type": ["string", "null"]}
_STOP = frozenset(
    str.split(
        "the and for with from that this into onto over then than was were are has have had its "
        "our out not but all any can will would should could about after before also just more "
        "some such very what when where which while who why how you your they them their there "
        "been being did does done doing get got per via yes"
    )
)
_WORD = re.compile(r"[a-z0-9][a-z0-9_'-]*")
_CJK = re.compile(r"[\u3400-\u9fff]+")
_NONE_FOUND = (
    "none found (I looked for unanswered questions, actions without an owner and decisions "
    "reopened without resolution)"
)


@dataclass(frozen=True, slots=True)
class Source:
    """What the model was shown, as sent (redacted and cut): the ground truth of validation."""

    kind: str
    messages: tuple[str, ...] = ()  # weekly-report: message n is messages[n - 1]
    labels: tuple[str, ...] = ()  # weekly-report: where message n was posted
    headings: tuple[str, ...] = ()
    week: str = ""
    rules: dict[str, str] = field(default_factory=dict)  # code-review: rule id -> wording
    code: tuple[str, ...] = ()  # code-review: line n is code[n - 1]
    notes: str = ""  # meeting-memo
    types: tuple[str, ...] = ()  # meeting-memo: the team's meeting types
    heading_style: str = "*{h}*"
    bullet: str = "-"


def _obj(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def schema(kind: str, source: Source | None = None) -> dict[str, Any]:
    """The JSON schema of the kind's run output; with a source, ids and headings are enums."""
    if kind == "weekly-report":
        heading = {**_STR, "enum": list(source.headings)} if source and source.headings else _STR
        number: dict[str, Any] = {"type": "integer"}
        if source and source.messages:
            number["enum"] = list(range(1, len(source.messages) + 1))
        item = _obj({"text": _STR, "sources": _array(number)})
        return _obj(
            {"title": _STR, "sections": _array(_obj({"heading": heading, "items": _array(item)}))}
        )
    if kind == "code-review":
        rule = {**_STR, "enum": list(source.rules)} if source and source.rules else _STR
        finding = _obj({"rule": rule, "line": {"type": "integer"}, "code": _STR})
        return _obj({"findings": _array(finding)})
    if kind == "meeting-memo":
        action = _obj({"owner": _STR_OR_NULL, "task": _STR, "due": _STR_OR_NULL})
        return _obj(
            {
                "type": _STR_OR_NULL,
                "decisions": _array(_STR),
                "actions": _array(action),
                "unaddressed": _array(_STR),
            }
        )
    raise ValueError(f"no schema for skill kind {kind!r}")


def bounded(json_schema: Any, items: int = 8) -> Any:
    """A copy with every array capped, for servers that enforce it while decoding (llama.cpp's
    grammars): a small model then cannot list the same thing until it is cut off. OpenAI's
    strict mode takes no such limits, so the plain schema goes there."""
    if isinstance(json_schema, list):
        return [bounded(s, items) for s in json_schema]
    if not isinstance(json_schema, dict):
        return json_schema
    copy = {k: bounded(v, items) for k, v in json_schema.items()}
    if copy.get("type") == "array":
        copy["maxItems"] = 3 if copy.get("items", {}).get("type") == "integer" else items
    return copy


def _stem(word: str) -> str:
    word = word.removesuffix("'s")
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    word = word.removesuffix("e") if len(word) > 3 else word
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiou0123456789":
        word = word[:-1]
    return word


def content(text: str) -> set[str]:
    """Content-word stems of Latin text, and character bigrams of Chinese text."""
    found = {_stem(w) for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in _STOP}
    for run in _CJK.findall(text):
        found.update([run] if len(run) == 1 else (run[i : i + 2] for i in range(len(run) - 1)))
    return found


def overlaps(text: str, source: str) -> bool:
    """The text says something (two content words or bigrams at least), and at least half of
    them are in the source."""
    words = content(text)
    return len(words) >= 2 and 2 * len(words & content(source)) >= len(words)


def _in_text(name: str, text: str) -> bool:
    name = name.strip().lstrip("@")
    if not name:
        return False
    if _CJK.search(name):
        return name in text
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.I) is not None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _short(text: object) -> str:
    shown = str(text)
    return shown if len(shown) <= 60 else shown[:60] + "…"


def validate(kind: str, data: object, source: Source) -> list[str]:
    """Every way the answer breaks its schema or its source; empty when it can be used."""
    if not isinstance(data, dict):
        return ["the answer is not a JSON object"]
    if kind == "weekly-report":
        return _weekly_problems(data, source)
    if kind == "code-review":
        return _review_problems(data, source)
    if kind == "meeting-memo":
        return _memo_problems(data, source)
    return [f"no validator for skill kind {kind!r}"]


def _weekly_problems(data: dict, source: Source) -> list[str]:
    problems = []
    title, sections = data.get("title"), data.get("sections")
    if not isinstance(title, str) or source.week not in title:
        problems.append(f"the title must contain the week {source.week}")
    if not isinstance(sections, list) or not all(isinstance(s, dict) for s in sections):
        return [*problems, "sections must be a list of objects"]
    headings = [s.get("heading") for s in sections]
    if headings != list(source.headings):
        problems.append(
            "the section headings must be exactly, in this order: " + ", ".join(source.headings)
        )
    count = 0
    for section in sections:
        items = section.get("items")
        if not isinstance(items, list):
            problems.append(f"section {_short(section.get('heading'))}: items must be a list")
            continue
        for item in items:
            count += 1
            text = item.get("text") if isinstance(item, dict) else None
            refs = item.get("sources") if isinstance(item, dict) else None
            if not isinstance(text, str) or not text.strip():
                problems.append("every item needs a non-empty text")
                continue
            if not isinstance(refs, list) or not refs:
                problems.append(f"item {_short(text)!r} cites no source message")
                continue
            bad = [r for r in refs if not _is_int(r) or not 1 <= r <= len(source.messages)]
            if bad:
                problems.append(f"item {_short(text)!r} cites messages that do not exist: {bad}")
                continue
            cited = "\n".join(source.messages[r - 1] for r in refs)
            if not overlaps(text, cited):
                problems.append(f"item {_short(text)!r} is not in the messages it cites")
    if not count:
        problems.append("the report lists no work at all")
    return problems


def _review_problems(data: dict, source: Source) -> list[str]:
    findings = data.get("findings")
    if not isinstance(findings, list):
        return ["findings must be a list"]
    problems = []
    for finding in findings:
        if not isinstance(finding, dict):
            problems.append("every finding must be an object")
            continue
        rule, line, code = finding.get("rule"), finding.get("line"), finding.get("code")
        if rule not in source.rules:
            problems.append(f"rule {_short(rule)!r} is not one of: {', '.join(source.rules)}")
        if not isinstance(line, int) or not _is_int(line) or not 1 <= line <= len(source.code):
            problems.append(f"line {_short(line)} is not a line of the snippet")
        elif (
            not isinstance(code, str)
            or not code.strip()
            or (code.strip() != source.code[line - 1].strip())
        ):
            problems.append(f"code of line {line} must be exactly that line of the snippet")
    return problems


def _memo_problems(data: dict, source: Source) -> list[str]:
    problems = []
    notes = source.notes
    kind = data.get("type")
    if kind is not None and (
        not isinstance(kind, str)
        or not kind.strip()
        or (kind.lower() not in {t.lower() for t in source.types} and not _in_text(kind, notes))
    ):
        problems.append(f"type {_short(kind)!r} is neither a known meeting type nor in the notes")
    for key in ("decisions", "unaddressed"):
        texts = data.get(key)
        if not isinstance(texts, list):
            problems.append(f"{key} must be a list")
            continue
        what = "decision" if key == "decisions" else "open issue"
        for text in texts:
            if not isinstance(text, str) or not overlaps(text, notes):
                problems.append(f"{what} {_short(text)!r} is not in the notes")
    actions = data.get("actions")
    if not isinstance(actions, list):
        return [*problems, "actions must be a list"]
    for action in actions:
        if not isinstance(action, dict):
            problems.append("every action must be an object")
            continue
        task, owner, due = action.get("task"), action.get("owner"), action.get("due")
        if not isinstance(task, str) or not overlaps(task, notes):
            problems.append(f"action {_short(task)!r} is not in the notes")
        if owner is not None and (not isinstance(owner, str) or not _in_text(owner, notes)):
            problems.append(f"owner {_short(owner)!r} is not named in the notes: use null")
        if due is not None and (not isinstance(due, str) or not _in_text(due, notes)):
            problems.append(f"due date {_short(due)!r} is not in the notes: use null")
    return problems


def render(kind: str, data: dict, source: Source) -> str:
    """The chat text (Slack-style mrkdwn) of a validated answer, shaped like the offline one."""
    if kind == "weekly-report":
        return _render_weekly(data, source)
    if kind == "code-review":
        return _render_review(data, source)
    return _render_memo(data)


def _render_weekly(data: dict, source: Source) -> str:
    lines = [data["title"].strip()]
    used: list[int] = []  # message numbers in order of first citation
    for section in data["sections"]:
        lines.append(source.heading_style.replace("{h}", section["heading"]))
        if not section["items"]:
            lines.append(f"{source.bullet} (none)")
        for item in section["items"]:
            refs = []
            for ref in dict.fromkeys(item["sources"]):
                if ref not in used:
                    used.append(ref)
                refs.append(str(used.index(ref) + 1))
            lines.append(f"{source.bullet} {item['text'].strip()} [{','.join(refs)}]")
    footer = " · ".join(
        f"[{n}] {source.labels[ref - 1] if ref <= len(source.labels) else f'message {ref}'}"
        for n, ref in enumerate(used, 1)
    )
    return "\n".join([*lines, "", "Sources: " + footer])


def _render_review(data: dict, source: Source) -> str:
    by_rule: dict[str, list[tuple[int, str]]] = {}
    for f in data["findings"]:
        hit = (f["line"], source.code[f["line"] - 1].strip())
        if hit not in by_rule.setdefault(f["rule"], []):
            by_rule[f["rule"]].append(hit)
    checked = "; ".join(f"“{text}”" for text in source.rules.values())
    if not by_rule:
        return (
            f"No finding: I checked the snippet against {len(source.rules)} team rule(s): {checked}"
        )
    out = [f"*Code review* — {len(by_rule)} team rule(s) broken:"]
    for n, (rule, hits) in enumerate(by_rule.items(), 1):
        out.append(f"{n}. “{source.rules[rule]}”")
        out.extend(f"    line {number}: `{code}`" for number, code in sorted(hits)[:5])
    return "\n".join(out)


def _render_memo(data: dict) -> str:
    kind = (data.get("type") or "meeting").strip()
    out = [f"*{kind[:1].upper() + kind[1:]} memo*", "*Decisions*"]
    out.extend(f"- {d}" for d in data["decisions"]) if data["decisions"] else out.append("- (none)")
    out.append("*Action items*")
    unaddressed = list(data["unaddressed"])
    for a in data["actions"]:
        due = f" — due {a['due']}" if a["due"] else " — no date"
        out.append(f"- {a['owner'] or '(no owner)'}: {a['task']}{due}")
        if not a["owner"] and not any(overlaps(a["task"], u) for u in unaddressed):
            unaddressed.append(f"Action with no owner: {a['task']}")
    if not data["actions"]:
        out.append("- (none)")
    out.append("*Unaddressed issues*")
    out.extend(f"- {u}" for u in unaddressed) if unaddressed else out.append(f"- {_NONE_FOUND}")
    return "\n".join(out)
