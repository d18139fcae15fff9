"""What the skills engine answers: text, and whether it holds the requester's own data."""

from __future__ import annotations

from dataclasses import dataclass

from bot.storage.models import SkillVersion


@dataclass(slots=True)
class Reply:
    text: str
    ok: bool = True
    personal: bool = False  # holds the requester's own data: send it to their DM
    version: SkillVersion | None = None
    data: dict | None = None
