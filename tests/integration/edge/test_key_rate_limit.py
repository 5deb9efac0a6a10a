"""One API key gets its own rate limit, whichever address it comes from."""

from __future__ import annotations

import secrets

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def tight_key_limit(settings):
    # A rate no other test uses: limits keeps one counter per rate string.
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "api_key": f"2/{secrets.randbelow(900) + 100} seconds",
    }


def test_qencode_access_token_over_the_key_limit_gets_error_8(client, api_key, tight_key_limit):
    answers = [
        client.post("/v1/access_token", {"api_key": api_key}, REMOTE_ADDR=f"192.0.2.{n}")
        for n in range(3)
    ]
    assert [a.json()["error"] for a in answers[:2]] == [0, 0]
    assert answers[2].status_code == 429 and answers[2].json()["error"] == 8
    assert answers[2]["Retry-After"] == "60"
    assert api_key not in answers[2].content.decode()


def test_native_api_over_the_key_limit_gets_429(client, api_key, tight_key_limit):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}
    answers = [client.get("/api/v2/tasks/" + "0" * 32, **auth) for _ in range(3)]
    assert [a.status_code for a in answers] == [404, 404, 429]
