"""`apprentice admin-link --as PLATFORM:WORKSPACE:USER`: a sign-in link made on the server."""

from __future__ import annotations

from rich.console import Console

from bot.settings import Settings
from bot.storage.database import close_database, open_database
from bot.storage.models import Tenant
from bot.web.signin import LINK_SECONDS, Kind, make_link, may_administer


def parse_who(who: str) -> tuple[str, str, str] | None:
    """`slack:T012:U034` → (slack, T012, U034); a workspace id may itself hold colons."""
    platform, _, rest = who.strip().partition(":")
    workspace, _, user = rest.rpartition(":")
    if not platform or not workspace or not user:
        return None
    return platform, workspace, user


async def print_admin_link(settings: Settings, who: str, out: Console) -> bool:
    parsed = parse_who(who)
    if parsed is None:
        out.print(
            f"[red]{who!r} is not PLATFORM:WORKSPACE:USER[/red], e.g. console:local:admin or "
            "slack:T012ABCDE:U034FGHIJ (the workspace is the Slack team, Lark tenant or "
            "DingTalk corp id)."
        )
        return False
    platform, workspace, user = parsed
    await open_database(settings)
    try:
        if not await may_administer(settings, platform, workspace, user):
            out.print(
                f"[red]{user} is not an admin of {platform}:{workspace}[/red]: add them to "
                "APPRENTICE_ADMINS, restart, and try again."
            )
            return False
        tenant = await Tenant.get_or_none(platform=platform, external_id=workspace)
        if tenant is None:
            out.print(
                f"[red]There is no workspace {platform}:{workspace} yet[/red]: it appears when "
                "the bot first hears from it. `/admin` with the admin token lists those there are."
            )
            return False
        link = await make_link(settings, tenant, user, Kind.ADMIN)
    finally:
        await close_database()
    out.print(f"Sign-in link for {user} (works once, for {LINK_SECONDS // 60} minutes):")
    out.print(link, soft_wrap=True, highlight=False)
    return True
