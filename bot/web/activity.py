"""The admin Activity page: observations per day per channel, consent answers over time and
skill runs per skill, as charts drawn on the server. Counts only; scoped to one workspace."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.storage.models import Channel, ConsentEvent, Observation, Skill, SkillVersion, Tenant
from bot.web.admin_render import paragraph
from bot.web.svg_charts import horizontal_bars, stacked_bars

DAYS = 30
ACTIONS = ("grant", "withdraw", "decline")


@dataclass(frozen=True, slots=True)
class Activity:
    days: list[str]
    observations: dict[str, list[int]]  # channel name -> per day
    consent: dict[str, list[int]]  # grant / withdraw / decline -> per day
    runs: list[tuple[str, int]]  # skill (and team) -> runs of all its versions


def _day(moment: datetime) -> date:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).date()


async def load_activity(tenant: Tenant, today: date | None = None) -> Activity:
    last = today or datetime.now(UTC).date()
    days = [last - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    index = {d: i for i, d in enumerate(days)}
    since = datetime.combine(days[0], datetime.min.time(), UTC)
    rows = await Channel.filter(tenant=tenant).values_list("id", "channel_id", "name")
    names = {cid: name or channel_id for cid, channel_id, name in rows}
    by_channel = {channel_id: name or channel_id for _, channel_id, name in rows}
    observed: dict[str, list[int]] = defaultdict(lambda: [0] * DAYS)
    for channel_id, moment in await Observation.filter(
        tenant=tenant, occurred_at__gte=since
    ).values_list("channel_id", "occurred_at"):
        if (i := index.get(_day(moment))) is not None:
            observed["#" + names.get(channel_id, str(channel_id))][i] += 1
    consent = {action: [0] * DAYS for action in ACTIONS}
    for action, moment in await ConsentEvent.filter(
        tenant=tenant, occurred_at__gte=since
    ).values_list("action", "occurred_at"):
        if action in consent and (i := index.get(_day(moment))) is not None:
            consent[action][i] += 1
    runs: dict[str, int] = defaultdict(int)
    skills = {s.id: s for s in await Skill.filter(tenant=tenant)}
    for skill_id, count in await SkillVersion.filter(skill_id__in=list(skills)).values_list(
        "skill_id", "run_count"
    ):
        skill = skills[skill_id]
        team = ", ".join(f"#{by_channel.get(c, c)}" for c in skill.team.split(",") if c)
        label = skill.name + (f" ({team})" if team else "")
        runs[label] += count
    return Activity(
        [d.isoformat() for d in days], dict(sorted(observed.items())), consent, list(runs.items())
    )


def activity_body(activity: Activity) -> str:
    return "".join(
        [
            "<h1>Activity</h1>",
            paragraph(f"The last {DAYS} days (UTC), in counts: nothing here holds anyone's words."),
            '<div class="charts">',
            stacked_bars("Messages kept per day, by channel", activity.days, activity.observations),
            stacked_bars("Consent answers per day", activity.days, activity.consent),
            horizontal_bars("Skill runs per skill (all versions)", activity.runs),
            "</div>",
        ]
    )
