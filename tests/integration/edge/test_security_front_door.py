"""security.txt (RFC 9116), the disclosure policy and the report form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from strongroom.edge.audit.models import AuditEvent, VulnerabilityReport

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def fields(text: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for line in text.splitlines():
        name, _, value = line.partition(": ")
        parsed.setdefault(name, []).append(value)
    return parsed


def test_security_txt_has_the_required_fields_and_expires_within_a_year(client: Client) -> None:
    answer = client.get("/.well-known/security.txt")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/plain; charset=utf-8"
    found = fields(answer.content.decode())
    assert found["Contact"] == ["http://testserver/security/report"]
    assert found["Canonical"] == ["http://testserver/.well-known/security.txt"]
    assert found["Policy"] == ["http://testserver/security/policy"]
    expires = datetime.fromisoformat(found["Expires"][0].replace("Z", "+00:00"))
    assert (
        datetime.now(UTC) + timedelta(days=30) < expires < datetime.now(UTC) + timedelta(days=365)
    )


def test_operator_contacts_are_listed(client: Client, settings: object) -> None:
    settings.SECURITY_CONTACTS = ("mailto:security@example.com",)  # type: ignore[attr-defined]
    found = fields(client.get("/.well-known/security.txt").content.decode())
    assert "mailto:security@example.com" in found["Contact"]


def test_the_policy_is_served(client: Client) -> None:
    assert b"disclosure policy" in client.get("/security/policy").content


def test_a_report_is_stored_acknowledged_and_audited(client: Client) -> None:
    answer = client.post(
        "/security/report",
        {
            "summary": "Token in logs",
            "details": "The access log shows tokens when ...",
            "contact": "r@example.org",
        },
    )
    assert answer.status_code == 200
    report = VulnerabilityReport.objects.get()
    assert report.reference.encode() in answer.content and report.contact == "r@example.org"
    assert AuditEvent.objects.filter(
        action="security.report_received", target=f"report:{report.reference}"
    ).exists()
    assert "default-src 'none'" in answer["Content-Security-Policy"]


@pytest.mark.parametrize(
    "summary, details",
    [("", "x" * 50), ("abc", "x" * 50), ("Fine summary", "too short"), ("x" * 201, "x" * 50)],
)
def test_an_incomplete_report_is_refused_and_nothing_is_stored(
    client: Client, summary: str, details: str
) -> None:
    answer = client.post("/security/report", {"summary": summary, "details": details})
    assert answer.status_code == 400 and b"characters" in answer.content
    assert not VulnerabilityReport.objects.exists()


def test_report_fields_render_inert(client: Client) -> None:
    payload = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
    answer = client.post("/security/report", {"summary": payload, "details": "short"})
    assert b"<script>alert(1)</script>" not in answer.content
    assert b"&lt;script&gt;" in answer.content
