"""`code-review`: learn the team's standards from recurring review comments; check a snippet.

A review comment is recognized by what it is — a short remark that names code (see
skills/code_terms.py) or a property of code a linter knows. Comments that say the same thing
in other words, by other people, in English or Chinese, are one standard: they name the same
code or property, or share most of their words. What a standard applies to comes from the
comments: the code they speak against ("not float", "别再用 select *", "又见 !! 了"), the code
that must come with a call ("requests.get without a timeout"), or a known property (type
hints, hard-coded secrets). A snippet is checked line by line, quoting the line and the team's
own words.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from skills.code_check import check
from skills.code_terms import (
    REVIEW_VOCABULARY,
    anchors,
    call_pattern,
    checks_described,
    checks_shown,
    language_named,
    language_of,
    normalize,
    pattern_for,
)
from skills.kind import Learned, RunRequest, RunResult
from skills.material import Material
from skills.tokens import cjk_share, cosine, features

MIN_COMMENTS = 2
# Words that name what code should have; said with "no" they ask for it.
_WANTED = frozenset({"timeout", "retry", "logger", "logging", "deadline", "ttl", "test", "tests"})
_CODE_TOKEN = re.compile(r"[A-Za-z_]\w*|\S")
MERGE_AT = 0.4  # average similarity at which two groups of comments are one standard
_REF_PREFIX = re.compile(
    r"^\s*(?:(?:code\s+)?review(?:ed)?\s*(?:on|of|for)?\s*|re:?\s*|on\s+|看了下\s*|评审\s*)?"
    r"(?:PR|MR|pr|mr)?\s*[#!]?\s*\d+\s*(?:'s\s+PR|的\s*PR|\s*feedback|\s*review|"
    r"\s*评审)?(?:\s*[:：,，—–-]+\s*|\s+(?=\S))",
    re.I,
)
_NEG_BEFORE = re.compile(
    r"(\b(no|not|never|don'?t|do not|avoid|stop|without|instead of|rather than|remove|drop|ban|"
    r"get rid of|no more|again|another|yet another|please no)\b|不要|别|不能|禁止|避免|不用|"
    r"去掉|干掉|"
    r"删掉|少用|又|再也|不许|不准|不应该)[^.;。；，,]{0,24}$",
    re.I,
)
_NEG_AFTER = re.compile(
    r"^[^.;。；，,]{0,24}?(\b(again|is banned|not allowed|is forbidden|hides?|swallows?|"
    r"breaks?|leaks?|"
    r"is (?:a )?bug|crash(?:es)?)\b|又出现|又来了|不行|禁止|不要|有风险|风险|会\s*crash|"
    r"不允许|不能用|去掉|删掉|干掉|改掉|没删|太宽|\s*[—–-]+\s*(?:please )?don'?t\b)",
    re.I,
)
_POS_BEFORE = re.compile(
    r"(\b(use|prefer|should be|must be|as|switch to|go with|replace \w+ with|keep (?:it|them|\w+ "
    r"values?)? ?as|stick to|always|let it|and then|and|then|re-)\b|用|改成|换成|改用|使用|统一用|"
    r"应该用)\s*(?:a |an |the )?$",
    re.I,
)
_POS_AFTER = re.compile(r"^\s*(?:please|pls|plz|instead|is the way|吧|才对)\b", re.I)
_REQUIRE = re.compile(
    r"\b(?:without|with no|has no|have no|missing|lacks?|forgot|always (?:pass|set|add|use)|"
    r"needs?(?: an?)?|must have|add)\s+(?:a |an |the )?(?:`(?P<code>[^`]{2,40})`|"
    r"(?P<en>[A-Za-z_][\w.=]*))"
    r"|(?:加上|带上|要带|必须带|没有加|没加|不带|缺少?|漏了|没有|"
    r"忘了)\s*(?:`(?P<zcode>[^`]{2,40})`|"
    r"(?P<zh>[A-Za-z_][\w.=]*))",
    re.I,
)
_REVIEW_WORDS = re.compile(
    r"\b(?:code review|reviewed|nit)\b|代码评审|评审意见|(?:PR|MR)\s*#?\d+", re.I
)
_ASKS = re.compile(
    r"\b(please|pls|plz|should|must|need(?:s)? to|don'?t|do not|avoid|never|instead|again|"
    r"forgot|missing|without)\b|请|别|不要|应该|必须|改成|改掉|忘了|又|没有|拜托|不能|"
    r"一定要|要带|得带|"
    r"记得|包一下|加上",
    re.I,
)
_LOOP = re.compile(
    r"\b(?:in(?:side)? (?:the |a |every |each )?(?:\w+ )?loop|per[- ]step|every (?:step|iteration)|"
    r"each (?:step|iteration))\b|循环里|循环内|loop\s*里|每一?步|每次迭代",
    re.I,
)
_FILE = re.compile(r"\.(?:sh|bash|py|go|tf|java|kt|swift|ts|tsx|js|jsx|sql|ya?ml)$")
_LABELLED = re.compile(r"^\s*(?:[-*•]\s*)?[^:：`]{1,24}[:：]\s*\S")


@dataclass(slots=True)
class _Comment:
    material: Material
    body: str
    anchors: list[str]
    checks: list[str]
    features: Counter[str] = field(default_factory=Counter)


def review_comment(m: Material, after_code: bool = False) -> _Comment | None:
    """The message read as a review comment, or None when it is none. `after_code`: it
    answers code someone else just posted (in its thread, or soon after in the channel)."""
    text = m.text.strip()
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or len(lines) > 6 or len(text) > 600:
        return None
    if len(lines) >= 3 and sum(1 for line in lines if _LABELLED.match(line)) >= 2:
        return None  # notes or a report, not a remark about code
    body = _REF_PREFIX.sub("", text, count=1).strip() or text
    in_review = after_code or body != text or bool(_REVIEW_WORDS.search(text))
    named = anchors(body, in_review=in_review)
    quoted = re.findall(r"`([^`\n]+)`", body)
    checks = sorted({c.name for c in checks_described(body) + checks_shown(quoted)})
    if not named and not checks and not (in_review and len(features(body)) >= 3):
        return None
    quotes_code = "`" in body and not re.search(r"[?？]\s*\S{0,20}$", body)
    asks = _ASKS.search(body) or any(_polarity(body, a) for a in named)
    if not (in_review or checks or quotes_code or asks):
        return None  # it names code but asks nothing of it: news, not a review
    return _Comment(m, body, named, checks, features(body))


REPLY_WINDOW = timedelta(hours=3)


def _is_code_post(m: Material) -> bool:
    text = m.text
    return "```" in text or (text.count("\n") >= 2 and bool(language_of(text)))


def _after_code(materials: Sequence[Material]) -> set[str]:
    """Ids of messages that answer code another person posted: in the code's thread, or in
    its channel within a few hours and before the next code post there."""
    found: set[str] = set()
    last: dict[str, Material] = {}
    threads: dict[str, str] = {}
    for m in sorted(materials, key=lambda m: m.occurred_at):
        if _is_code_post(m):
            last[m.channel] = m
            if m.thread_id:
                threads[m.thread_id] = m.author
            continue
        code = last.get(m.channel)
        in_thread = m.thread_id is not None and threads.get(m.thread_id, m.author) != m.author
        soon = (
            code is not None
            and code.author != m.author
            and m.occurred_at - code.occurred_at <= REPLY_WINDOW
        )
        if in_thread or soon:
            found.add(m.id)
    return found


def _polarity(body: str, anchor: str) -> int:
    """+1 when the comment asks for this code, -1 when it speaks against it, 0 when neither."""
    plain = body.replace("`", "")
    index = plain.lower().find(anchor)
    if index < 0:
        return 0
    before, after = plain[:index], plain[index + len(anchor) :]
    if _NEG_BEFORE.search(before) or _NEG_AFTER.search(after):
        return -1
    if _POS_BEFORE.search(before) or _POS_AFTER.search(after):
        return 1
    return 0


def _similarity(a: _Comment, b: _Comment, weight: dict[str, float]) -> float:
    """How surely two comments state one standard (0..1)."""
    if set(a.checks) & set(b.checks):
        return 1.0
    shared = set(a.anchors) & set(b.anchors)
    smaller = min(sum(weight[x] for x in set(a.anchors)), sum(weight[x] for x in set(b.anchors)))
    by_code = sum(weight[x] for x in shared) / smaller if smaller else 0.0
    if _common_start(a.body, b.body) >= 3:
        by_code = 1.0  # both quote code that starts the same: `catch (Exception e)`
    return max(min(1.0, 1.5 * by_code), cosine(a.features, b.features))


def _common_start(a: str, b: str) -> int:
    """The most code tokens a quoted fragment of `a` and one of `b` start with alike."""
    best = 0
    for fa in re.findall(r"`([^`\n]+)`", a):
        ta = _CODE_TOKEN.findall(fa.lower())
        for fb in re.findall(r"`([^`\n]+)`", b):
            tb = _CODE_TOKEN.findall(fb.lower())
            n = 0
            while n < min(len(ta), len(tb)) and ta[n] == tb[n]:
                n += 1
            if len("".join(ta[:n])) >= 6:
                best = max(best, n)
    return best


def _cluster(comments: list[_Comment]) -> list[list[_Comment]]:
    """Comments that state one standard: a shared check, shared code (code most comments name
    counts little), or mostly shared words. Groups merge on their average similarity, so one
    comment naming two things does not chain two standards into one."""
    df = Counter(a for c in comments for a in set(c.anchors))
    weight = {a: math.log((1 + len(comments)) / n) for a, n in df.items()}
    sim = [[_similarity(a, b, weight) for b in comments] for a in comments]
    groups = [[i] for i in range(len(comments))]
    while True:
        best, pair = MERGE_AT, None
        for x in range(len(groups)):
            for y in range(x + 1, len(groups)):
                mean = sum(sim[i][j] for i in groups[x] for j in groups[y]) / (
                    len(groups[x]) * len(groups[y])
                )
                if mean >= best:
                    best, pair = mean, (x, y)
        if pair is None:
            return [[comments[i] for i in g] for g in groups]
        x, y = pair
        groups[x] += groups.pop(y)


def _rule_patterns(group: list[_Comment]) -> list[dict[str, Any]]:
    votes: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for c in group:
        for a in c.anchors:
            seen[a] += 1
            votes[a] += _polarity(c.body, a)
    patterns: list[dict[str, str]] = []
    required = Counter(
        (m["code"] or m["zcode"] or m["en"] or m["zh"]).lower().strip()
        for c in group
        for m in _REQUIRE.finditer(c.body)
    )
    need, times = required.most_common(1)[0] if required else ("", 0)
    if times * 2 < len(group):
        need = ""  # one comment asking for something is no standard yet
    shared = _shared_fragment(group)
    if not need and shared and sum(_polarity(c.body, shared) for c in group) > 0:
        need = shared  # the code they all quote is what they ask for: "`set -e` please"
    if need and not re.fullmatch(r"[\w.=]+", need):
        # "no `set -euo pipefail` at the top", "没有 `model.eval()`": the snippet must hold it,
        # when it is code of the kind the comments discuss.
        quoted = " ".join(f for c in group for f in re.findall(r"`([^`\n]+)`", c.body))
        language = next((x for x in (language_named(c.body) for c in group) if x), "")
        language = language or language_of(quoted)
        if language:
            about = [
                a
                for a in seen
                if a != need and a not in _WANTED and len(a) >= 4 and not _FILE.search(a)
            ]
            if " " in need:
                about = []  # a statement every script carries (`set -euo pipefail`), not a call
            return [
                {
                    "require_snippet": need,
                    "language": language,
                    "about": about,
                    "what": f"{need} missing",
                }
            ]
        need = ""
    common = [a for a, n in seen.most_common() if n * 2 > len(group) or len(seen) == 1]
    # "requests.get without a timeout": the call is fine, what it lacks is the rule.
    against = [] if need else [a for a in seen if votes[a] < 0]
    if not against and not need:
        # Comments that only name code name what is wrong with it (`Double`), not what they
        # ask for (BigDecimal); with more than two such names it is unclear which.
        in_quotes = {normalize(f) for c in group for f in re.findall(r"`([^`\n]+)`", c.body)}
        named = [  # a plain word nobody speaks against ("pass") names no code to flag
            a
            for a in common
            if votes[a] < 0 or (votes[a] == 0 and (a in in_quotes or not a.isalpha()))
        ]
        against = named if len(named) <= 2 else []
    if shared and not need:
        # The quoted code the comments share says it most precisely; besides it only what a
        # comment speaks against (`e.printStackTrace()` 和 `System.out.println` 都去掉).
        against = [shared] + [a for a in against if votes[a] < 0 and a not in shared]
    checked = [
        n for n, k in Counter(x for c in group for x in c.checks).items() if k * 2 >= len(group)
    ]
    if checked:
        against = [a for a in against if votes[a] < 0]  # the check says what the names meant
    if "money-as-float" in checked:  # `float` is wrong for money only, which the check finds
        against = [a for a in against if a not in ("float", "double", "real", "number")]
    against = [a for a in against if a not in REVIEW_VOCABULARY or seen[a] * 2 > len(group)]
    # A bare word found only inside quoted code (`except Exception:` → except) helps group
    # comments but is no rule of its own unless someone says it.
    said = " ".join(re.sub(r"`[^`]*`", " ", c.body) for c in group).lower()
    against = [
        a for a in against if not re.fullmatch(r"\w+", a) or re.search(rf"\b{re.escape(a)}\b", said)
    ]
    # A word of code most comments say as part of more ("select" of `SELECT *`) is no rule alone.
    longer = [b for b in seen if seen[b] * 2 > len(group) and " " in b] + (
        [shared] if shared else []
    )
    against = [
        a for a in against if not any(a != b and a in re.split(r"[\s().,:{}]+", b) for b in longer)
    ]
    in_loop = any(_LOOP.search(c.body) for c in group) and sum(
        bool(_LOOP.search(c.body)) for c in group
    ) * 2 >= len(group)
    for a in against:
        if a in _WANTED:
            continue  # "no timeout" asks for a timeout; it is no code to flag
        regex = _token_pattern(a) if a == shared else pattern_for(a)
        if regex and not any(p["what"] in a for p in patterns if p["what"] != a):
            found: dict[str, Any] = {"regex": regex, "what": a}
            if in_loop:  # "no .item() inside the training loop": only there
                found.update(in_loop=True, what=f"{a} inside a loop")
            patterns.append(found)
    if need:
        for a in common:
            regex = call_pattern(a)
            if a != need and regex:
                patterns.append(
                    {
                        "regex": regex,
                        "unless_line": rf"(?i)\b{re.escape(need)}",
                        "what": f"{a} without {need}",
                    }
                )
        if not patterns:
            # "大表查询必须带 dt": no call names what must carry it, so the snippet must.
            quoted = " ".join(f for c in group for f in re.findall(r"`([^`\n]+)`", c.body))
            language = next((x for x in (language_named(c.body) for c in group) if x), "")
            language = language or language_of(quoted)
            if language:
                patterns.append(
                    {"require_snippet": need, "language": language, "what": f"{need} missing"}
                )
    checks = Counter(name for c in group for name in c.checks)
    for name, n in checks.items():
        if n * 2 >= len(group):
            patterns.append({"check": name, "what": name.replace("-", " ")})
    return patterns


def _shared_fragment(group: list[_Comment]) -> str:
    """The start of the quoted code most comments share: `catch (Exception e)` and
    `catch (Exception ex)` share `catch (exception`."""
    quoted = [
        _CODE_TOKEN.findall(f.lower()) for c in group for f in re.findall(r"`([^`\n]+)`", c.body)
    ]
    if len(quoted) < 2:
        return ""
    best: tuple[int, int, list[str]] = (0, 0, [])
    for tokens in quoted:
        for end in range(len(tokens), 1, -1):
            prefix = tokens[:end]
            holders = sum(1 for t in quoted if t[:end] == prefix)
            if holders >= 2 and holders * 2 >= len(group):
                best = max(best, (holders, len("".join(prefix)), prefix))
    if best[1] < 6 or len(best[2]) < 3:
        return ""
    return normalize(" ".join(best[2]))  # "select * from t" is `select *` wherever it is


def _token_pattern(tokens: str) -> str:
    """`catch ( exception` → a regex that allows any spacing between the tokens."""
    parts = [re.escape(t) for t in tokens.split()]
    start = r"(?<![\w])" if tokens[:1].isalnum() or tokens[:1] == "_" else ""
    return "(?i)" + start + r"\s*".join(parts)


def _central(group: list[_Comment]) -> _Comment:
    return max(group, key=lambda c: sum(cosine(c.features, o.features) for o in group))


class CodeReview:
    name = "code-review"
    description = (
        "Reviews a code snippet against the team's own standards, mined from recurring review "
        "comments, quoting the offending line and the team's wording. Use when someone pastes "
        "code and asks for a review."
    )
    input = "text"

    def learn(self, materials: Sequence[Material]) -> Learned | None:
        context = _after_code(materials)
        comments = [
            c for c in (review_comment(m, m.id in context) for m in materials) if c is not None
        ]
        rules: list[dict[str, Any]] = []
        provenance: dict[str, list[str]] = {}
        used: Counter[str] = Counter()
        groups = sorted(_cluster(comments), key=lambda g: (-len(g), g[0].material.occurred_at))
        for group in groups:
            if len({c.material.id for c in group}) < MIN_COMMENTS:
                continue
            rule_id = f"r{len(rules) + 1}"
            center = _central(group)
            rules.append(
                {
                    "id": rule_id,
                    "text": center.body,
                    "quotes": [
                        {"author": c.material.author, "text": c.body, "source": c.material.id}
                        for c in group
                    ],
                    "patterns": _rule_patterns(group),
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
        findings, unchecked = check(code, rules)
        zh = cjk_share(" ".join(r["text"] for r in rules)) > 0.3
        checked = len(rules) - len(unchecked)
        if not findings:
            text = (
                f"没有违反团队的规则（检查了 {checked} 条）。"
                if zh
                else f"No team rule is broken by this snippet ({checked} rule(s) checked)."
            )
        else:
            out = [
                f"*代码评审* — 违反了 {len(findings)} 条团队规则："
                if zh
                else f"*Code review* — {len(findings)} team rule(s) broken:"
            ]
            for n, (rule, hits) in enumerate(findings, 1):
                out.append(
                    f"{n}. [{rule['id']}] “{quote(rule, request.live)}” "
                    + (
                        f"（来自 {rule['comments']} 条评审意见）"
                        if zh
                        else f"(from {rule['comments']} review comments)"
                    )
                )
                out.extend(f"    line {number}: `{line.strip()}`" for number, line in hits[:5])
            text = "\n".join(out)
        if unchecked:
            text += (
                "\n另外请注意：" if zh else "\nAlso remember (no code pattern to check): "
            ) + "; ".join(f"({r['id']}) “{quote(r, request.live)}”" for r in unchecked)
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
