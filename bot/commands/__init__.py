"""Chat commands: each module is a Router; `build_router` composes them explicitly."""

from __future__ import annotations

from bot.commands import admin, consent, help, rights, skills
from bot.router import Router


def build_router() -> Router:
    root = Router("skill")
    root.include(help.router)
    root.include(consent.router)
    root.include(rights.router)
    root.include(skills.router)
    root.include(admin.router, under="admin")
    return root
