"""Install the title-level triggers too (see apps/ledger/triggers.py); both migrations install the full set."""
from django.db import migrations


def forward(apps, schema_editor):
    from apps.ledger import triggers

    triggers.install(schema_editor.connection)


def backward(apps, schema_editor):
    from apps.ledger import triggers

    triggers.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0002_append_only_trigger"),
        ("personnel", "0002_constraint_messages"),
        ("catalog", "0001_initial"),
    ]
    operations = [migrations.RunPython(forward, backward)]
