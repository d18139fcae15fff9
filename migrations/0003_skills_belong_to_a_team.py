"""Skills belong to a team: `Skill.team` (the channels it is learned from and runs for), and
a scheduled run remembers whose team's skill it runs (`SkillSchedule.channel`). The unique
keys gain the team (and the channel); 0004 drops the old ones.

The data step gives each existing skill the team of the channels its newest version learned
from (the observations named in its provenance); a skill with none of them left (imported,
taught only, or whose messages expired) stays workspace-wide ("").
"""

import uuid

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint

TEAM_MAX = 1024


def _observation_ids(provenance: object) -> list[uuid.UUID]:
    inputs = provenance.get("inputs", []) if isinstance(provenance, dict) else []
    found = []
    for value in inputs if isinstance(inputs, list) else []:
        try:
            found.append(uuid.UUID(str(value)))
        except ValueError:
            continue  # a taught example ("example:12"): it names no channel
    return found


async def give_skills_their_team(apps, schema_editor) -> None:
    Skill = apps.get_model("apprentice", "Skill")
    SkillVersion = apps.get_model("apprentice", "SkillVersion")
    Observation = apps.get_model("apprentice", "Observation")
    Channel = apps.get_model("apprentice", "Channel")
    db = schema_editor.client
    for skill in await Skill.all().using_db(db):
        rows = await SkillVersion.filter(skill_id=skill.id).using_db(db).order_by("-number")
        ids = next((found for row in rows if (found := _observation_ids(row.provenance))), [])
        if not ids:
            continue
        channel_pks = await (
            Observation.filter(id__in=ids, tenant_id=skill.tenant_id)
            .using_db(db)
            .values_list("channel_id", flat=True)
        )
        channels = await (
            Channel.filter(id__in=sorted(set(channel_pks)), tenant_id=skill.tenant_id)
            .using_db(db)
            .values_list("channel_id", flat=True)
        )
        team = ",".join(sorted({str(c) for c in channels}))
        if team and len(team) <= TEAM_MAX:
            await Skill.filter(id=skill.id).using_db(db).update(team=team)


async def make_skills_workspace_wide(apps, schema_editor) -> None:
    Skill = apps.get_model("apprentice", "Skill")
    await Skill.all().using_db(schema_editor.client).update(team="")

class Migration(migrations.Migration):
    dependencies = [('apprentice', '0002_skill_examples_and_schedules')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Skill',
            name='team',
            field=fields.CharField(default='', db_default='', max_length=1024),
        ),
        ops.AlterModelOptions(
            name='Skill',
            options={'table': 'skills', 'app': 'apprentice', 'pk_attr': 'id', 'table_description': "A team's skill: learned from, and run for, the channels of its team (skills/scope.py)."},
        ),
        ops.RunPython(give_skills_their_team, make_skills_workspace_wide),
        ops.AddConstraint(
            model_name='Skill',
            constraint=UniqueConstraint(fields=('tenant', 'name', 'team'), name=None),
        ),
        ops.AddField(
            model_name='SkillSchedule',
            name='channel',
            field=fields.CharField(default='', db_default='', max_length=128),
        ),
        ops.AddConstraint(
            model_name='SkillSchedule',
            constraint=UniqueConstraint(fields=('tenant', 'user_id', 'skill_name', 'channel'), name=None),
        ),
    ]
