"""DATABASES["default"] from configuration: PostgreSQL when DATABASE_URL is set, else SQLCipher."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from strongroom.edge.datadir import DataDir
from strongroom.edge.settings.env import ConfigError, Env


def database_settings(env: Env, data: DataDir, cipher_key: bytes) -> dict[str, Any]:
    url = env.plain("DATABASE_URL")
    if url:
        return postgres_settings(url)
    return {
        "ENGINE": "strongroom.edge.sqlcipher",
        "NAME": str(data.database),
        "OPTIONS": {
            "cipher_key": cipher_key,
            # Claims take the write lock up front, so two edges never both read "queued".
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA busy_timeout=20000"
            ),
        },
        "TEST": {"NAME": str(data.database.with_name("test.db"))},
    }


def postgres_settings(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ConfigError("DATABASE_URL must be a postgresql:// URL")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or "strongroom",
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
