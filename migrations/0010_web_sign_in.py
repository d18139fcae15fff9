from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('apprentice', '0009_scheduled_run_claims')]

    initial = False

    operations = [
        ops.CreateModel(
            name='WebLink',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('kind', fields.CharField(max_length=16)),
                ('tenant', fields.ForeignKeyField('apprentice.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name='web_links', on_delete=OnDelete.CASCADE)),
                ('user_id', fields.CharField(max_length=128)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'web_links', 'app': 'apprentice', 'pk_attr': 'id', 'table_description': 'A one-time sign-in link to the web pages (bot/web/signin.py): only its hash is kept.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebSession',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('kind', fields.CharField(max_length=16)),
                ('tenant', fields.ForeignKeyField('apprentice.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name='web_sessions', on_delete=OnDelete.CASCADE)),
                ('user_id', fields.CharField(max_length=128)),
                ('csrf', fields.CharField(max_length=64)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'web_sessions', 'app': 'apprentice', 'pk_attr': 'id', 'table_description': 'A signed-in browser: the cookie holds a random token, this row only its hash.'},
            bases=['Model'],
        ),
    ]
