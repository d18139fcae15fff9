"""`/skill help`: what the bot can do, written from the registered routes."""

from __future__ import annotations

from bot.context import Args, Context
from bot.router import Route, Router

router = Router()


def help_text(root: Router, *, admin: bool) -> str:
    lines = ["*Apprentice* learns your team's recurring work from people who opt in.", ""]
    lines.extend(_route_line(route) for route in root.routes())
    for name, sub in root.subrouters().items():
        if admin or name != "admin":
            lines.extend(_route_line(route) for route in sub.routes())
    lines.append("")
    lines.append("Private conversations are never read. Skills list who they learned from.")
    return "\n".join(lines)


def _route_line(route: Route) -> str:
    return f"• `/skill {route.usage}` — {route.summary}"


@router.command("help", summary="this list")
async def show_help(ctx: Context, args: Args) -> None:
    root = ctx.services.router
    await ctx.reply(help_text(root, admin=ctx.is_admin))
