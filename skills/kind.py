"""What every skill kind provides: a learner, an executor and a summary of its artifact."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from skills.material import Material


@dataclass(slots=True)
class Learned:
    """A learner's result: the artifact's kind-specific part, provenance and contributors."""

    template: dict
    provenance: dict  # {"sections"|"rules"|"types": {label: [observation ids]}, "inputs": [...]}
    contributors: dict[str, int]  # user id -> how many of their observations it used


@dataclass(slots=True)
class RunRequest:
    requester: str
    live: set[str]  # people whose grant is in force now: only their teaching shows
    now: datetime
    input_text: str = ""  # pasted code or notes
    materials: Sequence[Material] = ()  # the requester's own messages of the period, or a thread
    examples: Sequence[Material] = ()  # the team's consented posts the version learned from
    people: frozenset[str] = frozenset()  # user ids of the workspace (owners in notes)
    period: tuple[datetime, datetime] | None = None
    period_label: str = ""


@dataclass(slots=True)
class RunResult:
    text: str
    ok: bool = True  # False when there was too little material and nothing was invented
    data: dict = field(default_factory=dict)  # structured result (bench, model prompt)


class SkillKind(Protocol):
    name: str
    description: str
    input: str  # "week": the requester's own messages; "text": pasted input or a thread

    def learn(self, materials: Sequence[Material]) -> Learned | None: ...

    def run(self, template: dict, request: RunRequest) -> RunResult: ...

    def summary(self, template: dict) -> list[str]: ...


def contributors_of(materials: Sequence[Material], ids: set[str]) -> dict[str, int]:
    return dict(Counter(m.author for m in materials if m.id in ids))
