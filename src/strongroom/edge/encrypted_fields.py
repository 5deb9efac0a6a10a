"""Model fields stored encrypted in any database (crypto/fields.py), for secrets and personal data.

SQLCipher already encrypts the whole embedded database; in PostgreSQL these columns hold only
ciphertext, bound to their table, column and row, so a database dump or a stolen volume doesn't
reveal them and a row can't be given another row's secret.

- Writing: `pre_save` encrypts the instance's value, so `save()` and `bulk_create()` work as usual.
  `QuerySet.update(field=...)` with plaintext is refused (no instance, no row binding): it raises
  instead of writing a secret in the clear.
- Reading: models inherit `EncryptedFieldsModel`, whose `from_db` decrypts when an instance loads.
  `values()`/`values_list()` return the ciphertext; nothing filters or sorts on these columns.
- The row binding is a field that exists before the INSERT (`ENCRYPTION_ROW_FIELD`: a random uid
  or another immutable unique value), since an auto-increment id doesn't yet.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.db import models

from strongroom.crypto.fields import FieldCipher, associated_data, is_encrypted


@cache
def _cipher(keys: tuple[bytes, ...]) -> FieldCipher:
    return FieldCipher(keys)


def field_cipher() -> FieldCipher:
    return _cipher(tuple(settings.DB_FIELD_KEYS))


def _aad(instance: models.Model, field: models.Field) -> bytes:  # type: ignore[type-arg]
    row_field = getattr(type(instance), "ENCRYPTION_ROW_FIELD", None)
    row = getattr(instance, row_field, None) if row_field else None
    if row in (None, ""):
        raise ValueError(f"{type(instance).__name__} needs ENCRYPTION_ROW_FIELD set before saving")
    return associated_data(instance._meta.db_table, field.column, str(row))


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    def pre_save(self, model_instance: models.Model, add: bool) -> Any:  # noqa: ARG002
        value = getattr(model_instance, self.attname)
        if value is None:
            return None
        return field_cipher().encrypt(str(value), _aad(model_instance, self))

    def get_db_prep_save(self, value: Any, connection: Any) -> Any:  # noqa: ARG002
        if value is not None and not is_encrypted(value):
            raise ValueError(
                f"{self.model.__name__}.{self.name} is encrypted: set it on an instance and save()"
            )
        return value


class EncryptedFieldsModel(models.Model):
    """Decrypts every EncryptedTextField as an instance is loaded."""

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Any:
        instance = super().from_db(db, field_names, values)
        cipher = field_cipher()
        for field in cls._meta.concrete_fields:
            stored = instance.__dict__.get(field.attname)
            if isinstance(field, EncryptedTextField) and stored is not None:
                plaintext = cipher.decrypt(stored, _aad(instance, field))
                instance.__dict__[field.attname] = plaintext
        return instance
