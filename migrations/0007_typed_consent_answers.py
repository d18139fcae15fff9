"""A consent prompt remembers the language, scope and message it was shown with, so a typed answer
(`/skill optin yes`, 同意) records exactly the notice the person read."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('apprentice', '0006_service_keys_and_audit_head')]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name='ConsentPrompt',
            options={'table': 'consent_prompts', 'app': 'apprentice', 'unique_together': (('tenant', 'user_id', 'purpose', 'notice_version'),), 'pk_attr': 'id', 'table_description': 'That we showed someone a notice: the unprompted DM is sent once per notice version,'},
        ),
        ops.AddField(
            model_name='ConsentPrompt',
            name='channels',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='ConsentPrompt',
            name='message_ref',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.AddField(
            model_name='ConsentPrompt',
            name='language',
            field=fields.CharField(null=True, max_length=16),
        ),
    ]
