"""The YAML front matter of SKILL.md: the small subset Agent Skills use, written and read.

Written values are JSON-quoted strings (valid YAML double-quoted scalars). Read: plain,
single- and double-quoted scalars, `|` and `>` block scalars, and one nested mapping
level (`metadata:`), which covers what other tools write for Agent Skills.
"""

from __future__ import annotations

import json
import re

_KEY = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z0-9_.-]+)\s*:\s*(?P<value>.*)$")


class FrontmatterError(ValueError):
    """SKILL.md has no readable front matter; the message says what is wrong."""


def dump(fields: dict[str, str | dict[str, str]]) -> str:
    lines = ["---"]
    for key, value in fields.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines.extend(f"  {k}: {json.dumps(v, ensure_ascii=False)}" for k, v in value.items())
        else:
            lines.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
    lines.append("---")
    return "\n".join(lines) + "\n"


def split(text: str) -> tuple[dict[str, object], str]:
    """(front matter, body) of a SKILL.md."""
    if not text.startswith("---"):
        raise FrontmatterError("SKILL.md must start with '---' and YAML front matter")
    end = re.search(r"^---\s*$", text[3:], re.M)
    if end is None:
        raise FrontmatterError("SKILL.md front matter has no closing '---' line")
    head = text[3 : 3 + end.start()]
    body = text[3 + end.end() :].lstrip("\n")
    return parse(head), body


def _scalar(raw: str) -> str:
    raw = raw.strip()
    if raw.startswith('"'):
        return str(json.loads(raw))
    if raw.startswith("'") and raw.endswith("'"):
        return raw[1:-1].replace("''", "'")
    return raw.split(" #", 1)[0].strip()


def parse(head: str) -> dict[str, object]:
    result: dict[str, object] = {}
    lines = head.splitlines()
    index = 0
    parent: dict[str, object] | None = None
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _KEY.match(line)
        if match is None:
            raise FrontmatterError(f"cannot read front matter line {index}")
        indent, key, value = len(match["indent"]), match["key"], match["value"]
        target = parent if indent > 0 and parent is not None else result
        if indent == 0:
            parent = None
        if value.strip() in ("|", "|-", "|+", ">", ">-", ">+"):
            block: list[str] = []
            while index < len(lines) and (
                not lines[index].strip() or len(lines[index]) - len(lines[index].lstrip()) > indent
            ):
                block.append(lines[index].strip())
                index += 1
            text = ("\n" if value.strip().startswith("|") else " ").join(block).strip()
            target[key] = text
        elif value.strip() == "" and indent == 0:
            nested: dict[str, object] = {}
            result[key] = nested
            parent = nested
        else:
            target[key] = _scalar(value)
    return result
