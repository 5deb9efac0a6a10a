"""A throwaway PostgreSQL database for the key-store tests, on the server the cluster tests
use: DATABASE_URL if set, else 127.0.0.1:5432 as user postgres. Tests that need it skip, with
the reason, only when no server answers there."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("DATABASE_URL") or DEFAULT_URL


def admin(statement: str) -> None:
    """Run one statement on the server's maintenance database, or skip if none answers."""
    try:
        with psycopg.connect(server_url(), autocommit=True, connect_timeout=5) as conn:
            conn.execute(statement)  # DDL the tests build themselves, from constants
    except psycopg.OperationalError as exc:
        parts = urlsplit(server_url())  # host and port only: the URL may carry a password
        pytest.skip(f"no PostgreSQL server at {parts.hostname}:{parts.port or 5432}: {exc}")


def fresh_database() -> Iterator[str]:
    """Create a database, yield its URL, drop it (closing any connection left on it)."""
    name = "strongroom_keys_" + secrets.token_hex(4)
    admin(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(server_url())._replace(path="/" + name))
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
