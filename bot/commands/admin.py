"""`/skill admin …`: observed channels, revocation, the audit log and status."""

from __future__ import annotations

from bot.consent.erasure import erase_person
from bot.consent.ledger import Mechanism
from bot.context import Args, Context
from bot.mentions import channel_ref, user_ref
from bot.router import Router
from bot.storage.models import ConsentEvent, Observation, Person
from bot.web.signin import end_sessions_of

router = Router("admin")

MAX_AUDIT_ROWS = 200


def observe_notice(channel_name: str, retention_days: int) -> str:
    return (
        f"👀 *Apprentice now observes #{channel_name}* (approved by an admin).\n"
        "It learns this team's recurring work — weekly reports, review standards, meeting "
        "memos — from the messages of people who opt in, and from no one else. "
        "It never reads direct messages, files or images. "
        f"Kept text is redacted, encrypted and deleted after {retention_days} days.\n"
        "`/skill optin` to take part · `/skill optout` to stop · `/skill mydata` to see what is "
        "held · `/skill forget` to erase it."
    )


def typed_channel(args: Args) -> str:
    """The channel an admin named: a mention, an id, or a name with spaces (Lark, DingTalk)."""
    first = args.words[0]
    return channel_ref(first if first.startswith("<#") else args.raw.strip())


async def _find_channel(ctx: Context, args: Args, verb: str) -> tuple[str, str] | None:
    """The channel named in `args`, or — when none is — the chat the command was typed in."""
    adapter = ctx.services.outbox.adapter(ctx.event.platform)
    if not args.words:
        here = ctx.event.conversation
        if here.is_private:
            await ctx.reply(
                f"Direct messages and group DMs are never observed. Type `/skill admin {verb}` "
                f"in the group or channel itself, or name it: `/skill admin {verb} #channel`."
            )
            return None
        found = await adapter.find_channel(ctx.event.tenant, here.id) if adapter else None
        return here.id, found.name if found else here.name or here.id
    ref = typed_channel(args)
    found = await adapter.find_channel(ctx.event.tenant, ref) if adapter else None
    if found is None:
        await ctx.reply(
            f"I can't find a channel called #{ref}. Check the name, and that I was added to it."
        )
        return None
    return found.id, found.name


@router.command(
    "observe",
    summary="observe this chat, or the one named (posts a notice there)",
    usage="admin observe [#channel]",
    admin=True,
)
async def observe(ctx: Context, args: Args) -> None:
    found = await _find_channel(ctx, args, "observe")
    if found is None:
        return
    channel_id, name = found
    directory = ctx.services.directory
    if await directory.observed_channel(ctx.tenant, channel_id) is not None:
        await ctx.reply(f"#{name} is already observed.")
        return
    # The visible notice is one of the two keys (invariant 2): no notice, no observing.
    sent = await ctx.post(channel_id, observe_notice(name, ctx.services.settings.retention_days))
    if sent is None:
        await ctx.reply(
            f"I could not post the notice in #{name}, so it is not observed. "
            "Check that I am a member of the channel and may post there, then try again."
        )
        return
    channel, _ = await directory.observe(ctx.tenant, channel_id, name, ctx.user_id)
    channel.notice_message_id = sent.message_id
    await channel.save(update_fields=["notice_message_id"])
    await ctx.audit("channel.observe", channel=channel_id)
    await ctx.reply(
        f"#{name} is now observed; I posted a notice there. People still opt in themselves."
    )


@router.command(
    "unobserve",
    summary="stop observing this chat (or the one named)",
    usage="admin unobserve [#channel]",
    admin=True,
)
async def unobserve(ctx: Context, args: Args) -> None:
    directory = ctx.services.directory
    if not args.words:
        here = await _find_channel(ctx, args, "unobserve")
        if here is None:
            return
        ref, name = here
    else:
        ref = name = typed_channel(args)
    channel = await directory.unobserve(ctx.tenant, ref)
    if channel is None and args.words:  # a name, or an id the platform spells differently
        adapter = ctx.services.outbox.adapter(ctx.event.platform)
        found = await adapter.find_channel(ctx.event.tenant, ref) if adapter else None
        channel = await directory.unobserve(ctx.tenant, found.id) if found else None
    if channel is None:
        await ctx.reply(f"#{name} is not observed, so there is nothing to stop.")
        return
    await ctx.post(channel.channel_id, f"Apprentice no longer observes #{channel.name}.")
    await ctx.audit(
        "channel.unobserve",
        channel=channel.channel_id,
    )
    await ctx.reply(
        f"#{channel.name} is no longer observed. Messages kept so far stay until "
        "they expire or their authors erase them."
    )


@router.command(
    "revoke",
    summary="erase a person's data (as /skill forget), audited",
    usage="admin revoke @person",
    admin=True,
)
async def revoke(ctx: Context, args: Args) -> None:
    if not args.words:
        await ctx.reply("Whose data? Use `/skill admin revoke @person`.")
        return
    target = user_ref(args.words[0])
    services = ctx.services
    receipt = await erase_person(
        ctx.tenant,
        target,
        ledger=services.ledger,
        observations=services.observations,
        forget_in_skills=services.skills.forget if services.skills else None,
        mechanism=Mechanism("admin:revoke", ctx.event.id),
        by_admin=ctx.user_id,
    )
    await end_sessions_of(ctx.tenant, target)  # no web page stays signed in as them
    await ctx.audit(
        "person.revoked_by_admin",
        target,
        receipt=receipt.id,
        observations=receipt.observations_deleted,
        skill_versions=receipt.skill_versions_rebuilt,
    )
    if receipt.key_destroyed or receipt.consents_withdrawn:
        await ctx.dm_user(
            target,
            "An admin of this workspace revoked Apprentice's data about you. Everything it held "
            "is erased.\n" + receipt.text(),
        )
    await ctx.reply(
        f"Revoked @{target}: {receipt.observations_deleted} messages deleted, key destroyed: "
        f"{'yes' if receipt.key_destroyed else 'none held'}, consents withdrawn: "
        f"{', '.join(receipt.consents_withdrawn) or 'none'}. Receipt {receipt.id}."
    )


@router.command(
    "audit", summary="the latest audit entries (content-free)", usage="admin audit [n]", admin=True
)
async def audit(ctx: Context, args: Args) -> None:
    count = 20
    if args.words:
        if not args.words[0].isdigit() or not 1 <= int(args.words[0]) <= MAX_AUDIT_ROWS:
            await ctx.reply(f"`/skill admin audit [n]` takes a number from 1 to {MAX_AUDIT_ROWS}.")
            return
        count = int(args.words[0])
    entries = await ctx.services.audit.recent(ctx.event.platform, ctx.event.tenant, count)
    if not entries:
        await ctx.reply("The audit log is empty.")
        return
    lines = [f"*Audit log* (last {len(entries)}; people shown by pseudonym)"]
    for entry in entries:
        detail = " ".join(f"{k}={v}" for k, v in sorted(entry.detail.items()))
        subject = f" → {entry.subject}" if entry.subject else ""
        lines.append(
            f"#{entry.id} {entry.occurred_at:%Y-%m-%d %H:%M:%S} {entry.action} "
            f"{entry.actor}{subject} {detail}".rstrip()
        )
    await ctx.reply("\n".join(lines))


@router.command(
    "status",
    summary="observed channels, consent and storage at a glance",
    usage="admin status",
    admin=True,
)
async def status(ctx: Context, args: Args) -> None:
    services = ctx.services
    channels = await services.directory.observed_channels(ctx.tenant)
    people = [
        str(u) for u in await Person.filter(tenant=ctx.tenant).values_list("user_id", flat=True)
    ]
    live = [u for u in people if await services.ledger.live_grant(ctx.tenant, u)]
    kept = await Observation.filter(tenant=ctx.tenant).count()
    records = await ConsentEvent.filter(tenant=ctx.tenant).count()
    chain = await services.audit.verify()
    lines = [
        "*Apprentice status*",
        f"• observed channels: {', '.join('#' + c.name for c in channels) or 'none'}",
        f"• people with consent in force: {len(live)}",
        f"• messages kept: {kept} (retention {services.settings.retention_days} days)",
        f"• consent records: {records}",
        f"• audit chain: {chain.verdict} ({chain.entries} entries)"
        + (f" — {chain.problem}" if chain.problem else ""),
        f"• adapters: {', '.join(services.settings.enabled_adapters())}",
    ]
    await ctx.reply("\n".join(lines))
