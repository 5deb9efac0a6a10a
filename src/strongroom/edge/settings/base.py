"""Strongroom's one settings module. The profile follows from what is configured:
`DATABASE_URL` set -> PostgreSQL (cluster), unset -> SQLCipher in the data directory (embedded).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import limits
from csp.constants import NONCE, NONE, SELF

from strongroom.crypto.keyfile import derive_key, load_or_create_master_key
from strongroom.edge.datadir import resolve_data_dir
from strongroom.edge.settings.database import database_settings
from strongroom.edge.settings.env import ConfigError, Env
from strongroom.edge.settings.kek import object_kek_configs

ENV = Env()
DATA = resolve_data_dir(ENV.str("DATA_DIR", "var"))
DATA.create()
MASTER_KEY = load_or_create_master_key(DATA.master_key, env=ENV.environ)

SECRET_KEY = derive_key(MASTER_KEY, "django-secret-key").hex()
URL_TOKEN_KEY = derive_key(MASTER_KEY, "url-tokens")
API_KEY_PEPPER = derive_key(MASTER_KEY, "api-key-pepper")
EDGE_SIGNING_SEED = derive_key(MASTER_KEY, "edge-signing")
AUDIT_SIGNING_SEED = derive_key(MASTER_KEY, "audit-checkpoints")  # never stored in the database

DEBUG = False
ALLOWED_HOSTS = list(ENV.list("ALLOWED_HOSTS", ("127.0.0.1", "localhost", "[::1]")))
PUBLIC_URL = ENV.str("PUBLIC_URL", "")  # e.g. https://transcode.example.com; else from the request

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.staticfiles",
    "django.contrib.messages",
    "strongroom.edge.admin_apps.StrongroomAdminConfig",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "strongroom.edge.accounts",
    "strongroom.edge.jobs",
    "strongroom.edge.audit",
    "strongroom.edge.api",
    "strongroom.edge.workergate",
    "strongroom.edge.console",
    "huey.contrib.djhuey",
]

MIDDLEWARE = [
    "strongroom.edge.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "strongroom.edge.sealed_session.SealedSessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "strongroom.edge.middleware.PerUserRateLimitMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "strongroom.edge.accounts.activity.SessionActivityMiddleware",
    "axes.middleware.AxesMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "strongroom.edge.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "autoescape": True,
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csrf",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]
# security.txt lists the report form; operators may add mailto:/https: contacts (comma list).
SECURITY_CONTACTS = ENV.list("SECURITY_CONTACTS")
ASGI_APPLICATION = "strongroom.edge.asgi.application"
DATABASES = {"default": database_settings(ENV, DATA, derive_key(MASTER_KEY, "sqlcipher"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "strongroom.edge.accounts.password_strength.ZxcvbnValidator"},
]
USE_TZ = True
TIME_ZONE = "UTC"
APPEND_SLASH = False

# Transport: HTTPS only. The edge terminates TLS itself (strongroom.crypto.tls); behind a proxy
# the operator sets STRONGROOM_TRUST_PROXY_TLS_HEADER=1.
SECURE_HSTS_SECONDS = 63072000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_CONTENT_TYPE_NOSNIFF = True
# "same-origin", not "no-referrer": under no-referrer browsers send `Origin: null` with form
# posts, and Django's CSRF check refuses every console form. Other sites still get no referrer.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_HSTS_PRELOAD = True
SECURE_CROSS_ORIGIN_RESOURCE_POLICY = "same-origin"
# The edge only listens on TLS, so this redirect never fires for a direct client; behind a proxy
# it keeps the console on HTTPS. API, worker and media paths are exempt: a redirect there would
# teach clients to send credentials over plain HTTP first (ASVS 4.1.2).
SECURE_SSL_REDIRECT = True  # exempt: every path but the console's and the admin's (below)
X_FRAME_OPTIONS = "DENY"
if ENV.bool("TRUST_PROXY_TLS_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Console sessions: server-side rows that know their user (accounts.UserSession), in a `__Host-`
# cookie whose value is sealed with AES-256-GCM (edge/sealed_session.py).
SESSION_ENGINE = "strongroom.edge.accounts.sessions"
SESSION_COOKIE_NAME = "__Host-strongroom_session"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = ENV.int("SESSION_ABSOLUTE_SECONDS", 12 * 3600, minimum=300)  # absolute timeout
SESSION_IDLE_SECONDS = ENV.int("SESSION_IDLE_SECONDS", 30 * 60, minimum=60)
SESSION_REAUTH_SECONDS = 10 * 60  # "sudo mode" window for sensitive actions
SESSION_KEY_GENERATION = ENV.int("SESSION_KEY_GENERATION", 1, minimum=1)
SESSION_SEAL_KEYS = [  # the current generation seals; the previous one still opens
    derive_key(MASTER_KEY, f"session-cookie-{generation}")
    for generation in range(SESSION_KEY_GENERATION, max(SESSION_KEY_GENERATION - 2, 0), -1)
]
# Secrets and personal fields are encrypted per value (edge/encrypted_fields.py), in PostgreSQL
# and inside SQLCipher alike; the current generation encrypts, the previous one still decrypts.
DB_FIELD_KEY_GENERATION = ENV.int("DB_FIELD_KEY_GENERATION", 1, minimum=1)
DB_FIELD_KEYS = [
    derive_key(MASTER_KEY, f"db-fields-{generation}")
    for generation in range(DB_FIELD_KEY_GENERATION, max(DB_FIELD_KEY_GENERATION - 2, 0), -1)
]
CSRF_COOKIE_NAME = "__Host-strongroom_csrf"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True  # templates carry the token; scripts never read the cookie
CSRF_TRUSTED_ORIGINS = [PUBLIC_URL] if PUBLIC_URL else []
LOGIN_URL = "console:login"
# Django's admin, for operators (staff + second factor + recent re-auth; every request audited).
# A path of the operator's choosing keeps it off scanners' default lists; set it empty to disable.
ADMIN_PATH = ENV.str("ADMIN_PATH", "ops/")
if ADMIN_PATH and not re.fullmatch(r"([a-z0-9-]+/)+", ADMIN_PATH):
    raise ConfigError("STRONGROOM_ADMIN_PATH: lowercase letters, digits and '-', ending in '/'")
# Only pages for people redirect to HTTPS; programs' endpoints never do.
SECURE_REDIRECT_EXEMPT = [rf"^(?!console/|{re.escape(ADMIN_PATH) if ADMIN_PATH else 'console/'}|$)"]
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"  # not a cookie

# Sign-in: lockout after repeated failures per account and address (django-axes), then TOTP.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = ENV.int("LOGIN_FAILURE_LIMIT", 5, minimum=1, maximum=100)
AXES_COOLOFF_TIME = timedelta(minutes=ENV.int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "console/auth/locked.html"
AXES_VERBOSE = False
OTP_TOTP_ISSUER = "Strongroom"

# Content-Security-Policy with a fresh nonce per response; no inline script or style anywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "media-src": [SELF, "blob:"],
        "worker-src": [SELF, "blob:"],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
        "form-action": [SELF],
    }
}

# The console's own files (including vendored htmx, tus-js-client, hls.js), served by WhiteNoise
# straight from the installed package: running Strongroom needs no Node and no collectstatic.
STATIC_URL = "/static/"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False

# Request size caps (bytes). Big bodies (tus PATCH, worker output PUT) never reach Django:
# they are streamed by the ASGI handlers in edge/asgi.py.
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200
QENCODE_QUERY_MAX_BYTES = 128 * 1024
TUS_MAX_SIZE = ENV.int("TUS_MAX_SIZE", 64 << 30, minimum=1)
# What one project's uploads may add up to (declared lengths, while their rows exist).
PROJECT_UPLOAD_QUOTA = ENV.int("PROJECT_UPLOAD_QUOTA", 1 << 40, minimum=1)
WORKER_OUTPUT_MAX_SIZE = ENV.int("WORKER_OUTPUT_MAX_SIZE", 64 << 30, minimum=1)

# Jobs
LEASE_SECONDS = ENV.int("LEASE_SECONDS", 60, minimum=5, maximum=3600)
# Heartbeats also carry cancellation to workers: 2 s keeps "cancelled -> ffmpeg killed" short.
HEARTBEAT_SECONDS = ENV.int("HEARTBEAT_SECONDS", 2, minimum=1, maximum=600)
MAX_ATTEMPTS = ENV.int("MAX_ATTEMPTS", 3, minimum=1, maximum=20)
RETRY_BACKOFF_SECONDS = ENV.int("RETRY_BACKOFF_SECONDS", 5, minimum=0, maximum=3600)
ACCESS_TOKEN_SECONDS = ENV.int("ACCESS_TOKEN_SECONDS", 24 * 3600, minimum=60)
GRANT_URL_SECONDS = ENV.int("GRANT_URL_SECONDS", 6 * 3600, minimum=60)
MEDIA_URL_SECONDS = ENV.int("MEDIA_URL_SECONDS", 24 * 3600, minimum=60)
JOIN_TOKEN_SECONDS = ENV.int("JOIN_TOKEN_SECONDS", 3600, minimum=60)

# Callbacks go only to public addresses unless the operator opens an internal range on purpose.
CALLBACK_ALLOW_NETWORKS = ENV.list("CALLBACK_ALLOW_NETWORKS")
CALLBACK_ALLOW_PORTS = tuple(int(p) for p in ENV.list("CALLBACK_ALLOW_PORTS") if p.isdigit())

# Requests per client address and route class (limits' notation), and where they are counted.
RATE_LIMIT_STORAGE = ENV.str("RATE_LIMIT_STORAGE", "memory://")
RATE_LIMITS = {
    "auth": ENV.str("RATE_LIMIT_AUTH", "30/minute"),
    "api": ENV.str("RATE_LIMIT_API", "1200/minute"),
    "upload": ENV.str("RATE_LIMIT_UPLOAD", "1200/minute"),
    "worker": ENV.str("RATE_LIMIT_WORKER", "6000/minute"),
    "media": ENV.str("RATE_LIMIT_MEDIA", "6000/minute"),
    "other": ENV.str("RATE_LIMIT_OTHER", "600/minute"),
    # per worker, not per address: a heartbeat every 2 s is 30 a minute
    "heartbeat": ENV.str("RATE_LIMIT_HEARTBEAT", "120/minute"),
    # per API key and per signed-in person, whatever address they come from
    "api_key": ENV.str("RATE_LIMIT_API_KEY", "1200/minute"),
    "user": ENV.str("RATE_LIMIT_USER", "600/minute"),
}
for _name, _rate in RATE_LIMITS.items():  # a typo stops start-up, not the first request
    try:
        limits.parse(_rate)
    except ValueError:
        raise ConfigError(
            f"STRONGROOM_RATE_LIMIT_{_name.upper()}: {_rate!r} is not a rate"
        ) from None

METRICS_TOKEN = ENV.secret("METRICS_TOKEN") or ""  # unset: /metrics is disabled

OBJECT_STORE_ROOT: Path = DATA.objects
OBJECT_KEK, OBJECT_KEK_RETIRED = object_kek_configs(ENV, DATA)

HUEY: Any = None  # set below, once the database path is known
from strongroom.edge.jobs.queue import build_huey  # noqa: E402  (needs the settings above)

HUEY = build_huey(ENV, DATA, derive_key(MASTER_KEY, "sqlcipher-tasks"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json_lines": {"()": "strongroom.edge.audit.json_lines.JsonLineFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        # The request log: one JSON line per request on stdout, for log shippers.
        "requests": {
            "class": "logging.StreamHandler",
            "formatter": "json_lines",
            "stream": "ext://sys.stdout",
        },
    },
    "root": {"handlers": ["console"], "level": ENV.str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "huey": {"level": "WARNING"},
        # httpx logs full URLs at INFO; signed URLs carry tokens.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "strongroom.requests": {
            "handlers": ["requests"] if ENV.bool("REQUEST_LOG_STDOUT", default=True) else [],
            "level": "INFO",
            "propagate": False,
        },
    },
}

# Request log (docs/configuration.md, "Request log"): kept this many days, written in batches
# from a queue of at most this many records (when full, records are dropped and counted).
REQUEST_LOG_DAYS = ENV.int("REQUEST_LOG_DAYS", 30, minimum=1, maximum=3650)
REQUEST_LOG_QUEUE = ENV.int("REQUEST_LOG_QUEUE", 10_000, minimum=100, maximum=1_000_000)
# Last in the chain, so it sees the user a console view signed in or loaded.
MIDDLEWARE = [*MIDDLEWARE, "strongroom.edge.audit.middleware.RequestActorMiddleware"]

# Output destinations (docs/configuration.md, "Destinations"): S3 endpoints must resolve to
# public addresses unless these networks (CIDRs) and ports are opened for an internal server;
# plain http (no TLS) is used only for hosts whose addresses all lie in DESTINATION_HTTP_NETWORKS.
DESTINATION_ALLOW_NETWORKS = ENV.list("DESTINATION_ALLOW_NETWORKS")
DESTINATION_ALLOW_PORTS = tuple(
    int(p) for p in ENV.list("DESTINATION_ALLOW_PORTS") if p.isdigit()
)
DESTINATION_HTTP_NETWORKS = ENV.list("DESTINATION_HTTP_NETWORKS")
# botocore's debug log prints each signed request, Authorization header (access key id) included.
_LOGGERS: dict[str, Any] = LOGGING["loggers"]  # type: ignore[assignment]  # a dict, typed object
_LOGGERS.update({name: {"level": "WARNING"} for name in ("botocore", "s3transfer")})

# Objects (docs/configuration.md, "Profiles"): None keeps them in OBJECT_STORE_ROOT; an S3
# location (STRONGROOM_OBJECT_STORE=s3://…) puts them in a bucket every edge shares. Their wrapped
# data keys follow the database: a PostgreSQL table with DATABASE_URL, else an SQLCipher file.
from strongroom.edge.settings.object_store import object_store_location  # noqa: E402

OBJECT_STORE = object_store_location(ENV)
