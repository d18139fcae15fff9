"""`/skill admin web`: a one-time link, by DM, that signs the admin in to the admin pages."""

from __future__ import annotations

from bot.context import Args, Context
from bot.router import Router
from bot.web.signin import LINK_SECONDS, Kind, make_link

router = Router("admin")


@router.command(
    "web",
    summary="a one-time sign-in link to the admin pages, by direct message",
    usage="admin web",
    admin=True,
)
async def web(ctx: Context, args: Args) -> None:
    link = await make_link(ctx.services.settings, ctx.tenant, ctx.user_id, Kind.ADMIN)
    await ctx.dm(
        f"Your sign-in link to the admin pages of this workspace: {link}\n"
        f"It works once, for {LINK_SECONDS // 60} minutes. Don't forward it: whoever opens "
        "it first is signed in as you.",
        personal=True,
    )
    if not ctx.in_dm:
        await ctx.reply("I've sent you a sign-in link by direct message.")
