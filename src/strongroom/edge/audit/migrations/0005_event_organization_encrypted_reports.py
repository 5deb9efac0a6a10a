# Written by hand on 2026-11-25. SQLite adds a column by rebuilding the table, which drops its
# triggers, so the append-only triggers are removed first and installed again at the end.

from django.conf import settings
from django.db import migrations, models

import strongroom.edge.encrypted_fields
from strongroom.crypto.fields import associated_data, is_encrypted
from strongroom.edge.audit import append_only


def drop_triggers(apps, schema_editor):  # noqa: ARG001
    append_only.remove(schema_editor.connection)


def install_triggers(apps, schema_editor):  # noqa: ARG001
    if getattr(settings, "AUDIT_DB_TRIGGERS", True):  # as in 0002: test databases skip them
        append_only.install(schema_editor.connection)


def encrypt_existing_reports(apps, schema_editor):  # noqa: ARG001
    # Historical models lack EncryptedFieldsModel's behaviour: encrypt explicitly.
    cipher = strongroom.edge.encrypted_fields.field_cipher()
    report_model = apps.get_model("audit", "VulnerabilityReport")
    table = report_model._meta.db_table
    columns = ("contact", "summary", "details")
    for row in report_model.objects.values("pk", "reference", *columns):
        sealed = {
            column: cipher.encrypt(row[column], associated_data(table, column, row["reference"]))
            for column in columns
            if not is_encrypted(row[column])
        }
        if sealed:
            report_model.objects.filter(pk=row["pk"]).update(**sealed)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_request_log")]

    operations = [
        migrations.RunPython(drop_triggers, install_triggers),
        migrations.AddField(
            model_name="auditevent",
            name="organization_id",
            field=models.BigIntegerField(blank=True, db_index=True, null=True),
        ),
        migrations.RunPython(install_triggers, drop_triggers),
        migrations.AlterField(
            model_name="vulnerabilityreport",
            name="contact",
            field=strongroom.edge.encrypted_fields.EncryptedTextField(blank=True, default=""),
        ),
        migrations.AlterField(
            model_name="vulnerabilityreport",
            name="summary",
            field=strongroom.edge.encrypted_fields.EncryptedTextField(),
        ),
        migrations.AlterField(
            model_name="vulnerabilityreport",
            name="details",
            field=strongroom.edge.encrypted_fields.EncryptedTextField(),
        ),
        migrations.RunPython(encrypt_existing_reports, migrations.RunPython.noop),
    ]
