"""The one door between the core (bot/) and the skills package (skills/).

The core never imports skills: it defines what it asks of them (`bot.services.SkillsPort`,
`bot.web.admin.AdminSection`, routers for `build_router`), and this module — part of the
composition root — plugs the skills package in: its chat commands, its runtime (engine,
scheduler, erasure, mydata), its admin pages and its CLI sub-app. Imports are made when a
part is asked for, so `apprentice --help` stays quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands import build_router as build_core_router

if TYPE_CHECKING:
    import typer

    from bot.consent.ledger import ConsentLedger
    from bot.observations import ObservationStore
    from bot.router import Router
    from bot.services import SkillsPort
    from bot.settings import Settings
    from bot.storage.vault import Vault
    from bot.web.admin import AdminSection


def build_router() -> Router:
    """The whole `/skill` family: the core's commands and the skills commands."""
    from skills.commands import router as skill_commands  # noqa: PLC0415

    return build_core_router(plugged=(skill_commands,))


def skills_runtime(
    settings: Settings, ledger: ConsentLedger, observations: ObservationStore, vault: Vault
) -> SkillsPort:
    from skills.runtime import SkillsRuntime  # noqa: PLC0415

    return SkillsRuntime(settings, ledger, observations, vault)


def admin_sections() -> tuple[AdminSection, ...]:
    from skills.admin_pages import SECTION  # noqa: PLC0415

    return (SECTION,)


def cli_apps() -> tuple[tuple[str, typer.Typer], ...]:
    """`apprentice skills …`."""
    from skills.cli import app as skills_cli  # noqa: PLC0415

    return (("skills", skills_cli),)
