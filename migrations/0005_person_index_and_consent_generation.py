"""Index observations by person (mydata, learners and erasure read one person's rows) and add
the consent generation row that tells other processes their consent view is stale."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('apprentice', '0004_drop_workspace_wide_skill_names')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ConsentGeneration',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('value', fields.BigIntField(default=0)),
            ],
            options={'table': 'consent_generation', 'app': 'apprentice', 'pk_attr': 'id', 'table_description': 'One row, bumped by every consent answer and channel change.'},
            bases=['Model'],
        ),
        ops.RunSQL(
            "INSERT INTO consent_generation (id, value) VALUES (1, 0)",
            reverse_sql="DELETE FROM consent_generation WHERE id = 1",
        ),
        ops.AddIndex(
            model_name='Observation',
            index=Index(fields=['person_id', 'occurred_at']),
        ),
    ]
