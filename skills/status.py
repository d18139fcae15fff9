"""How people say where a piece of work stands, in English and Chinese.

This is language, not any team's template: the team's own headings and items decide which
section each state goes to. A line's state is what its words say ("merged", "跑完了" → done;
"blocked on", "卡在" → blocked; "next week", "下周" → next; "still", "在做" → progress).
"""

from __future__ import annotations

import re

DONE, PROGRESS, BLOCKED, NEXT = "done", "progress", "blocked", "next"
STATES = (DONE, PROGRESS, BLOCKED, NEXT)

# Checked in this order: "still blocked" is blocked, "half done" is in progress,
# "tomorrow I'll finish" is next.
_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        BLOCKED,
        re.compile(
            r"\b(blocked|blocker|blocking|stuck|waiting (?:on|for)|wait(?:ing)? for|"
            r"can'?t (?:get|repro|reproduce|access|merge|deploy)|cannot|depends on|need(?:s|ed)? "
            r"(?:help|access|approval|review)|risks?|at risk|slipped|delayed|ran out|"
            r"hasn'?t (?:delivered|arrived|replied|answered|shipped)|can'?t \w+(?: \w+)? until|"
            r"until (?:they|the \w+|it) (?:reply|replies|send|sends|goes through|arrives))\b"
            r"|阻塞|卡在|卡住|卡着|被卡|还卡|等待|在等|等着|还在等|等.{0,8}(?:回复|审批|"
            r"审核|权限|运维)|风险|依赖|没权限|没有权限|没法|无法|没办法|延期|推迟了|还没到|没到货",
            re.I,
        ),
    ),
    (
        PROGRESS,
        re.compile(
            r"\b(half(?:way)? done|in progress|wip|working on|still (?!blocked|waiting)\w+|"
            r"continu(?:e|es|ing)|ongoing|currently|pairing|investigating|digging into|"
            r"started|starting (?:on|to|with|the)|in review|under review|in qa|\d+\s*(?:of|"
            r"/)\s*\d+ "
            r"\w+ (?:done|upgraded|migrated|moved|updated|fixed)|the rest (?:tomorrow|next|later)|"
            r"halfway)\b|进行中|正在|在做|还在|继续|一半|推进中|开发中|联调|排查中|跟进中|"
            r"(?<!下周)(?<!明天)开始(?:写|做|搞|弄|改|调|了)|已开始|进度|还没(?!人)|尚未|"
            r"还差|还剩|还有\s*\d+\s*[个条篇单张份]|\bnot yet\b|\b\d+ (?:left|to go|remaining)\b",
            re.I,
        ),
    ),
    (
        NEXT,
        re.compile(
            r"\b(next week|next up|next sprint|up next|next|tomorrow|will|i'?ll|going to|gonna|"
            r"plan(?:ning)? to|planned|upcoming|later this|to ?do)\b"
            r"|下周|明天|计划|准备|打算|接下来|之后|下一步|待做|后续",
            re.I,
        ),
    ),
    (
        DONE,
        re.compile(
            r"\b(done|merged|shipped|released|finished|completed?|fixed|landed|deployed|"
            r"launched|closed|resolved|delivered|wrapped up|rolled out|signed off|"
            r"published|submitted|migrated|upgraded|removed|added|wrote|built|sent|got|shared|"
            r"went out|is live|are live|now live|in place|is in|all green|passed|"
            r"green now)\b|通过了|跑通了"
            r"|完成|搞定|上线|合了|合并了|合入|修复了|修好|修了|发布了|跑完|交付|解决了|"
            r"已经|已\w|弄完|做完|写完|搞完",
            re.I,
        ),
    ),
)
_HEADING_STATES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        BLOCKED,
        re.compile(
            r"block|stuck|risk|help|issue|problem|impediment|concern|阻塞|风险|问题|困难|求助", re.I
        ),
    ),
    (NEXT, re.compile(r"next|plan|upcoming|todo|to do|later|下周|计划|下一步|待办", re.I)),
    (
        PROGRESS,
        re.compile(r"progress|doing|ongoing|wip|working|current|进行|在做|进展|推进", re.I),
    ),
    (
        DONE,
        re.compile(
            r"done|shipped|complete|finished|win|highlight|accomplish|achiev|last week|完成|已完成|"
            r"成果|亮点",
            re.I,
        ),
    ),
)


_PAST = re.compile(r"^\W*(?!need|block|seed|feed|speed|bleed|embed)[a-z]{3,}ed\b", re.I)
_ZH_DONE = re.compile(r"\S\s?了(?:[，。！!,.\s]|$)")
_GOING_ON = re.compile(
    r"^\W*(?!morning|evening|nothing|something|anything|everything|during|meeting)[a-z]{3,}ing\s+"
    r"(?:on|the|a|an|with|up|through|out|some|our|my|it)\b|\b[a-z]{3,}ing (?:it|them|this|"
    r"that) up\b",
    re.I,
)


def state_of(text: str) -> str | None:
    """The state a status line's own words give its work, or None when they say nothing."""
    for state, pattern in _CUES:
        if pattern.search(text):
            return state
    # "Automated the staging certs", "接口文档补了": a verb in the past says it is done.
    if _PAST.search(text) or _ZH_DONE.search(text):
        return DONE
    # "Writing test plans …", "… writing it up in PAY-424": a verb going on says in progress.
    if _GOING_ON.search(text):
        return PROGRESS
    return None


def heading_state(heading: str) -> str | None:
    """The state a section heading names ("Needs help" → blocked), when it names one."""
    for state, pattern in _HEADING_STATES:
        if pattern.search(heading):
            return state
    return None


def without_state_words(text: str) -> str:
    """The line with the words that only say where work stands taken out (what is left says
    what the work is: "coffee machine is fixed" → "coffee machine is")."""
    for _, pattern in _CUES:
        text = pattern.sub(" ", text)
    return _ZH_DONE.sub(" ", text)


def says_state(text: str) -> bool:
    return state_of(text) is not None
