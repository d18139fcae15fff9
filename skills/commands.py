"""`/skill NAME …` and the commands that manage skills: list, show, learn, teach, correct,
publish, rollback, schedule, unschedule. The composition root (bot/composition.py) plugs
this router into the `/skill` family.

Every command means one team's skill: which one is decided in skills/scope.py (the
channel it is typed in; in a DM the requester's own teams; `#channel` picks).
"""

from __future__ import annotations

import json
import re

from bot.context import Args, Context
from bot.events import Action
from bot.outbound import Button, ButtonStyle
from bot.router import Router
from bot.storage.models import Skill
from skills import scope
from skills.engine import Reply, SkillEngine
from skills.kinds import BUILTIN
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


# -- which team's skill ------------------------------------------------------------------------


def _channel(ctx: Context) -> str | None:
    """The channel (or group chat) typed in; None in a DM."""
    return None if ctx.in_dm else ctx.event.conversation.id


def _where(ctx: Context, picks: tuple[str, ...] = ()) -> scope.Where:
    return scope.Where(ctx.user_id, _channel(ctx), picks, ctx.is_admin)


def _split_channels(words: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(`#channel` words, the other words) of a command that takes no pasted text."""
    picks = tuple(w for w in words if scope.is_channel_word(w))
    return picks, tuple(w for w in words if not scope.is_channel_word(w))


async def _leading_channels(ctx: Context, args: Args) -> tuple[tuple[str, ...], Args]:
    """The `#channel`s right after NAME (of this workspace), and the args after them."""
    rest = args.rest()
    count = await scope.leading_channels(ctx.tenant, rest.words)
    picks = rest.words[:count]
    for _ in range(count):
        rest = rest.rest()
    return picks, rest


async def _resolve(
    ctx: Context, name: str, picks: tuple[str, ...], command: str
) -> scope.Resolved | None:
    """The team's skill this command means; None after answering a problem or "which?"."""
    found = await scope.resolve(ctx.tenant, name, _where(ctx, picks))
    if found.problem:
        await ctx.reply(found.problem)
        return None
    if found.choices:
        await ctx.reply(found.question(name, command))
        return None
    return found


async def _no_team_known(ctx: Context, name: str, command: str) -> None:
    """In a DM, when it is not clear which team a new skill would be for."""
    mine = sorted(await scope.own_channels(ctx.tenant, ctx.user_id))
    names = await scope.channel_names(ctx.tenant)
    if mine:
        listed = ", ".join(f"#{names.get(c, c)}" for c in mine)
        await ctx.reply(
            f"Which team's *{name}*? You write in {listed}. Type it again with one of them, "
            f"e.g. `{command} #{names.get(mine[0], mine[0])}`, or type it in that channel."
        )
    elif ctx.is_admin:
        observed = [
            c.name or c.channel_id
            for c in await ctx.services.directory.observed_channels(ctx.tenant)
        ]
        listed = ", ".join(f"#{n}" for n in observed) or "none yet"
        await ctx.reply(
            f"Which team's *{name}*? Name its channels: `{command} #channel` "
            f"(observed channels: {listed})."
        )
    elif not await ctx.services.ledger.live_grant(ctx.tenant, ctx.user_id):
        await ctx.reply(
            "In a direct message I use the skills of your own team's channels, and I keep no "
            "messages of yours: you haven't agreed (or withdrew). `/skill optin` lets me learn "
            f"from your messages in observed channels; or type `{command}` in a team's channel."
        )
    else:
        await ctx.reply(
            f"Type `{command}` in your team's channel: in a direct message I use the skills of "
            "your own channels, and I keep no messages of yours in an observed channel yet."
        )


async def _target_team(
    ctx: Context, name: str, found: scope.Resolved, picks: tuple[str, ...], command: str
) -> str | None:
    """The team `learn`/`teach` work on: the team of the skill meant (named channels within
    it), else a new team of the named channels, of this channel, or in a DM of the
    requester's one channel. None after answering why not."""
    skill = found.skill
    if skill is not None and skill.team:
        ids, _ = await scope.find_channels(ctx.tenant, picks)
        if set(ids) <= set(scope.team_channels(skill.team)):
            return skill.team
    team = found.team
    if team is None:
        if skill is not None:  # a workspace-wide skill, asked in a DM without a team
            return skill.team
        await _no_team_known(ctx, name, command)
        return None
    overlapping = [
        s
        for s in await Skill.filter(tenant=ctx.tenant, name=name).exclude(team=team)
        if s.team and set(scope.team_channels(s.team)) & set(scope.team_channels(team))
    ]
    if overlapping:
        other = scope.team_channels(overlapping[0].team)
        await ctx.reply(
            f"{found.channels_named(overlapping[0].team)} already has its own *{name}*, and a "
            f"channel runs one skill of a name. Work on that one with "
            f"`{command} #{found.names.get(other[0], other[0])}`, or name channels that have "
            "none yet."
        )
        return None
    return team


async def _version_command(
    ctx: Context, args: Args, verb: str, usage: str
) -> tuple[str, Skill, int | None, tuple[str, ...]] | None:
    """`/skill VERB NAME [version] [#channel]`: the name, the team's skill, the version asked
    for and the other words; None after telling the person what was missing."""
    name = await _name(ctx, args, usage)
    if not name:
        return None
    picks, words = _split_channels(args.words[1:])
    skill = await _existing(ctx, name, picks, f"/skill {verb} {name}")
    if skill is None:
        return None
    return name, skill, _number(words[0]) if words else None, words


async def _existing(ctx: Context, name: str, picks: tuple[str, ...], command: str) -> Skill | None:
    """The team's skill for show, correct, publish, rollback; None after saying there is none."""
    found = await _resolve(ctx, name, picks, command)
    if found is None:
        return None
    if found.skill is None:
        where = "this channel" if not ctx.in_dm else "your channels"
        hint = f"`/skill learn {name}`" if name in BUILTIN else f"`/skill teach {name}`"
        await ctx.reply(f"There is no skill `{name}` for {where} yet. {hint} makes one.")
        return None
    return found.skill


# -- running -----------------------------------------------------------------------------------


@router.fallback
async def run_skill(ctx: Context, args: Args) -> None:
    """`/skill NAME [#channel] [--week YYYY-Www] [pasted text…]`."""
    name = args.first()
    picks, rest = await _leading_channels(ctx, args)
    week = None
    text = rest.raw
    words = list(rest.words)
    if words and words[0] == "--week" and len(words) > 1:
        week, text = words[1], rest.rest().rest().raw
    elif words and _WEEK.match(words[0]):
        week, text = words[0], rest.rest().raw
    found = await _resolve(ctx, name, picks, f"/skill {name}")
    if found is None:
        return
    if found.skill is not None:
        team = found.skill.team
    elif name in BUILTIN:
        if found.team is None:
            await _no_team_known(ctx, name, f"/skill {name}")
            return
        team = found.team  # learned from that team's channels first
    else:
        if await Skill.exists(tenant=ctx.tenant, name=name):
            where = "this channel" if not ctx.in_dm else "your channels"
            await ctx.reply(
                f"There is no skill `{name}` for {where} yet (another team has one). "
                f"`/skill teach {name}` with an example makes one for {where}."
            )
            return
        from bot.pipeline import unknown_command  # noqa: PLC0415 - the pipeline imports commands

        root = ctx.services.router
        await ctx.reply(unknown_command(name, root, root, ctx.is_admin))
        return
    reply = await engine(ctx).run(
        ctx.tenant,
        name,
        ctx.user_id,
        input_text=text,
        week=week,
        thread_id=ctx.event.conversation.thread_id,
        team=team,
        channel=_channel(ctx),
    )
    if reply is None:  # gone meanwhile
        await ctx.reply(f"There is no skill `{name}` here any more. `/skill list` shows them.")
        return
    await answer(ctx, reply)


# -- listing and showing -----------------------------------------------------------------------


@router.command(
    "list", summary="the skills of this channel (in a DM: of your channels) and their use"
)
async def list_skills(ctx: Context, args: Args) -> None:
    skills = await scope.visible_skills(ctx.tenant, _where(ctx))
    await answer(ctx, await engine(ctx).list_skills(ctx.tenant, skills))


@router.command(
    "show",
    summary="what a skill learned: sections, rules, contributors, runs",
    usage="show NAME [version] [#channel]",
)
async def show(ctx: Context, args: Args) -> None:
    found = await _version_command(ctx, args, "show", "show NAME")
    if found is not None:
        name, skill, number, _ = found
        await answer(ctx, await engine(ctx).show(ctx.tenant, name, number, team=skill.team))


# -- learning, teaching, correcting ------------------------------------------------------------


@router.command(
    "learn",
    summary="learn a new draft of this channel's skill (or of the channels named)",
    usage="learn NAME [#channel…]",
)
async def learn(ctx: Context, args: Args) -> None:
    name = await _name(ctx, args, "learn NAME [#channel…]")
    if not name:
        return
    picks = tuple(args.words[1:])
    found = await _resolve(ctx, name, picks, f"/skill learn {name}")
    if found is None:
        return
    team = await _target_team(ctx, name, found, picks, f"/skill learn {name}")
    if team is not None:
        await answer(ctx, await engine(ctx).learn(ctx.tenant, name, ctx.user_id, team))


@router.command(
    "teach",
    summary="mark pasted text (or, in a thread, its messages) as an example for a skill",
    usage="teach NAME [#channel] <example>",
)
async def teach(ctx: Context, args: Args) -> None:
    name = await _name(ctx, args, "teach NAME followed by an example")
    if not name:
        return
    picks, rest = await _leading_channels(ctx, args)
    if not await ctx.services.ledger.live_grant(ctx.tenant, ctx.user_id):
        await answer(ctx, await engine(ctx).teach(ctx.tenant, name, ctx.user_id, rest.raw))
        return  # the engine says why: only people who take part may teach
    found = await _resolve(ctx, name, picks, f"/skill teach {name}")
    if found is None:
        return
    team = await _target_team(ctx, name, found, picks, f"/skill teach {name}")
    if team is None:
        return
    reply = await engine(ctx).teach(
        ctx.tenant,
        name,
        ctx.user_id,
        rest.raw,
        ctx.event.conversation.thread_id,
        team=team,
        channel=_channel(ctx),
    )
    await answer(ctx, reply)


@router.command(
    "correct",
    summary="correct a skill in words; makes a new draft",
    usage="correct NAME [#channel] <correction>",
)
async def correct(ctx: Context, args: Args) -> None:
    name = await _name(ctx, args, 'correct NAME rename "Old" to "New"')
    if not name:
        return
    picks, rest = await _leading_channels(ctx, args)
    skill = await _existing(ctx, name, picks, f"/skill correct {name}")
    if skill is not None:
        reply = await engine(ctx).correct(ctx.tenant, name, ctx.user_id, rest.raw, team=skill.team)
        await answer(ctx, reply)


# -- publishing and rolling back ---------------------------------------------------------------


def _number(word: str) -> int | None:
    word = word.lower().lstrip("v")
    return int(word) if word.isdigit() else None


async def _may_manage(ctx: Context, skill: Skill) -> bool:
    if await engine(ctx).may_manage(
        ctx.tenant, skill.name, ctx.user_id, ctx.is_admin, team=skill.team
    ):
        return True
    names = await scope.channel_names(ctx.tenant)
    team = ", ".join(f"#{names.get(c, c)}" for c in scope.team_channels(skill.team))
    await ctx.reply(
        f"Only the owner of *{skill.name}* or an admin can do that"
        + (f" (this one is {team}'s)" if team else "")
        + f". `/skill show {skill.name}` names the owner."
    )
    return False


@router.command(
    "publish",
    summary="see the diff, then publish a draft (owner or admin)",
    usage="publish NAME [version] [#channel]",
)
async def publish(ctx: Context, args: Args) -> None:
    found = await _version_command(ctx, args, "publish", "publish NAME")
    if found is None or not await _may_manage(ctx, found[1]):
        return
    name, skill, number, words = found
    preview = await engine(ctx).publish_preview(ctx.tenant, name, number, team=skill.team)
    if not preview.ok or preview.version is None:
        await ctx.reply(preview.text)
        return
    if any(w.lower() in ("yes", "confirm") for w in words):
        await ctx.reply(preview.text)
        reply = await engine(ctx).publish(ctx.tenant, name, preview.version.number, team=skill.team)
        await answer(ctx, reply)
        return
    value = json.dumps({"s": name, "v": preview.version.number, "t": skill.team})
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
        team = value.get("t")
    except (ValueError, KeyError, TypeError, AttributeError):
        await ctx.dm("That button is out of date. Use `/skill publish NAME` again.")
        return
    if isinstance(team, str):
        skill = await Skill.get_or_none(tenant=ctx.tenant, name=name, team=team)
    else:  # a button from before skills had teams: the one this person would mean
        found = await scope.resolve(ctx.tenant, name, _where(ctx))
        skill = found.skill
    if skill is None:
        await ctx.dm("That button is out of date. Use `/skill publish NAME` again.")
        return
    if not await _may_manage(ctx, skill):
        return
    reply = await engine(ctx).publish(ctx.tenant, name, number, team=skill.team)
    await ctx.dm(reply.text, replace_ref=action.message_ref)


@router.action(CANCEL)
async def publish_cancelled(ctx: Context, action: Action) -> None:
    await ctx.dm("Not published. The draft stays as it is.", replace_ref=action.message_ref)


@router.command(
    "rollback",
    summary="publish an earlier version again (owner or admin)",
    usage="rollback NAME [version] [#channel]",
)
async def rollback(ctx: Context, args: Args) -> None:
    found = await _version_command(ctx, args, "rollback", "rollback NAME [version]")
    if found is not None and await _may_manage(ctx, found[1]):
        name, skill, number, _ = found
        await answer(ctx, await engine(ctx).rollback(ctx.tenant, name, number, team=skill.team))


# -- schedules ---------------------------------------------------------------------------------


@router.command(
    "schedule",
    summary="get a skill's draft in your DMs every week",
    usage="schedule NAME fri 17:00 [#channel]",
)
async def schedule(ctx: Context, args: Args) -> None:
    runtime = _runtime(ctx)
    picks, words = _split_channels(args.words)
    if len(words) < 3 or runtime is None:
        await ctx.reply(
            "Use `/skill schedule NAME DAY HH:MM`, e.g. `/skill schedule weekly-report fri 17:00`."
        )
        return
    name, day, time = words[0].lower(), words[1], words[2]
    channel = _channel(ctx)
    if channel is not None and not picks:
        if channel not in await scope.own_channels(ctx.tenant, ctx.user_id) and not ctx.is_admin:
            await ctx.reply(
                f"Scheduled runs come to your direct messages, where I use only the skills of "
                f"your own channels, and I keep none of your messages here yet. Once you take "
                f"part here (`/skill optin`, then post), schedule *{name}* again."
            )
            return
        picks = (f"#{channel}",)
    # Delivered in a DM: the skill a DM of this person means, or the one of the channel named.
    found = await scope.resolve(
        ctx.tenant, name, scope.Where(ctx.user_id, None, picks, ctx.is_admin)
    )
    if found.problem or found.choices:
        await ctx.reply(
            found.problem or found.question(name, f"/skill schedule {name} {day} {time}")
        )
        return
    if found.skill is not None:
        team = found.skill.team
    elif name in BUILTIN and found.team is not None:
        team = found.team
    elif name in BUILTIN:
        await _no_team_known(ctx, name, f"/skill schedule {name} {day} {time}")
        return
    else:
        await ctx.reply(f"There is no skill `{name}` to schedule. `/skill list` shows them.")
        return
    team_channel = next(iter(scope.team_channels(team)), "")
    try:
        row = await runtime.scheduler.add(ctx.tenant, ctx.user_id, name, day, time, team_channel)
    except ScheduleError as exc:
        await ctx.reply(str(exc))
        return
    upcoming = runtime.scheduler.next_run(row)
    when = f" The next one is {upcoming:%a %d %b %H:%M} ({row.timezone})." if upcoming else ""
    for_team = f" for {found.channels_named(team)}" if team else ""
    await ctx.reply(
        f"Scheduled: I'll DM you *{name}*{for_team} every {day} at "
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
