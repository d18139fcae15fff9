"""Chat commands: each module is a Router; `build_router` composes them explicitly."""

from __future__ import annotations

from collections.abc import Sequence

from bot.commands import admin, admin_web, consent, email_link, help, rights
from bot.router import Router


def build_router(plugged: Sequence[Router] = ()) -> Router:
    """The `/skill` family: the core's commands, then those the composition root plugs in
    (bot/composition.py), then `/skill admin …`."""
    root = Router("skill")
    root.include(help.router)
    root.include(consent.router)
    root.include(rights.router)
    root.include(email_link.router)
    for router in plugged:
        root.include(router)
    admin_family = Router("admin")
    admin_family.include(admin.router)
    admin_family.include(admin_web.router)
    root.include(admin_family, under="admin")
    return root
