from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant_key', fields.CharField(db_index=True, max_length=200)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('action', fields.CharField(max_length=64)),
                ('actor', fields.CharField(max_length=32)),
                ('subject', fields.CharField(null=True, max_length=32)),
                ('detail', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('prev_mac', fields.CharField(max_length=64)),
                ('mac', fields.CharField(max_length=64)),
            ],
            options={'table': 'audit_entries', 'app': 'apprentice', 'pk_attr': 'id', 'table_description': 'Tamper-evident (HMAC chain) and content-free: pseudonymous ids, no message text.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Tenant',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('platform', fields.CharField(max_length=32)),
                ('external_id', fields.CharField(max_length=128)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'tenants', 'app': 'apprentice', 'unique_together': (('platform', 'external_id'),), 'pk_attr': 'id', 'table_description': 'A workspace on one platform: a Slack team, a Lark tenant, a DingTalk corp, the console.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Channel',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('apprentice.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name='channels', on_delete=OnDelete.CASCADE)),
                ('channel_id', fields.CharField(max_length=128)),
                ('name', fields.CharField(default='', max_length=200)),
                ('observed', fields.BooleanField(default=False)),
                ('approved_by', fields.CharField(null=True, max_length=128)),
                ('approved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('notice_message_id', fields.CharField(null=True, max_length=128)),
            ],
            options={'table': 'channels', 'app': 'apprentice', 'unique_together': (('tenant', 'channel_id'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ConsentEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('apprentice.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name='consent_events', on_delete=OnDelete.CASCADE)),
                ('user_id', fields.CharField(db_index=True, max_length=128)),
                ('action', fields.CharField(max_length=16)),
                ('purpose', fields.CharField(max_length=32)),
                ('channels', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('notice_version', fields.CharField(max_length=32)),
                ('notice_sha256', fields.CharField(max_length=64)),
                ('language', fields.CharField(max_length=16)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('mechanism', fields.CharField(max_length=64)),
                ('mechanism_ref', fields.CharField(max_length=200)),
                ('by_admin', fields.CharField(null=True, max_length=128)),
            ],
            options={'table': 'consent_events', 'app': 'apprentice', 'pk_attr': 'id', 'table_description': 'Append-only: a grant or a withdrawal, with everything needed to demonstrate it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ConsentPrompt',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('apprentice.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name='consent_prompts', on_delete=OnDelete.CASCADE)),
                ('user_id', fields.CharField(max_length=128)),
                ('purpose', fields.CharField(max_length=32)),
                ('notice_version', fields.CharField(max_length=32)),
                ('sent_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'consent_prompts', 'app': 'apprentice', 'unique_together': (('tenant', 'user_id', 'purpose', 'notice_version'),), 'pk_attr': 'id', 'table_description': 'That we asked someone, so the unprompted DM is sent once per notice version.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Person',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('apprentice.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name='people', on_delete=OnDelete.CASCADE)),
                ('user_id', fields.CharField(max_length=128)),
                ('display_name', fields.CharField(default='', max_length=200)),
                ('locale', fields.CharField(null=True, max_length=16)),
                ('wrapped_key', fields.BinaryField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'people', 'app': 'apprentice', 'unique_together': (('tenant', 'user_id'),), 'pk_attr': 'id', 'table_description': 'Someone who opted in at least once. Deleting the row destroys their data key.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Observation',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('apprentice.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name='observations', on_delete=OnDelete.CASCADE)),
                ('person', fields.ForeignKeyField('apprentice.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='observations', on_delete=OnDelete.CASCADE)),
                ('channel', fields.ForeignKeyField('apprentice.Channel', source_field='channel_id', db_constraint=True, to_field='id', related_name='observations', on_delete=OnDelete.CASCADE)),
                ('message_id', fields.CharField(max_length=128)),
                ('thread_id', fields.CharField(null=True, max_length=128)),
                ('occurred_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('ciphertext', fields.BinaryField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'observations', 'app': 'apprentice', 'unique_together': (('tenant', 'message_id'),), 'pk_attr': 'id', 'table_description': "One consented, redacted message, encrypted under its author's data key."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Skill',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('apprentice.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name='skills', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=64)),
                ('kind', fields.CharField(max_length=32)),
                ('description', fields.CharField(default='', max_length=1024)),
                ('owner_user_id', fields.CharField(null=True, max_length=128)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'skills', 'app': 'apprentice', 'unique_together': (('tenant', 'name'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SkillVersion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('skill', fields.ForeignKeyField('apprentice.Skill', source_field='skill_id', db_constraint=True, to_field='id', related_name='versions', on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField()),
                ('status', fields.CharField(default='draft', max_length=16)),
                ('artifact', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('provenance', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('run_count', fields.IntField(default=0)),
                ('created_by', fields.CharField(null=True, max_length=128)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'skill_versions', 'app': 'apprentice', 'unique_together': (('skill', 'number'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SkillContribution',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('version', fields.ForeignKeyField('apprentice.SkillVersion', source_field='version_id', db_constraint=True, to_field='id', related_name='contributions', on_delete=OnDelete.CASCADE)),
                ('person', fields.ForeignKeyField('apprentice.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='contributions', on_delete=OnDelete.CASCADE)),
                ('observations', fields.IntField(default=0)),
            ],
            options={'table': 'skill_contributions', 'app': 'apprentice', 'unique_together': (('version', 'person'),), 'pk_attr': 'id', 'table_description': 'Who a skill version learned from: erasing the person deletes the row and rebuilds.'},
            bases=['Model'],
        ),
    ]
