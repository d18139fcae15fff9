from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('apprentice', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SkillExample',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('skill', fields.ForeignKeyField('apprentice.Skill', source_field='skill_id', db_constraint=True, to_field='id', related_name='examples', on_delete=OnDelete.CASCADE)),
                ('person', fields.ForeignKeyField('apprentice.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='skill_examples', on_delete=OnDelete.CASCADE)),
                ('ciphertext', fields.BinaryField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'skill_examples', 'app': 'apprentice', 'pk_attr': 'id', 'table_description': 'An example someone marked with `/skill teach NAME`: redacted, under their own key.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SkillSchedule',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('apprentice.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name='skill_schedules', on_delete=OnDelete.CASCADE)),
                ('user_id', fields.CharField(max_length=128)),
                ('skill_name', fields.CharField(max_length=64)),
                ('day_of_week', fields.CharField(max_length=16)),
                ('hour', fields.IntField()),
                ('minute', fields.IntField()),
                ('timezone', fields.CharField(default='UTC', max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'skill_schedules', 'app': 'apprentice', 'unique_together': (('tenant', 'user_id', 'skill_name'),), 'pk_attr': 'id', 'table_description': '`/skill schedule NAME fri 17:00`: re-registered with the scheduler at every start.'},
            bases=['Model'],
        ),
    ]
