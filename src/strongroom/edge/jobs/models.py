"""Tasks (Qencode's unit of work), their outputs, the work items workers lease, uploads, workers."""

from __future__ import annotations

import uuid

from django.db import models

from strongroom.edge.accounts.models import ApiKey, Project
from strongroom.edge.encrypted_fields import EncryptedFieldsModel, EncryptedTextField
from strongroom.edge.jobs.states import TaskStatus, WorkItemStatus


class Task(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    # The key whose access token created the task: its scopes decide what the task token may do
    # (e.g. receive tus uploads). Null for tasks made by the console or the CLI.
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    token = models.CharField(max_length=32, unique=True)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.CREATED)
    percent = models.FloatField(default=0.0)
    error_description = models.TextField(blank=True, default="")
    payload = models.TextField(blank=True, default="")
    spec = models.JSONField(null=True, blank=True)  # strongroom.media.jobspec.JobSpec as JSON
    warnings = models.JSONField(default=list, blank=True)
    source_size = models.BigIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["project", "created_at"])]

    def __str__(self) -> str:
        return self.token


class Output(models.Model):
    """One `format[]` entry of a task; its files live under `storage_prefix` (encrypted)."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="outputs")
    index = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=32)
    user_tag = models.CharField(max_length=255, blank=True, default="")
    main_file = models.CharField(max_length=255, blank=True, default="")
    files = models.JSONField(default=list, blank=True)  # [{"path", "size", "sha256"}]
    report = models.JSONField(
        default=dict, blank=True
    )  # duration, bitrate, width, height, renditions

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task", "index"], name="output_index_per_task")
        ]
        ordering = ["index"]

    @property
    def storage_prefix(self) -> str:
        return f"tasks/{self.task.token}/out{self.index}/"


class Worker(models.Model):
    worker_id = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    labels = models.JSONField(default=list, blank=True)
    public_key = models.CharField(max_length=64)
    version = models.CharField(max_length=40, blank=True, default="")
    enrolled_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)


class WorkItem(models.Model):
    """What a worker leases: a whole task for now (a segment of one later)."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="work_items")
    status = models.CharField(
        max_length=16, choices=WorkItemStatus.choices, default=WorkItemStatus.QUEUED
    )
    priority = models.SmallIntegerField(default=0)
    required_labels = models.JSONField(default=list, blank=True)  # worker labels the job needs
    attempts = models.PositiveSmallIntegerField(default=0)  # also the fencing token
    max_attempts = models.PositiveSmallIntegerField(default=3)
    lease_id = models.CharField(max_length=40, null=True, blank=True, unique=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    worker = models.ForeignKey(Worker, on_delete=models.SET_NULL, null=True, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "priority", "created_at"]),
            models.Index(fields=["status", "lease_expires_at"]),
        ]


class Upload(models.Model):
    """A tus upload; its bytes are stored as encrypted parts listed in `parts`."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="uploads")
    uuid = models.CharField(max_length=32, unique=True)
    length = models.BigIntegerField()
    offset = models.BigIntegerField(default=0)
    parts = models.JSONField(default=list, blank=True)  # [{"key", "offset", "size", "sha256"}]
    sha256 = models.CharField(max_length=64, blank=True, default="")  # set once complete
    created_at = models.DateTimeField(auto_now_add=True)

    @property
    def complete(self) -> bool:
        return self.offset == self.length and bool(self.sha256)

    @property
    def storage_prefix(self) -> str:
        return f"uploads/{self.uuid}/"


class JoinToken(models.Model):
    digest = models.CharField(max_length=64, unique=True)
    labels = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    worker = models.ForeignKey(Worker, on_delete=models.SET_NULL, null=True, blank=True)


class SeenNonce(models.Model):
    """The replay cache for signed worker requests (shared by every edge process)."""

    key_id = models.CharField(max_length=40)
    nonce = models.CharField(max_length=64)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key_id", "nonce"], name="nonce_once_per_key")
        ]


class StoredFile(models.Model):
    """A file a worker uploaded for an output under one lease; checked again at completion."""

    work_item = models.ForeignKey(WorkItem, on_delete=models.CASCADE, related_name="stored_files")
    lease_id = models.CharField(max_length=40)
    output_index = models.PositiveSmallIntegerField()
    path = models.CharField(max_length=255)
    key = models.CharField(max_length=512)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["lease_id", "output_index", "path"], name="one_file_per_path_per_lease"
            )
        ]


class RotationStatus(models.TextChoices):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class KeyRotation(models.Model):
    """One `strongroom keys rotate`: every object's data key re-wrapped under `target_key_id`.

    The background job walks the object keys in sorted order and saves `cursor` (the last key
    done) after every batch, so an interrupted rotation resumes where it stopped, and doing a
    batch twice is harmless (objects already on the target key are skipped)."""

    status = models.CharField(
        max_length=16, choices=RotationStatus.choices, default=RotationStatus.RUNNING
    )
    provider = models.CharField(max_length=16)  # strongroom.crypto.providers.KekKind
    previous_key_id = models.CharField(max_length=255)
    target_key_id = models.CharField(max_length=255)
    total = models.PositiveIntegerField(default=0)  # objects found when the walk started
    done = models.PositiveIntegerField(default=0)  # objects looked at so far
    rewrapped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)  # objects left as they were (see last_error)
    cursor = models.CharField(max_length=512, blank=True, default="")
    last_error = models.TextField(blank=True, default="")  # names object and key id, no secrets
    started_by = models.CharField(max_length=255, blank=True, default="")
    # Whoever runs a slice of the walk (the background job, or `keys rotate --wait`) claims it
    # until this time, so two runners never count the same objects twice.
    claimed_until = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="running"),
                name="one_running_key_rotation",
            )
        ]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Destination(EncryptedFieldsModel):
    """One bucket an output's files are copied to (Qencode's ``format[].destination``).

    The non-secret parts repeat the task's spec so the copy needs nothing else. The access key
    and secret are stored only as ciphertext bound to this row, and erased once the copy has
    succeeded or finally failed: they are needed for nothing after that."""

    ENCRYPTION_ROW_FIELD = "uid"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="destinations")
    output_index = models.PositiveSmallIntegerField()
    position = models.PositiveSmallIntegerField()  # order within the output's destination list
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    url = models.CharField(max_length=2048)  # s3://host/bucket/key, no credentials
    endpoint = models.CharField(max_length=300, blank=True, default="")  # as used for the copy
    permissions = models.CharField(max_length=32, blank=True, default="")
    cache_control = models.CharField(max_length=256, blank=True, default="")
    storage_class = models.CharField(max_length=32, blank=True, default="")
    access_key = EncryptedTextField(null=True, blank=True)
    secret_key = EncryptedTextField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")  # names bucket and key, no secrets
    updated_at = models.DateTimeField(auto_now=True)  # touched as each attempt starts and ends

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["task", "output_index", "position"], name="one_destination_per_position"
            )
        ]
        ordering = ["output_index", "position"]
