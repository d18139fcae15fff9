from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('apprentice', '0005_person_index_and_consent_generation')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditHead',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('last_entry_id', fields.IntField()),
                ('entries', fields.IntField()),
                ('last_mac', fields.CharField(max_length=64)),
                ('reason', fields.CharField(max_length=16)),
                ('mac', fields.CharField(max_length=64)),
            ],
            options={'table': 'audit_head', 'app': 'apprentice', 'pk_attr': 'id', 'table_description': "The audit chain's end (last entry, count, its MAC), MACed: truncation no longer verifies."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ServiceKey',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32)),
                ('wrapped', fields.BinaryField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'service_keys', 'app': 'apprentice', 'pk_attr': 'name', 'table_description': 'A key for one purpose (audit chain, pseudonyms, admin cookie, checkpoint signing).'},
            bases=['Model'],
        ),
    ]
