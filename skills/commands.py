"""`/skill NAME …` and the commands that manage skills: list, show, learn, teach, correct,
publish, rollback, schedule, unschedule. The composition root (bot/composition.py) plugs
this router into the `/skill` family."""

from __future__ import annotations

import json
import re

from bot.context import Args, Context
from bot.events import Action
from bot.mentions import channel_ref
from bot.outbound import Button, ButtonStyle
from bot.router import Router
from skills.engine import Reply, SkillEngine
from skills.runtime import SkillsRuntime
from skills.scheduler import ScheduleError

router = Router()

PUBLISH = "skill.publish"
CANCEL = "skill.publish.cancel"
_WEEK = re.compile(r"^\d{4}-W\d{2}$", re.I)


def _runtime(ctx: Context) -> SkillsRuntime | None:
    runtime = ctx.services.skills
    return runtime if isinstance(runtime, SkillsRuntime) else None


def engine(ctx: Context) -> SkillEngine:
    runtime = _runtime(ctx)
    if runtime is not None:
        return runtime.engine
    services = ctx.services  # e.g. a test that builds Services by hand
    return SkillEngine(
        settings=services.settings,
        ledger=services.ledger,
        observations=services.observations,
        vault=services.vault,
    )


async def answer(ctx: Context, reply: Reply) -> None:
    """Personal results go to the person's DM; the rest are answered where asked."""
    if reply.personal:
        await ctx.dm(reply.text, personal=True)
        if not ctx.in_dm:
            await ctx.reply("I've sent it to your direct messages.")
    else:
        await ctx.reply(reply.text)


async def _name(ctx: Context, args: Args, usage: str) -> str | None:
    if not args.words:
        await ctx.reply(f"Which skill? Use `/skill {usage}`.")
        return None
    return args.first()


@router.fallback
async def run_skill(ctx: Context, args: Args) -> None:
    """`/skill NAME [--week YYYY-Www] [pasted text…]`."""
    name = args.first()
    rest = args.rest()
    week = None
    text = rest.raw
    words = list(rest.words)
    if words and words[0] == "--week" and len(words) > 1:
        week, text = words[1], rest.rest().rest().raw
    elif words and _WEEK.match(words[0]):
        week, text = words[0], rest.rest().raw
    reply = await engine(ctx).run(
        ctx.tenant,
        name,
        ctx.user_id,
        input_text=text,
        week=week,
        thread_id=ctx.event.conversation.thread_id,
    )
    if reply is None:
        from bot.pipeline import unknown_command  # noqa: PLC0415 - the pipeline imports commands

        root = ctx.services.router
        await ctx.reply(unknown_command(name, root, root, ctx.is_admin))
        return
    await answer(ctx, reply)


@router.command("list", summary="the skills of this workspace and how often they were used")
async def list_skills(ctx: Context, args: Args) -> None:
    await answer(ctx, await engine(ctx).list_skills(ctx.tenant))


@router.command(
    "show",
    summary="what a skill learned: sections, rules, contributors, runs",
    usage="show NAME [version]",
)
async def show(ctx: Context, args: Args) -> None:
    name = await _name(ctx, args, "show NAME")
    if name:
        number = _number(args.words[1]) if len(args.words) > 1 else None
        await answer(ctx, await engine(ctx).show(ctx.tenant, name, number))


@router.command(
    "learn",
    summary="learn a new draft of a skill from consented messages",
    usage="learn NAME [#channel…]",
)
async def learn(ctx: Context, args: Args) -> None:
    name = await _name(ctx, args, "learn NAME [#channel…]")
    if name:
        channels = {channel_ref(w) for w in args.words[1:]} or None
        await answer(ctx, await engine(ctx).learn(ctx.tenant, name, ctx.user_id, channels))


@router.command(
    "teach",
    summary="mark pasted text (or, in a thread, its messages) as an example for a skill",
    usage="teach NAME <example>",
)
async def teach(ctx: Context, args: Args) -> None:
    name = await _name(ctx, args, "teach NAME followed by an example")
    if name:
        thread = ctx.event.conversation.thread_id
        reply = await engine(ctx).teach(ctx.tenant, name, ctx.user_id, args.rest().raw, thread)
        await answer(ctx, reply)


@router.command(
    "correct",
    summary="correct a skill in words; makes a new draft",
    usage="correct NAME <correction>",
)
async def correct(ctx: Context, args: Args) -> None:
    name = await _name(ctx, args, 'correct NAME rename "Old" to "New"')
    if name:
        await answer(ctx, await engine(ctx).correct(ctx.tenant, name, ctx.user_id, args.rest().raw))


def _number(word: str) -> int | None:
    word = word.lower().lstrip("v")
    return int(word) if word.isdigit() else None


async def _may_manage(ctx: Context, name: str) -> bool:
    if await engine(ctx).may_manage(ctx.tenant, name, ctx.user_id, ctx.is_admin):
        return True
    await ctx.reply(
        f"Only the owner of *{name}* or an admin can do that. `/skill show {name}` names the owner."
    )
    return False


@router.command(
    "publish",
    summary="see the diff, then publish a draft (owner or admin)",
    usage="publish NAME [version]",
)
async def publish(ctx: Context, args: Args) -> None:
    name = await _name(ctx, args, "publish NAME")
    if not name or not await _may_manage(ctx, name):
        return
    number = _number(args.words[1]) if len(args.words) > 1 else None
    preview = await engine(ctx).publish_preview(ctx.tenant, name, number)
    if not preview.ok or preview.version is None:
        await ctx.reply(preview.text)
        return
    if any(w.lower() in ("yes", "confirm") for w in args.words[1:]):
        await ctx.reply(preview.text)
        await answer(ctx, await engine(ctx).publish(ctx.tenant, name, preview.version.number))
        return
    value = json.dumps({"s": name, "v": preview.version.number})
    buttons = (
        Button(f"Publish v{preview.version.number}", PUBLISH, value, ButtonStyle.PRIMARY),
        Button("Not now", CANCEL, value),
    )
    await ctx.dm(preview.text, buttons)
    if not ctx.in_dm:
        await ctx.reply("I've sent you the changes to review in your direct messages.")


@router.action(PUBLISH)
async def publish_clicked(ctx: Context, action: Action) -> None:
    try:
        value = json.loads(action.value)
        name, number = str(value["s"]), int(value["v"])
    except (ValueError, KeyError, TypeError):
        await ctx.dm("That button is out of date. Use `/skill publish NAME` again.")
        return
    if not await _may_manage(ctx, name):
        return
    reply = await engine(ctx).publish(ctx.tenant, name, number)
    await ctx.dm(reply.text, replace_ref=action.message_ref)


@router.action(CANCEL)
async def publish_cancelled(ctx: Context, action: Action) -> None:
    await ctx.dm("Not published. The draft stays as it is.", replace_ref=action.message_ref)


@router.command(
    "rollback",
    summary="publish an earlier version again (owner or admin)",
    usage="rollback NAME [version]",
)
async def rollback(ctx: Context, args: Args) -> None:
    name = await _name(ctx, args, "rollback NAME [version]")
    if name and await _may_manage(ctx, name):
        number = _number(args.words[1]) if len(args.words) > 1 else None
        await answer(ctx, await engine(ctx).rollback(ctx.tenant, name, number))


@router.command(
    "schedule",
    summary="get a skill's draft in your DMs every week",
    usage="schedule NAME fri 17:00",
)
async def schedule(ctx: Context, args: Args) -> None:
    runtime = _runtime(ctx)
    if len(args.words) < 3 or runtime is None:
        await ctx.reply(
            "Use `/skill schedule NAME DAY HH:MM`, e.g. `/skill schedule weekly-report fri 17:00`."
        )
        return
    name = args.first()
    if await engine(ctx).run_preflight(ctx.tenant, name) is False:
        await ctx.reply(f"There is no skill `{name}` to schedule. `/skill list` shows them.")
        return
    try:
        row = await runtime.scheduler.add(
            ctx.tenant, ctx.user_id, name, args.words[1], args.words[2]
        )
    except ScheduleError as exc:
        await ctx.reply(str(exc))
        return
    upcoming = runtime.scheduler.next_run(row)
    when = f" The next one is {upcoming:%a %d %b %H:%M} ({row.timezone})." if upcoming else ""
    await ctx.reply(
        f"Scheduled: I'll DM you *{name}* every {args.words[1]} at "
        f"{row.hour:02d}:{row.minute:02d} {row.timezone}.{when} "
        f"`/skill unschedule {name}` stops it."
    )


@router.command("unschedule", summary="stop a scheduled skill", usage="unschedule [NAME]")
async def unschedule(ctx: Context, args: Args) -> None:
    runtime = _runtime(ctx)
    removed = (
        await runtime.scheduler.remove(ctx.tenant, ctx.user_id, args.first() or None)
        if runtime
        else 0
    )
    await ctx.reply(
        f"Stopped {removed} scheduled run(s)." if removed else "You have nothing scheduled."
    )
