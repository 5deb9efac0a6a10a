"""Make the audit table append-only inside the database (see strongroom.edge.audit.append_only).

Test databases skip it (settings.AUDIT_DB_TRIGGERS = False): the test runner empties every table
between tests, which the triggers would refuse; tests install them explicitly where they check
them.
"""

from django.conf import settings
from django.db import migrations

from strongroom.edge.audit import append_only


def install(apps, schema_editor):  # noqa: ARG001
    if getattr(settings, "AUDIT_DB_TRIGGERS", True):
        append_only.install(schema_editor.connection)


def remove(apps, schema_editor):  # noqa: ARG001
    append_only.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
