"""Checking a snippet against the team's review rules, line by line.

A rule's patterns (from skills/code_review.py) are regexes over one line, known checks
(skills/code_terms.py), whole-snippet requirements for a language, and limits such as "only
inside a loop"; a call that spans several lines is read to its closing bracket.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from skills.code_terms import CHECKS, language_of

_BLOCK_LOOP = re.compile(r"^\s*(?:for|while)\b|\.forEach\(|^\s*(?:for|while)\s*\(")
_EVERY_N = re.compile(r"^\s*(?:if|elif|else\s+if)\b.*%")
_CODE_COMMENT = re.compile(r"^\s*(#|//|--|/\*|\*)")


def check(
    code: str, rules: Sequence[dict]
) -> tuple[list[tuple[dict, list[tuple[int, str]]]], list[dict]]:
    """The rules a snippet breaks, with the lines; and the rules no pattern can check."""
    by_name = {c.name: c for c in CHECKS}
    lines = code.splitlines()
    language = language_of(code)
    findings, unchecked = [], []
    for rule in rules:
        hits: list[tuple[int, str]] = []
        for pattern in rule.get("patterns", []):
            if "require_snippet" in pattern:
                wanted = pattern["require_snippet"].lower()
                about = pattern.get("about") or []
                relevant = not about or any(a.lower() in code.lower() for a in about)
                if (
                    pattern.get("language") == language
                    and relevant
                    and wanted not in code.lower()
                    and lines
                ):
                    hits.append((1, lines[0]))
                continue
            for number, line in enumerate(lines, 1):
                if _CODE_COMMENT.match(line) or (number, line) in hits:
                    continue
                if "check" in pattern:
                    known = by_name.get(pattern["check"])
                    text = _statement(lines, number - 1) if known and known.multiline else line
                    found = known is not None and known.finds(text)
                    if found and known and known.language and known.language != language:
                        found = False
                    if found and known and known.unless_snippet:
                        found = not re.search(known.unless_snippet, code)
                else:
                    found = bool(re.search(pattern["regex"], line))
                    if found and pattern.get("in_loop"):
                        found = _inside_loop(lines, number - 1)
                    unless = pattern.get("unless_line")
                    if found and unless and re.search(unless, _statement(lines, number - 1)):
                        found = False  # `requests.get(url,\n    timeout=5)` carries it
                if found:
                    hits.append((number, line))
        if hits:
            findings.append((rule, sorted(hits)))
        elif not rule.get("patterns"):
            unchecked.append(rule)
    return findings, unchecked


def _statement(lines: Sequence[str], index: int, most: int = 20) -> str:
    """The line and the ones its open brackets continue onto (a call over several lines)."""
    text, depth = "", 0
    for line in lines[index : index + most]:
        text += line + "\n"
        depth += sum(line.count(c) for c in "([{") - sum(line.count(c) for c in ")]}")
        if depth <= 0:
            break
    return text


def _inside_loop(lines: Sequence[str], index: int) -> bool:
    """Is this line run on every pass of a for/while loop (by indentation)? Not when an
    `if (i + 1) % log_every == 0:` between the two runs it only every N passes."""
    indent = len(lines[index]) - len(lines[index].lstrip())
    for line in reversed(lines[:index]):
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        if depth < indent:
            if _BLOCK_LOOP.search(line):
                return True
            if _EVERY_N.search(line):
                return False
            indent = depth
    return False
