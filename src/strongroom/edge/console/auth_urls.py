"""Sign-in, re-authentication and a person's own account pages (mounted by console/urls.py)."""

from django.urls import path

from strongroom.edge.console import account_views, auth_views, passkey_views, signup_views

urlpatterns = [
    path("login", auth_views.sign_in, name="login"),
    path("signup", signup_views.sign_up, name="signup"),
    path("login/verify", auth_views.sign_in_verify, name="login_verify"),
    path("logout", auth_views.sign_out, name="logout"),
    path("reauth", auth_views.reauthenticate, name="reauth"),
    path("login/passkey/options", passkey_views.sign_in_options, name="passkey_sign_in_options"),
    path("login/passkey", passkey_views.sign_in, name="passkey_sign_in"),
    path("reauth/passkey/options", passkey_views.reauth_options, name="passkey_reauth_options"),
    path("reauth/passkey", passkey_views.reauth, name="passkey_reauth"),
    path(
        "account/passkeys/options",
        passkey_views.register_options,
        name="passkey_register_options",
    ),
    path("account/passkeys", passkey_views.register, name="passkey_register"),
    path(
        "account/passkeys/<int:passkey_id>/remove",
        account_views.passkey_remove,
        name="passkey_remove",
    ),
    path("account/password", account_views.password_change, name="password_change"),
    path("account/sessions", account_views.sessions, name="sessions"),
    path("account/sessions/<str:handle>/end", account_views.session_end, name="session_end"),
    path(
        "account/sessions/end-others",
        account_views.sessions_end_others,
        name="sessions_end_others",
    ),
    path("account/security", account_views.security, name="security"),
    path(
        "account/security/recovery-codes",
        account_views.recovery_codes_new,
        name="recovery_codes_new",
    ),
    path(
        "account/security/disable",
        account_views.second_factor_disable,
        name="second_factor_disable",
    ),
]
