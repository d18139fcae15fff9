"""`/skill mydata` and `/skill forget`: see and erase everything held about me."""

from __future__ import annotations

import json
from collections import Counter

from bot.consent.erasure import erase_person
from bot.consent.ledger import Mechanism
from bot.context import Args, Context
from bot.mydata import export, gather
from bot.router import Router
from bot.web.signin import LINK_SECONDS, Kind, end_sessions_of, make_link

router = Router()


@router.command("mydata", summary="what is held about you, with a JSON export of all of it")
async def mydata(ctx: Context, args: Args) -> None:
    held = await gather(ctx.services, ctx.tenant, ctx.user_id)
    lines = ["*What Apprentice holds about you*"]
    lines.append(f"• consent in force: {', '.join(held.live) or 'none'}")
    if held.observations:
        first, last = held.observations[0].occurred_at, held.observations[-1].occurred_at
        lines.append(
            f"• messages kept: {len(held.observations)} ({first:%Y-%m-%d} to {last:%Y-%m-%d})"
        )
        lines.extend(f"    {channel}: {count}" for channel, count in held.per_channel.items())
    else:
        lines.append("• messages kept: 0")
    if held.skills:
        lines.append("• skills that learned from you:")
        lines.extend(
            f"    {name} v{number} for {team} (used {runs} times)"
            for name, number, runs, team in held.skills
        )
    else:
        lines.append("• skills that learned from you: none")
    if held.examples:
        taught = Counter(name for name, _, _ in held.examples)
        lines.append("• examples you taught: " + ", ".join(f"{n} ({c})" for n, c in taught.items()))
    if held.words:
        kept = Counter(f"{name} v{number} {kind}s" for name, number, kind, _ in held.words)
        lines.append("• your words in skills: " + ", ".join(f"{k} ({n})" for k, n in kept.items()))
    if held.schedules:
        lines.append("• your schedules: " + "; ".join(held.schedules))
    lines.append(f"• consent records: {len(held.history)} (grants, refusals and withdrawals)")
    lines.append("mydata.json (with this message) holds all of it. `/skill forget` erases it.")
    link = await make_link(ctx.services.settings, ctx.tenant, ctx.user_id, Kind.PERSON)
    lines.append(
        f"See it on a page, download it, stop or erase it there: {link} "
        f"(works once, for {LINK_SECONDS // 60} minutes; don't forward it)."
    )
    await ctx.dm(
        "\n".join(lines),
        personal=True,
        attachment=("mydata.json", json.dumps(export(held), ensure_ascii=False, indent=2)),
    )
    if not ctx.in_dm:
        await ctx.reply("I've sent what I hold about you to your direct messages.")


@router.command("forget", summary="withdraw and erase everything held about you, with a receipt")
async def forget(ctx: Context, args: Args) -> None:
    services = ctx.services
    mechanism = Mechanism("command:forget", ctx.event.id)
    receipt = await erase_person(
        ctx.tenant,
        ctx.user_id,
        ledger=services.ledger,
        observations=services.observations,
        forget_in_skills=services.skills.forget if services.skills else None,
        mechanism=mechanism,
    )
    await ctx.audit(
        "person.erased",
        ctx.user_id,
        receipt=receipt.id,
        observations=receipt.observations_deleted,
        skill_versions=receipt.skill_versions_rebuilt,
    )
    await end_sessions_of(ctx.tenant, ctx.user_id)  # no web page stays signed in as them
    await ctx.dm("🧹 Everything Apprentice held about you is erased.\n" + receipt.text())
    if not ctx.in_dm:
        await ctx.reply("Done — I've sent your erasure receipt to your direct messages.")
