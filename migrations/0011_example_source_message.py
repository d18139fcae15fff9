"""A taught example copied from a thread remembers the message it copies.

So a platform delete of that message (Slack message_deleted, a Lark recall, …) removes the
copy too, as it removes the observation.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('apprentice', '0010_web_sign_in')]

    initial = False

    operations = [
        ops.AddField(
            model_name='SkillExample',
            name='source_message_id',
            field=fields.CharField(max_length=128, null=True, db_index=True),
        ),
    ]
