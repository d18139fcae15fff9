from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('apprentice', '0007_typed_consent_answers')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EmailLink',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('apprentice.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name='email_links', on_delete=OnDelete.CASCADE)),
                ('person', fields.ForeignKeyField('apprentice.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='email_links', on_delete=OnDelete.CASCADE)),
                ('address_hmac', fields.CharField(max_length=64)),
                ('ciphertext', fields.BinaryField()),
                ('mechanism', fields.CharField(max_length=64)),
                ('mechanism_ref', fields.CharField(max_length=200)),
                ('confirmed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'email_links', 'app': 'apprentice', 'unique_together': (('tenant', 'address_hmac'),), 'pk_attr': 'id', 'table_description': 'An e-mail address a person confirmed is theirs, so `import mail` can find their mail.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ImportedUnit',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=64)),
                ('source', fields.CharField(max_length=32)),
                ('imported_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'imported_units', 'app': 'apprentice', 'pk_attr': 'id', 'table_description': 'A piece of an import source (a Slack day file, a run of JSONL lines, one mail) read in'},
            bases=['Model'],
        ),
    ]
