"""/metrics (token-protected) carries refusals by reason and task run times."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from strongroom.edge.audit.services import record_refusal_once_a_minute
from strongroom.edge.jobs.models import Task
from strongroom.edge.jobs.services import tasks as task_service
from strongroom.edge.jobs.states import TaskStatus

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-for-tests-0123456789"


def scrape(client, settings) -> str:
    settings.METRICS_TOKEN = TOKEN
    answer = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert answer.status_code == 200
    return answer.content.decode()


def test_every_refusal_is_counted_even_when_audited_once(client, settings):
    for _ in range(3):
        record_refusal_once_a_minute(
            action="worker.refused", actor="wrk_x", target="/internal/worker/claim", reason="replay"
        )
    text = scrape(client, settings)
    line = next(
        line
        for line in text.splitlines()
        if line.startswith("strongroom_refusals_total") and 'reason="replay"' in line
    )
    assert float(line.rsplit(" ", 1)[1]) >= 3


def test_task_durations_over_the_last_hour(client, settings, project):
    now = timezone.now()
    for seconds in (10, 20, 30, 40):
        task = task_service.create_task(project)
        Task.objects.filter(pk=task.pk).update(
            status=TaskStatus.COMPLETED,
            started_at=now - timedelta(seconds=seconds),
            finished_at=now,
        )
    text = scrape(client, settings)
    assert 'strongroom_task_duration_seconds{quantile="count"} 4.0' in text
    assert 'strongroom_task_duration_seconds{quantile="0.5"} 30.0' in text


def test_no_token_no_metrics(client, settings):
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
