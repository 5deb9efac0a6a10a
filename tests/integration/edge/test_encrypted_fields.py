"""Encrypted columns in the real database (SQLCipher or PostgreSQL): only ciphertext is stored,
a value moved to another row doesn't decrypt, and plaintext can't be written around save()."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from strongroom.crypto.fields import FieldDecryptionError
from strongroom.edge.accounts.models import Project
from strongroom.edge.accounts.services import ensure_project

pytestmark = pytest.mark.django_db


def raw_secret(project: Project) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT webhook_secret FROM accounts_project WHERE id = %s", [project.pk])
        return cursor.fetchone()[0]


def test_only_ciphertext_is_stored_and_instances_read_plaintext():
    project = ensure_project("Acme", "Films")
    assert project.webhook_secret.startswith("whsec_")
    stored = raw_secret(project)
    assert stored.startswith("sr1.") and project.webhook_secret not in stored
    assert Project.objects.get(pk=project.pk).webhook_secret == project.webhook_secret


def test_changing_the_secret_through_save_stores_new_ciphertext():
    project = ensure_project("Acme", "Films")
    before = raw_secret(project)
    project.webhook_secret = "whsec_" + "A" * 44
    project.save()
    assert raw_secret(project) != before
    assert Project.objects.get(pk=project.pk).webhook_secret == "whsec_" + "A" * 44


def test_a_secret_copied_into_another_row_does_not_decrypt():
    first, second = ensure_project("Acme", "Films"), ensure_project("Acme", "Ads")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_project SET webhook_secret = %s WHERE id = %s",
            [raw_secret(first), second.pk],
        )
    with pytest.raises(FieldDecryptionError):
        Project.objects.get(pk=second.pk)


def test_plaintext_cannot_be_written_with_update():
    project = ensure_project("Acme", "Films")
    with pytest.raises(ValueError, match="encrypted"), transaction.atomic():
        Project.objects.filter(pk=project.pk).update(webhook_secret="whsec_plain")
    assert raw_secret(project).startswith("sr1.")
