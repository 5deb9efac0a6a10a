# Written by hand on 2026-11-25: a unique uid for existing rows needs three steps, and existing
# webhook secrets are encrypted in place.

import uuid

from django.db import migrations, models

import strongroom.edge.accounts.models
import strongroom.edge.encrypted_fields
from strongroom.crypto.fields import associated_data, is_encrypted


def give_each_project_a_uid(apps, schema_editor):  # noqa: ARG001
    project_model = apps.get_model("accounts", "Project")
    for project in project_model.objects.filter(uid__isnull=True):
        project_model.objects.filter(pk=project.pk).update(uid=uuid.uuid4())


def encrypt_existing_secrets(apps, schema_editor):  # noqa: ARG001
    # Historical models don't carry EncryptedFieldsModel's behaviour: encrypt explicitly.
    cipher = strongroom.edge.encrypted_fields.field_cipher()
    project_model = apps.get_model("accounts", "Project")
    table = project_model._meta.db_table
    for pk, uid, secret in project_model.objects.values_list("pk", "uid", "webhook_secret"):
        if not is_encrypted(secret):
            sealed = cipher.encrypt(secret, associated_data(table, "webhook_secret", str(uid)))
            project_model.objects.filter(pk=pk).update(webhook_secret=sealed)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_passkeys")]

    operations = [
        migrations.AddField(
            model_name="project",
            name="uid",
            field=models.UUIDField(null=True, editable=False),
        ),
        migrations.RunPython(give_each_project_a_uid, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="project",
            name="uid",
            field=models.UUIDField(default=uuid.uuid4, unique=True, editable=False),
        ),
        migrations.AlterField(
            model_name="project",
            name="webhook_secret",
            field=strongroom.edge.encrypted_fields.EncryptedTextField(
                default=strongroom.edge.accounts.models.new_webhook_secret
            ),
        ),
        migrations.RunPython(encrypt_existing_secrets, migrations.RunPython.noop),
    ]
