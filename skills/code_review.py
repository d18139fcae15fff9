"""`code-review`: mine the team's standards from recurring review comments; check a snippet."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from skills.kind import Learned, RunRequest, RunResult
from skills.material import Material
from skills.text import jaccard, stems

_REVIEW_PREFIX = re.compile(
    r"^\s*(?:code\s+)?review(?:ed)?\s+(?:on|of|for)\s+(?:PR\s*)?#?\d+\s*[:：-]\s*", re.I
)
_CUES = re.compile(
    r"\b(please use|use \S+ (?:for|instead)|instead of|rather than|don't|do not|never|avoid|"
    r"no \S+ in|add (?:a |an )?tests?|nit:|should|must)\b",
    re.I,
)
_TERM = r"`?[A-Za-z_][\w.]*(?:\(\))?`?"
_PREFER_AVOID = re.compile(
    rf"\buse (?P<prefer>{_TERM})(?: (?:for|in|with) (?P<scope>[\w ]+?))?,? "
    rf"(?:not|never|instead of|rather than) (?P<avoid>{_TERM})",
    re.I,
)
_AVOID_THEN_PREFER = re.compile(
    rf"\b(?:no|never|avoid|don't use|do not use) (?P<avoid>{_TERM})"
    rf"(?: (?:in|for) (?P<scope>[\w ]+?))?[,;.—-]+ *(?:use (?P<prefer>(?:the )?{_TERM}))?",
    re.I,
)
_AVOID = re.compile(rf"\b(?:no|never|avoid|don't use|do not use) (?P<avoid>{_TERM})", re.I)
_WITHOUT = re.compile(
    rf"\b(?:never|don't|do not|no) (?:use |call )?(?P<subject>{_TERM}) (?:calls? )?without "
    rf"(?:a |an |the )?(?P<required>{_TERM})",
    re.I,
)
_TEST = re.compile(r"\badd (?:a |an )?tests? (?:for|covering) (?:the )?(?P<what>[\w -]+)", re.I)
_BACKTICK = re.compile(r"`([^`]{2,60})`")
_MONEY = re.compile(r"\b(money|amount|price|total|cost|invoice|balance|fee|currency|payment)", re.I)
_MONEY_FLOAT = (
    r"\b\w*(amount|price|total|cost|balance|fee|sum|money)\w*\s*(:\s*\w+\s*)?=\s*-?\d+\.\d+"
)
_GENERIC = {"please", "review", "pr", "code", "nit", "this", "here", "use", "add", "the"}
MIN_COMMENTS = 2


def review_comment(text: str) -> str | None:
    """The comment's own words when a message is a review comment, else None.

    A review comment names the PR it is about, or is one short remark with a reviewing cue
    ("please use", "avoid", "add a test for"…); multi-line notes are no review comments.
    """
    if len(text.split()) > 80:
        return None
    body = _REVIEW_PREFIX.sub("", text, count=1)
    if body != text:
        return body.strip() or None
    if len(text.strip().splitlines()) == 1 and len(text.split()) <= 40 and _CUES.search(text):
        return text.strip()
    return None


def _bare(term: str) -> str:
    return term.strip("`").removeprefix("the ").strip().rstrip(".,;:!?")


def _term_pattern(term: str) -> str:
    bare = _bare(term)
    if bare.endswith("()"):
        return rf"\b{re.escape(bare[:-2])}\s*\("
    return rf"\b{re.escape(bare)}\b"


@dataclass(slots=True)
class _Comment:
    material: Material
    body: str
    key: str
    avoid: str = ""
    prefer: str = ""
    scope: str = ""


def _analyse(m: Material, body: str) -> _Comment:
    match = _WITHOUT.search(body)
    if match:
        subject, required = _bare(match["subject"]).lower(), _bare(match["required"]).lower()
        return _Comment(m, body, f"require:{subject}:{required}", scope=required, prefer=subject)
    for pattern in (_PREFER_AVOID, _AVOID_THEN_PREFER):
        match = pattern.search(body)
        if match:
            avoid = _bare(match.group("avoid")).lower()
            prefer = _bare(match.group("prefer") or "")
            return _Comment(
                m,
                body,
                f"avoid:{avoid.removesuffix('()')}",
                avoid,
                prefer,
                match.group("scope") or "",
            )
    match = _AVOID.search(body)
    if match:
        avoid = _bare(match.group("avoid")).lower()
        return _Comment(m, body, f"avoid:{avoid.removesuffix('()')}", avoid)
    match = _TEST.search(body)
    if match:
        what = " ".join(sorted(stems(" ".join(match.group("what").split()[:2]))))
        return _Comment(m, body, f"test:{what}")
    return _Comment(m, body, "words:" + " ".join(sorted(stems(body) - _GENERIC)))


def _patterns(comments: list[_Comment]) -> list[dict]:
    found: dict[str, dict] = {}
    for c in comments:
        if c.avoid:
            found[_term_pattern(c.avoid)] = {"regex": _term_pattern(c.avoid), "what": c.avoid}
            if c.avoid == "float" and (_MONEY.search(c.body) or _MONEY.search(c.scope)):
                found[_MONEY_FLOAT] = {"regex": _MONEY_FLOAT, "what": "a money amount as float"}
        if c.key.startswith("require:"):
            subject = c.prefer.removesuffix("()")
            regex = rf"\b{re.escape(subject)}\b(\.\w+)?\s*\("
            found[regex] = {
                "regex": regex,
                "unless_line": rf"\b{re.escape(c.scope)}\b",
                "what": f"{subject} without {c.scope}",
            }
        if c.key.startswith("test:") and "error" in c.key:
            found["error-path"] = {
                "regex": r"^\s*(raise\b|except\b)",
                "unless": r"\bdef test_|pytest\.raises|assertRaises",
                "what": "an error path with no test in the snippet",
            }
        for code in _BACKTICK.findall(c.body):
            found.setdefault(re.escape(code), {"regex": re.escape(code), "what": code})
    return list(found.values())


class CodeReview:
    name = "code-review"
    description = (
        "Reviews a code snippet against the team's own standards, mined from recurring review "
        "comments, quoting the offending line and the team's wording. Use when someone pastes "
        "code and asks for a review."
    )
    input = "text"

    def learn(self, materials: Sequence[Material]) -> Learned | None:
        comments = []
        for m in materials:
            body = review_comment(m.text)
            if body:
                comments.append(_analyse(m, body))
        groups: list[list[_Comment]] = []
        for c in comments:
            home = None
            for g in groups:
                if g[0].key == c.key or (
                    c.key.startswith("words:")
                    and g[0].key.startswith("words:")
                    and jaccard(g[0].key[6:].split(), c.key[6:].split()) >= 0.4
                ):
                    home = g
                    break
            if home is None:
                groups.append([c])
            else:
                home.append(c)
        rules: list[dict[str, Any]] = []
        provenance: dict[str, list[str]] = {}
        used: Counter[str] = Counter()
        for group in sorted(groups, key=len, reverse=True):
            if len({c.material.id for c in group}) < MIN_COMMENTS:
                continue
            wording = Counter(c.body for c in group).most_common()
            rule_id = f"r{len(rules) + 1}"
            rules.append(
                {
                    "id": rule_id,
                    "text": wording[0][0],
                    "quotes": [
                        {"author": c.material.author, "text": c.body, "source": c.material.id}
                        for c in group
                    ],
                    "avoid": group[0].avoid,
                    "prefer": group[0].prefer,
                    "patterns": _patterns(group),
                    "comments": len(group),
                    "authors": sorted({c.material.author for c in group}),
                }
            )
            provenance[rule_id] = [c.material.id for c in group]
            used.update(c.material.author for c in group)
        if not rules:
            return None
        template = {"rules": rules, "comments_seen": len(comments)}
        inputs = sorted({i for ids in provenance.values() for i in ids})
        return Learned(template, {"rules": provenance, "inputs": inputs}, dict(used))

    def run(self, template: dict, request: RunRequest) -> RunResult:
        code = strip_fences(request.input_text)
        rules = visible_rules(template, request.live)
        if not code.strip():
            return RunResult(
                "Paste the code after the command, e.g. `/skill code-review` followed by the "
                "snippet on the next lines.",
                ok=False,
            )
        if not rules:
            return RunResult(
                "This skill knows no rules from people who still take part. Run "
                "`/skill learn code-review` once review comments were posted in observed channels.",
                ok=False,
            )
        findings = []
        unchecked = []
        lines = code.splitlines()
        for rule in rules:
            hits: list[tuple[int, str]] = []
            for pattern in rule.get("patterns", []):
                if pattern.get("unless") and re.search(pattern["unless"], code, re.M):
                    continue
                regex = re.compile(pattern["regex"], re.I if pattern["regex"].islower() else 0)
                for number, line in enumerate(lines, 1):
                    if line.strip().startswith("#"):
                        continue
                    unless = pattern.get("unless_line")
                    if unless and re.search(unless, line):
                        continue
                    if regex.search(line) and (number, line) not in hits:
                        hits.append((number, line))
            if hits:
                findings.append((rule, sorted(hits)))
            elif not rule.get("patterns"):
                unchecked.append(rule)
        if not findings:
            text = f"No team rule is broken by this snippet ({len(rules)} rule(s) checked)."
        else:
            out = [f"*Code review* — {len(findings)} team rule(s) broken:"]
            for n, (rule, hits) in enumerate(findings, 1):
                out.append(
                    f"{n}. “{quote(rule, request.live)}” (from {rule['comments']} review comments)"
                )
                out.extend(f"    line {number}: `{line.strip()}`" for number, line in hits[:5])
            text = "\n".join(out)
        if unchecked:
            text += "\nAlso remember: " + "; ".join(
                f"“{quote(r, request.live)}”" for r in unchecked
            )
        return RunResult(
            text,
            data={
                "broken": [r["id"] for r, _ in findings],
                "lines": {r["id"]: [n for n, _ in hits] for r, hits in findings},
            },
        )

    def summary(self, template: dict) -> list[str]:
        lines = []
        for rule in template.get("rules", []):
            applies = ", ".join(p["what"] for p in rule.get("patterns", [])) or "no code pattern"
            lines.append(
                f"rule {rule['id']}: “{rule['text']}” — {rule['comments']} comments; "
                f"applies to: {applies}"
            )
        return lines


def visible_rules(template: dict, live: set[str]) -> list[dict]:
    return [
        r for r in template.get("rules", []) if not r.get("authors") or set(r["authors"]) & live
    ]


def quote(rule: dict, live: set[str]) -> str:
    """The team's own wording, from someone whose grant is still in force."""
    for q in rule.get("quotes", []):
        if q["author"] in live and q["text"] == rule["text"]:
            return q["text"]
    for q in rule.get("quotes", []):
        if q["author"] in live:
            return q["text"]
    return rule["text"] if not rule.get("authors") else ""


def strip_fences(text: str) -> str:
    lines = [line for line in text.splitlines() if not line.strip().startswith("```")]
    return "\n".join(lines)
