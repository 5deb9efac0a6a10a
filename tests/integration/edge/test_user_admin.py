"""Operator actions on users (`strongroom users ...`): each takes effect at once and is audited."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from strongroom.cli.main import main
from strongroom.edge.accounts import users
from strongroom.edge.accounts.models import Role, UserSession
from strongroom.edge.accounts.second_factor import new_recovery_codes
from strongroom.edge.accounts.services import create_user
from strongroom.edge.audit.models import AuditEvent
from tests.integration.edge.test_console_auth import PASSWORD, is_signed_in, signed_in_client

pytestmark = pytest.mark.django_db
EMAIL = "ada@example.com"


@pytest.fixture
def user():
    return create_user(EMAIL, PASSWORD, organization="Acme", role=Role.DEVELOPER)


def test_deactivate_ends_sessions_and_is_audited(user):
    client = signed_in_client(user)
    users.set_active(EMAIL, False, actor="cli:test")
    assert not is_signed_in(client)
    assert UserSession.objects.filter(user=user).count() == 0
    assert AuditEvent.objects.filter(action="user.deactivate", actor="cli:test").exists()
    users.set_active(EMAIL, True, actor="cli:test")
    assert is_signed_in(signed_in_client(user))


def test_end_sessions_signs_out_every_browser(user):
    first, second = signed_in_client(user), signed_in_client(user)
    assert users.end_all_sessions(EMAIL, actor="cli:test") == 2
    assert not is_signed_in(first) and not is_signed_in(second)


def test_reset_second_factor(user):
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    new_recovery_codes(user)
    users.reset_second_factor(EMAIL, actor="cli:test")
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not StaticDevice.objects.filter(user=user).exists()


def test_unknown_user_is_a_clear_cli_error(capsys):
    assert main(["users", "deactivate", "nobody@example.com"]) != 0
    assert "no user 'nobody@example.com'" in capsys.readouterr().err


def test_list_shows_state_without_secrets(user, capsys):
    signed_in_client(user)
    assert main(["users", "list"]) == 0
    out = capsys.readouterr().out
    assert EMAIL in out and "active" in out
    assert get_user_model().objects.get().password not in out
