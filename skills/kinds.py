"""The skill kinds Apprentice knows, by name."""

from __future__ import annotations

from skills.code_review import CodeReview
from skills.generic import TaughtTemplate
from skills.kind import SkillKind
from skills.meeting_memo import MeetingMemo
from skills.weekly_report import WeeklyReport

BUILTIN: dict[str, SkillKind] = {k.name: k for k in (WeeklyReport(), CodeReview(), MeetingMemo())}
TAUGHT = TaughtTemplate()
KINDS: dict[str, SkillKind] = {**BUILTIN, TAUGHT.name: TAUGHT}


def kind_for(name: str) -> SkillKind:
    """The kind a skill of this kind name runs with (unknown kinds run as a taught template)."""
    return KINDS.get(name, TAUGHT)
