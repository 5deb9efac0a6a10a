"""Append-only, hash-chained security events."""

from __future__ import annotations

from django.db import models

from strongroom.edge.encrypted_fields import EncryptedFieldsModel, EncryptedTextField


class AuditEvent(models.Model):
    seq = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField()
    action = models.CharField(max_length=80)
    actor_type = models.CharField(max_length=16)
    actor = models.CharField(max_length=120)
    target = models.CharField(max_length=200, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    # The organization the event concerns, so its owners and admins can read it in the console
    # (null: a platform event, for operators only). A plain id: events outlive organizations.
    organization_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)


class VulnerabilityReport(EncryptedFieldsModel):
    """A report sent through the security front door; its words are stored only as ciphertext."""

    ENCRYPTION_ROW_FIELD = "reference"

    reference = models.CharField(max_length=32, unique=True)
    received_at = models.DateTimeField(auto_now_add=True)
    contact = EncryptedTextField(blank=True, default="")  # at most 320 characters (the form)
    summary = EncryptedTextField()  # at most 200
    details = EncryptedTextField()


class ActorKind(models.TextChoices):
    """Who a request acted as, once a surface authenticated it (empty: nobody)."""

    NONE = "", "anonymous"
    USER = "user", "user"
    API_KEY = "api_key", "API key"
    WORKER = "worker", "worker"


class RequestLog(models.Model):
    """One row per HTTP request (the request log), kept for STRONGROOM_REQUEST_LOG_DAYS.

    Never holds a secret: no query string (signed URLs carry signatures there), no bodies, no
    headers but the user agent, and capability tokens inside paths are redacted before storage.
    Indexes pair each filter with the time, so "newest matching first" reads an index backwards.
    """

    id = models.BigAutoField(primary_key=True)
    started_at = models.DateTimeField()
    request_id = models.CharField(max_length=32)
    method = models.CharField(max_length=10)
    route = models.CharField(max_length=200)  # a template (/v1/status, stream:tus), never a path
    path = models.CharField(max_length=500)  # redacted, without the query string
    status = models.PositiveSmallIntegerField()  # 499: the client left before the answer
    duration_ms = models.FloatField()
    bytes_in = models.BigIntegerField(default=0)
    bytes_out = models.BigIntegerField(default=0)
    actor_kind = models.CharField(
        max_length=16, choices=ActorKind.choices, default=ActorKind.NONE, blank=True
    )
    actor_id = models.CharField(max_length=64, blank=True, default="")
    # A plain number, not a foreign key: log rows outlive organisations and never lock them.
    organization_id = models.BigIntegerField(null=True, blank=True)
    address = models.CharField(max_length=64, blank=True, default="")
    user_agent = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["started_at", "id"], name="reqlog_time"),
            models.Index(fields=["request_id"], name="reqlog_request_id"),
            models.Index(fields=["status", "started_at", "id"], name="reqlog_status_time"),
            models.Index(fields=["route", "started_at", "id"], name="reqlog_route_time"),
            models.Index(fields=["actor_id", "started_at", "id"], name="reqlog_actor_time"),
            models.Index(fields=["address", "started_at", "id"], name="reqlog_address_time"),
            models.Index(fields=["organization_id", "started_at", "id"], name="reqlog_org_time"),
        ]
