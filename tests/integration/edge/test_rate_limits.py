"""Rate limits per client address and route class (edge/ratelimit.py), through the ASGI app."""

from __future__ import annotations

import secrets

import pytest
from pytest_django import Settings

from strongroom.edge.ratelimit import RouteClass, route_class
from tests.integration.edge.edge_client import FORM, EdgeClient

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def unique_rate(count: int) -> str:
    # A rate no other test uses: limits keeps one counter per rate, so tests can't interfere.
    return f"{count}/{secrets.randbelow(1000) + 1000} seconds"


def test_too_many_credential_attempts_get_429_retry_after_and_the_envelope(
    settings: Settings, edge: EdgeClient
) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "auth": unique_rate(3)}
    answers = [
        edge.request(
            "POST", "/v1/access_token", content=b"api_key=nope", headers={"content-type": FORM}
        )
        for _ in range(4)
    ]

    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    assert all(a.json()["error"] == 14 or a.json()["error"] == 2 for a in answers[:3])
    refused = answers[3]
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"] == 8 and "retry after" in refused.json()["message"]


def test_other_routes_answer_plain_json_and_classes_count_separately(
    settings: Settings, edge: EdgeClient
) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "other": unique_rate(1)}
    assert edge.request("GET", "/healthz").status_code == 200
    refused = edge.request("GET", "/healthz")
    assert refused.status_code == 429 and refused.json()["error"] == "rate_limited"
    # the API class has its own budget
    status = edge.request(
        "POST", "/v1/status", content=b"task_tokens=" + b"a" * 32, headers={"content-type": FORM}
    )
    assert status.status_code == 200


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/access_token", RouteClass.AUTH),
        ("/internal/worker/enroll", RouteClass.AUTH),
        ("/v1/upload_file/abc", RouteClass.UPLOAD),
        ("/v1/status", RouteClass.API),
        ("/api/v2/tasks/x", RouteClass.API),
        ("/internal/worker/claim", RouteClass.WORKER),
        ("/media/t/x.mp4", RouteClass.MEDIA),
        ("/healthz", RouteClass.OTHER),
    ],
)
def test_routes_fall_into_their_classes(path: str, expected: RouteClass) -> None:
    assert route_class(path) is expected
