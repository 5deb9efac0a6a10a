"""Append-only, hash-chained security events."""

from __future__ import annotations

from django.db import models


class AuditEvent(models.Model):
    seq = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField()
    action = models.CharField(max_length=80)
    actor_type = models.CharField(max_length=16)
    actor = models.CharField(max_length=120)
    target = models.CharField(max_length=200, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)


class VulnerabilityReport(models.Model):
    """A report sent through the security front door (encrypted at rest with the database)."""

    reference = models.CharField(max_length=32, unique=True)
    received_at = models.DateTimeField(auto_now_add=True)
    contact = models.CharField(max_length=320, blank=True, default="")
    summary = models.CharField(max_length=200)
    details = models.TextField()
