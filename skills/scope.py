"""Which team's skill a command means — one place for chat, the CLI and the scheduler.

A skill belongs to a team: the platform channels it was learned from and runs for
(`Skill.team`, their sorted ids comma-joined; "" is workspace-wide, e.g. an imported skill).
One team's skill never runs for another team. The rules:

- typed in a channel: the skill whose team holds that channel;
- in a DM: the skill of the requester's own teams (the observed channels where they have
  consented messages); when several teams have one, the reply asks which, naming their
  channels; an admin with no team of their own gets every team's;
- `#a #b` after the name picks the team of those channels (how a DM answers "which?", and
  how `learn NAME #a #b` learns for them) — only the requester's own channels or the one
  typed in, unless they are an admin, so no team's skill shows in another team's chat;
- when no team skill matches, a workspace-wide skill of that name does; else nothing does,
  and `team` says which team a new one would be learned for (None when that is not clear).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bot.mentions import channel_ref
from bot.storage.models import Channel, Observation, Skill, Tenant

WORKSPACE = ""  # the team of a workspace-wide skill


def team_key(channel_ids: Iterable[str]) -> str:
    return ",".join(sorted({c for c in channel_ids if c}))


def team_channels(team: str) -> list[str]:
    return [c for c in team.split(",") if c]


@dataclass(frozen=True, slots=True)
class Where:
    """Who asks, and where: a channel (its platform id) or a DM (None), with `#picks`."""

    requester: str | None
    channel: str | None = None
    picks: tuple[str, ...] = ()  # channel references as typed: `#checkout`, `<#C1|x>`, `C1`
    is_admin: bool = False


@dataclass(slots=True)
class Resolved:
    skill: Skill | None = None  # the one skill the command means
    team: str | None = None  # the team a new skill would belong to (None: not clear)
    choices: list[Skill] = field(default_factory=list)  # several teams have one: ask which
    problem: str = ""  # a sentence saying what to do instead (unknown or foreign #channel)
    names: dict[str, str] = field(default_factory=dict)  # channel id -> name, for replies

    def channels_named(self, team: str) -> str:
        """`#checkout, #payments` (or "the whole workspace")."""
        ids = team_channels(team)
        return ", ".join(f"#{self.names.get(c, c)}" for c in ids) or "the whole workspace"

    def question(self, name: str, command: str) -> str:
        """The reply when several teams have `name`: which one, and how to say it."""
        teams = "; ".join(self.channels_named(s.team) for s in self.choices)
        first = team_channels(self.choices[0].team)[0] if self.choices else "channel"
        return (
            f"Several teams have a *{name}* skill: {teams}. Which one? Type it again with a "
            f"channel of that team, e.g. `{command} #{self.names.get(first, first)}`, or "
            "type the command in that team's channel."
        )


async def channel_names(tenant: Tenant) -> dict[str, str]:
    rows = await Channel.filter(tenant=tenant).values_list("channel_id", "name")
    return {str(i): str(n or i) for i, n in rows}


async def own_channels(tenant: Tenant, user_id: str | None) -> set[str]:
    """The requester's teams: observed channels where they have messages kept (only people
    who consented have any)."""
    if not user_id:
        return set()
    rows = await (
        Observation.filter(tenant=tenant, person__user_id=user_id, channel__observed=True)
        .distinct()
        .values_list("channel__channel_id", flat=True)
    )
    return {str(r) for r in rows}


async def find_channels(tenant: Tenant, refs: Sequence[str]) -> tuple[list[str], list[str]]:
    """The channel ids these references name (by id or name), and those that name none."""
    rows = await Channel.filter(tenant=tenant).values_list("channel_id", "name")
    by_id = {str(i): str(i) for i, _ in rows}
    by_name = {str(n).lower(): str(i) for i, n in rows if n}
    found: list[str] = []
    unknown: list[str] = []
    for ref in refs:
        key = channel_ref(ref)
        hit = by_id.get(key) or by_name.get(key.lower())
        if hit:
            found.append(hit)
        else:
            unknown.append(key or ref)
    return found, unknown


def is_channel_word(word: str) -> bool:
    return word.startswith("<#") or (word.startswith("#") and bool(channel_ref(word)))


async def leading_channels(tenant: Tenant, words: Sequence[str]) -> int:
    """How many of `words` (those after a skill's name) are `#channel`s of this workspace —
    for commands whose next words may be pasted text (`#include` is no channel)."""
    count = 0
    for word in words:
        if not is_channel_word(word):
            break
        found, _ = await find_channels(tenant, [word])
        if not found:
            break
        count += 1
    return count


async def resolve(tenant: Tenant, name: str, where: Where) -> Resolved:
    """The skill `name` means for this requester here (see the module's rules)."""
    names = await channel_names(tenant)
    done = Resolved(names=names)
    skills = await Skill.filter(tenant=tenant, name=name).order_by("team")
    if where.picks:
        ids, unknown = await find_channels(tenant, where.picks)
        if unknown:
            done.problem = (
                f"I don't know {', '.join('#' + u for u in unknown)} in this workspace. "
                "Check the name; `/skill list` shows the skills of your channels."
            )
            return done
        if not where.is_admin:
            mine = await own_channels(tenant, where.requester) | {where.channel or ""}
            foreign = [c for c in ids if c not in mine]
            if foreign:
                named = ", ".join(f"#{names.get(c, c)}" for c in foreign)
                done.problem = (
                    f"{named} is not one of your channels (yours are the observed channels "
                    "where I keep your messages), so I won't use that team's skill here. "
                    "Type the command in that channel instead."
                )
                return done
        scope, done.team = set(ids), team_key(ids)
    elif where.channel is not None:
        scope, done.team = {where.channel}, where.channel
    else:
        scope = await own_channels(tenant, where.requester)
        done.team = next(iter(scope)) if len(scope) == 1 else None
    matching = [s for s in skills if s.team and set(team_channels(s.team)) & scope]
    if not matching and not where.picks and where.channel is None and where.is_admin:
        matching = [s for s in skills if s.team]  # an admin with no team of their own
    if len(matching) == 1:
        done.skill = matching[0]
    elif matching:
        done.choices = matching
    else:
        done.skill = next((s for s in skills if s.team == WORKSPACE), None)
    return done


async def visible_skills(tenant: Tenant, where: Where) -> list[Skill]:
    """`/skill list`: the skills of this channel, or in a DM of the requester's teams (an
    admin sees every team's), and the workspace-wide ones."""
    if where.channel is not None:
        scope = {where.channel}
    else:
        scope = await own_channels(tenant, where.requester)
    found = []
    for skill in await Skill.filter(tenant=tenant).order_by("name", "team"):
        team = set(team_channels(skill.team))
        if not team or team & scope or (where.channel is None and where.is_admin):
            found.append(skill)
    return found
