"""How people write decisions, actions, owners, questions and answers in meeting notes,
in English and Chinese: the vocabulary skills/memo_parse.py reads notes with."""

from __future__ import annotations

import re

from skills.template import key

DECISION, ACTION, QUESTION, ANSWER, REOPEN, FIELD, NOTE = (
    "decision",
    "action",
    "question",
    "answer",
    "reopen",
    "field",
    "note",
)
LABEL_KINDS: dict[str, tuple[str, ...]] = {
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
KIND_OF_LABEL = {key(label): kind for kind, labels in LABEL_KINDS.items() for label in labels}
LABEL_RE = re.compile(r"^(?P<label>@?[^:：]{1,24}?)\s*[:：]\s*(?P<rest>.*)$")
QUESTION_RE = re.compile(
    r"[?？]\s*\W*$|^(?:要不要|是否|能不能|会不会)|(?:吗|么|呢)[？?]?\s*$|"
    r"^(?:whether|should we|do we|are we|can we|how do we|who will|what about)\b",
    re.I,
)
REOPEN_RE = re.compile(
    r"\b(re-?open(?:ed|ing|s)?|revisit(?:ed|ing|s)?|reconsider(?:ed|ing|s)?|re-?discuss(?:ed|ing)?|"
    r"back to square one|undo (?:the )?decision|walk(?:ed|ing)? back|no longer agreed|"
    r"re-?litigat\w+|questioned again|brought up again|raised again)\b|又被拿出来|重新讨论|推翻|"
    r"再议|又提出|重新评估|又讨论|翻案|重新考虑|又提了|又吵|又拿出来|再次讨论|重新提",
    re.I,
)
# A line that asks rather than tells.
ASKING_RE = re.compile(
    r"^\W*(?:who|what|when|where|why|how|is|are|do|does|can|should|will|谁|什么|怎么|要不要|"
    r"是否)\b",
    re.I,
)
# A reply that defers or leaves it open answers nothing.
UNSETTLED_RE = re.compile(
    r"\b(didn'?t settle|not settled|no decision|undecided|no conclusion|no answer|nobody knew|"
    r"no one knew|unclear|tbd|next time|take (?:it|this) offline|parked|revisit later|later)\b|"
    r"没结论|没有结论|待定|未定|不清楚|没人知道|下次再|回头再|再说|以后再|暂不讨论|没定|"
    r"没讨论|先不定|先放着|先放一放|没人能回答|没人回答|没答上来|待确认|\bpark(?:ed|"
    r"ing)? (?:it|this)\b|"
    r"\bno one could answer\b|\bnobody could answer\b|\bstill unclear\b|\bnot sure (?:yet|"
    r"if|whether)\b|"
    r"\bunsure\b|还不确定|不确定|没人拍板|没拍板",
    re.I,
)
# Said of a matter, these leave it open.
OPEN_MATTER_RE = re.compile(
    r"\b(still debating|going back and forth|no consensus|undecided|not decided|no decision|"
    r"didn'?t settle|not settled|no conclusion|disagree(?:d|ment)?)\b|还在讨论|有分歧|"
    r"意见不一致?|没结论|"
    r"没有结论|没定下来|没达成一致",
    re.I,
)
SETTLED_RE = re.compile(
    r"\b(settled|resolved|decided|final|still keep|we keep)\b|定了|已定|敲定|达成一致|"
    r"还是维持|维持",
    re.I,
)
# Markers teams put before a line: ✅ decided, 👉 action, ❓ open.
MARKER_KINDS = (("✅", "decision"), ("☑", "decision"), ("👉", "action"), ("➡", "action"),
                ("❓", "question"), ("❔", "question"))  # fmt: skip
TABLE_OWNER = re.compile(r"负责人|owner|who|谁|assignee", re.I)
TABLE_DUE = re.compile(r"截止|due|deadline|date|日期|时间", re.I)
ARROW_RE = re.compile(r"[?？]\s*(?:→|->|=>|A\s*[:：]|答\s*[:：])\s*(?P<answer>\S.*)$")
DECIDED_RE = re.compile(
    r"\b(we )?(decided|agreed|settled on|go(?:ing)? with|let'?s go with|chose|will use|final call|"
    r"approved|signed off|greenlit|rejected|we keep|we stop)\b|决定|定了|就这么定|拍板|同意|"
    r"确定了|结论是|"
    r"通过|否决|不做|维持|就这么办|^\s*(?:行|好|ok|okay)[，,.]\s*\S",
    re.I,
)
UNOWNED_RE = re.compile(
    r"\b(someone|somebody|anyone|tbd|no owner|unassigned|nobody|who owns|who will|who(?:'s| is) "
    r"(?:on|taking|doing|owning))\b|需要有人|没人接|没有人|还没人|谁负责|谁来|待认领|无人|"
    r"没人跟|暂无负责人|找个人|找人|得有人|需要人|没人认领|\bowner\s*[:：]?\s*(?:\?|tbd)",
    re.I,
)
DUE_RE = re.compile(
    r"\s*(?:\b(?:by|due|before|until|on)\s+(?P<due>(?:next\s+)?(?:mon|tue|wed|thu|fri|sat|sun)\w*|"
    r"\d{4}-\d{2}-\d{2}|tomorrow|today|end of (?:day|week|month|sprint)|eod|eow|next week|"
    r"\d{1,2}/\d{1,2})\b|(?P<zh>(?:下?周[一二三四五六日天]|明天|今天|月底|下周|"
    r"本周)(?:之?前|内)?))",
    re.I,
)
OWNER_TAG_RE = re.compile(
    r"[(（]\s*(?:owner|who|负责人?)\s*[:：=]?\s*@?(?P<o>[\w.-]+)\s*[)）]|(?:负责人|"
    r"owner)\s*[:：]\s*@?(?P<o2>[\w.-]+)",
    re.I,
)
# "I'm worried that …", "my concern is …", "担心…": a risk raised; open until something answers it.
CONCERN_RE = re.compile(
    r"\b(?:worried|worries|concerned|my (?:worry|concern)|the (?:worry|concern) is|"
    r"afraid (?:that|of)|nervous about)\b|担心|担忧|顾虑|我怕|就怕",
    re.I,
)
# "it's a go for Monday", "no-go until …": what a go/no-go meeting decides.
GO_RE = re.compile(r"\b(?:it'?s|we'?re|we are) a (?:go|no-go)\b|\b(?:a )?no-go\b", re.I)
CHECKBOX_RE = re.compile(r"^\[(?P<done>[ xX✓✔])\]\s*")
ASSIGN_RE = re.compile(
    r"^@?(?P<o>[A-Za-z][\w.-]{1,30}|[\u4e00-\u9fff]{2,3})\s*(?:to|will|owns|takes|:|：|负责|"
    r"来|跟进|"
    r"牵头)\s*(?P<task>.+)$",
    re.I,
)
TRAILING_OWNER_RE = re.compile(r"(?:[-—–]\s*|[(（]\s*)@?(?P<o>[\w.-]+)\s*[)）]?\s*$")
ASKS_LABEL_RE = re.compile(r"^@?(?P<who>[\w.-]+)\s*(?:问|asks?|asked|提问)$", re.I)
SELF_RE = re.compile(
    r"\b(?:i'?ll|i will|i can take|i'm going to|i'm on it|let me)\b|我来|我负责|我跟进|我去|我顺便|"
    r"我把|"
    r"我(?:这周|今天|明天|下周|周[一二三四五六日])",
    re.I,
)
MENTION_RE = re.compile(r"@(?P<o>[\w.-]+)")
VERBS = frozenset(
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

OWNED_LABEL_RE = re.compile(
    r"^(?P<kind>[A-Za-z]+|[\u4e00-\u9fff]{2,3})\s*(?:[(（]\s*@?(?P<o1>[\w.-]+)\s*[)）]|"
    r"\s+@?(?P<o2>[\w.-]+))$"
)

KIND_WORDS = (
    (re.compile(r"推翻|翻案|重新讨论|再议|reopen|revisit|re-?discuss", re.I), REOPEN),
    (re.compile(r"还没定|未定|待定|没定|open question|unresolved", re.I), QUESTION),
    (re.compile(r"决定|决议|结论|decided|decision|agreed", re.I), DECISION),
    (re.compile(r"待办|行动|跟进|action|todo|follow", re.I), ACTION),
    (re.compile(r"问题|疑问|question", re.I), QUESTION),
)

CHOICE_RE = re.compile(
    r"要不要|是否|还是|\b(?:should we|do we|shall we|are we (?:going to|keeping|dropping)|"
    r"keep or)\b",
    re.I,
)

# An opinion is no decision: "我觉得要，但…", "I think so, but…".
HEDGE_RE = re.compile(
    r"\b(?:i think|i guess|maybe|might|perhaps|not sure|but)\b|我觉得|可能|但是?|不确定|感觉", re.I
)
