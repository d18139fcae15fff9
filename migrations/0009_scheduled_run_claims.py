from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('apprentice', '0008_email_links_and_imported_units')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ScheduledRunClaim',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slot', fields.CharField(unique=True, max_length=128)),
                ('claimed_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'scheduled_run_claims', 'app': 'apprentice', 'pk_attr': 'id', 'table_description': 'One scheduled run slot (`schedule-<id>-<time>`), claimed by the scheduler that runs it:'},
            bases=['Model'],
        ),
    ]
