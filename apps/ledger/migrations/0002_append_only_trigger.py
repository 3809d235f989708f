"""Install the ledger's triggers (see apps/ledger/triggers.py): the hour ledger is append-only in PostgreSQL."""
from django.db import migrations


def forward(apps, schema_editor):
    from apps.ledger import triggers

    triggers.install(schema_editor.connection)


def backward(apps, schema_editor):
    from apps.ledger import triggers

    triggers.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
