"""`/skill mydata` and `/skill forget`: see and erase everything held about me."""

from __future__ import annotations

import json
from collections import Counter

from bot.consent.erasure import erase_person
from bot.consent.ledger import Mechanism
from bot.consent.notices import Purpose
from bot.context import Args, Context
from bot.router import Router
from bot.storage.models import Channel, SkillContribution

router = Router()


@router.command("mydata", summary="what is held about you, with a JSON export of all of it")
async def mydata(ctx: Context, args: Args) -> None:
    services = ctx.services
    person = await services.people.find(ctx.tenant, ctx.user_id)
    history = await services.ledger.history(ctx.tenant, ctx.user_id)
    observations = await services.observations.read(person) if person else []
    contributions = (
        await SkillContribution.filter(person=person).prefetch_related("version__skill")
        if person
        else []
    )
    live = [
        p.value for p in Purpose if await services.ledger.live_grant(ctx.tenant, ctx.user_id, p)
    ]
    held = await services.skills.held_about(person) if person and services.skills else None
    examples = held.examples if held else []
    schedules = held.schedules if held else []
    words = held.words if held else []

    lines = ["*What Apprentice holds about you*"]
    lines.append(f"• consent in force: {', '.join(live) or 'none'}")
    if observations:
        by_channel = Counter(f"#{o.channel_name or o.channel_id}" for o in observations)
        first, last = observations[0].occurred_at, observations[-1].occurred_at
        lines.append(f"• messages kept: {len(observations)} ({first:%Y-%m-%d} to {last:%Y-%m-%d})")
        lines.extend(f"    {channel}: {count}" for channel, count in sorted(by_channel.items()))
    else:
        lines.append("• messages kept: 0")
    names = dict(await Channel.filter(tenant=ctx.tenant).values_list("channel_id", "name"))

    def team_of(team: str) -> str:  # a skill belongs to the channels it was learned from
        ids = [i for i in team.split(",") if i]
        return ", ".join(f"#{names.get(i) or i}" for i in ids) or "the whole workspace"

    skills = sorted(
        {
            (c.version.skill.name, c.version.number, c.version.run_count, c.version.skill.team)
            for c in contributions
        }
    )
    if skills:
        lines.append("• skills that learned from you:")
        lines.extend(
            f"    {name} v{number} for {team_of(team)} (used {runs} times)"
            for name, number, runs, team in skills
        )
    else:
        lines.append("• skills that learned from you: none")
    if examples:
        taught = Counter(name for name, _, _ in examples)
        lines.append("• examples you taught: " + ", ".join(f"{n} ({c})" for n, c in taught.items()))
    if words:
        kept = Counter(f"{name} v{number} {kind}s" for name, number, kind, _ in words)
        lines.append("• your words in skills: " + ", ".join(f"{k} ({n})" for k, n in kept.items()))
    if schedules:
        lines.append("• your schedules: " + "; ".join(schedules))
    lines.append(f"• consent records: {len(history)} (grants, refusals and withdrawals)")
    lines.append("mydata.json (with this message) holds all of it. `/skill forget` erases it.")

    export = {
        "platform": ctx.event.platform,
        "tenant": ctx.event.tenant,
        "user_id": ctx.user_id,
        "consent_events": [
            {
                "action": e.action,
                "purpose": e.purpose,
                "channels": e.channels,
                "notice_version": e.notice_version,
                "notice_sha256": e.notice_sha256,
                "language": e.language,
                "occurred_at": e.occurred_at.isoformat(),
                "mechanism": e.mechanism,
                "mechanism_ref": e.mechanism_ref,
            }
            for e in history
        ],
        "observations": [
            {
                "channel": o.channel_name or o.channel_id,
                "message_id": o.message_id,
                "thread_id": o.thread_id,
                "occurred_at": o.occurred_at.isoformat(),
                "text": o.text,
            }
            for o in observations
        ],
        "skills": [
            {"name": n, "version": v, "team": team_of(t), "runs": r} for n, v, r, t in skills
        ],
        "taught_examples": [
            {"skill": name, "taught_at": at.isoformat(), "text": text}
            for name, at, text in examples
        ],
        "words_in_skills": [
            {"skill": name, "version": number, "kind": kind, "text": text}
            for name, number, kind, text in words
        ],
        "schedules": schedules,
    }
    await ctx.dm(
        "\n".join(lines),
        personal=True,
        attachment=("mydata.json", json.dumps(export, ensure_ascii=False, indent=2)),
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
    await ctx.dm("🧹 Everything Apprentice held about you is erased.\n" + receipt.text())
    if not ctx.in_dm:
        await ctx.reply("Done — I've sent your erasure receipt to your direct messages.")
