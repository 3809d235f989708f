"""Install the audit log's triggers (see apps/auditlog/triggers.py): events are never updated nor deleted."""
from django.db import migrations


def forward(apps, schema_editor):
    from apps.auditlog import triggers

    triggers.install(schema_editor.connection)


def backward(apps, schema_editor):
    from apps.auditlog import triggers

    triggers.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("auditlog", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
