"""STRONGROOM_OBJECT_STORE: the S3 URL form, its credentials (environment or _FILE, never
shown), and the start-up checks against a real SeaweedFS bucket and a real key store."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from strongroom.edge import checks
from strongroom.edge.checks import object_store_reachable, wrapped_keys_readable
from strongroom.edge.datadir import DataDir
from strongroom.edge.jobs.services import objects
from strongroom.edge.settings.env import ConfigError, Env
from strongroom.edge.settings.object_store import object_store_location
from strongroom.storage.s3_config import AddressingStyle, InvalidS3Settings, S3Settings
from strongroom.storage.s3_location import S3Location, parse_s3_url
from tests.integration.storage.seaweed import SEAWEED, S3Server, free_ports

# ------------------------------------------------------------------ the URL form


@pytest.mark.parametrize(
    ("url", "endpoint", "bucket", "prefix", "region"),
    [
        ("s3://s3.example.com/media", "https://s3.example.com", "media", "", "us-east-1"),
        ("s3://h:9000/media/a/b/", "https://h:9000", "media", "a/b", "us-east-1"),
        ("s3+http://127.0.0.1:8333/media/x", "http://127.0.0.1:8333", "media", "x", "us-east-1"),
        ("s3://[::1]:9000/media", "https://[::1]:9000", "media", "", "us-east-1"),
        ("s3://s3.eu-west-3.amazonaws.com/b.1-x", "https://s3.eu-west-3.amazonaws.com", "b.1-x",
         "", "eu-west-3"),
        ("s3://h/media?region=fr-par", "https://h", "media", "", "fr-par"),
    ],
)  # fmt: skip
def test_s3_urls_name_the_endpoint_bucket_folder_and_region(
    url: str, endpoint: str, bucket: str, prefix: str, region: str
) -> None:
    location = parse_s3_url(url)
    assert (location.bucket, location.prefix) == (bucket, prefix)
    assert (location.settings.endpoint_url, location.settings.region) == (endpoint, region)
    assert location.settings.addressing_style is AddressingStyle.PATH
    assert location.settings.access_key_id is None  # boto3's own chain then


def test_virtual_host_addressing_can_be_chosen() -> None:
    location = parse_s3_url("s3://s3.example.com/media?addressing=virtual")
    assert location.settings.addressing_style is AddressingStyle.VIRTUAL


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://h/media", "must be s3://"),
        ("media", "must be s3://"),
        ("s3:///media", "must be s3://"),
        ("s3://KEYID:Sup3rSecret@h/media", "credentials don't belong"),
        ("s3://Sup3rSecret@h/media", "credentials don't belong"),
        ("s3://h/", "bucket name"),
        ("s3://h/Media", "bucket name"),
        ("s3://h/a..b", "bucket name"),
        ("s3://h/media/../etc", "folder"),
        ("s3://h/media/a//b", "folder"),
        ("s3://h/media/a b", "folder"),
        ("s3://h:port/media", "port"),
        ("s3://h:70000/media", "port"),
        ("s3://h/media#x", "fragment"),
        ("s3://h/media?endpoint=http://evil", "takes only"),
        ("s3://h/media?region=a&region=b", "takes only"),
        ("s3://h/media?region", "malformed"),
        ("s3://h/media?region=a/b", "region"),
        ("s3://h/media?addressing=dns", "addressing"),
    ],
)
def test_malformed_s3_urls_are_refused_without_echoing_them(url: str, message: str) -> None:
    with pytest.raises(InvalidS3Settings, match=message) as refused:
        parse_s3_url(url)
    assert "Sup3rSecret" not in str(refused.value) and url not in str(refused.value)


# ------------------------------------------------------------------ the settings reader


def env(**values: str) -> Env:
    return Env({f"STRONGROOM_{name}": value for name, value in values.items()})


def test_the_default_is_the_data_directory_folder() -> None:
    assert object_store_location(env()) is None
    assert object_store_location(env(OBJECT_STORE="local")) is None
    assert object_store_location(env(OBJECT_STORE="")) is None


def test_credentials_come_from_the_environment_or_files_and_are_never_shown(
    tmp_path: Path,
) -> None:
    secret = "wJalr-" + secrets.token_urlsafe(20)
    (tmp_path / "secret").write_text(secret + "\n")
    location = object_store_location(
        env(
            OBJECT_STORE="s3://s3.example.com/media/edge",
            OBJECT_STORE_ACCESS_KEY_ID="AKIDEXAMPLE",
            OBJECT_STORE_SECRET_ACCESS_KEY_FILE=str(tmp_path / "secret"),
        )
    )
    assert location is not None
    assert location.settings.access_key_id == "AKIDEXAMPLE"
    assert location.settings.secret_access_key == secret
    assert secret not in repr(location) and secret not in str(location)
    assert "AKIDEXAMPLE" not in repr(location)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"OBJECT_STORE": "s3://h/Bad_Bucket"}, "STRONGROOM_OBJECT_STORE: the S3 bucket"),
        ({"OBJECT_STORE": "/srv/objects"}, "STRONGROOM_OBJECT_STORE: the object store must be"),
        (
            {"OBJECT_STORE": "s3://h/media", "OBJECT_STORE_ACCESS_KEY_ID": "AKID"},
            "give both",
        ),
        (
            {"OBJECT_STORE": "s3://h/media", "OBJECT_STORE_SECRET_ACCESS_KEY_FILE": "/nonexistent"},
            "OBJECT_STORE_SECRET_ACCESS_KEY_FILE cannot be read",
        ),
    ],
)
def test_bad_object_store_settings_stop_start_up_with_the_variable_named(
    values: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        object_store_location(env(**values))


# ------------------------------------------------------------------ start-up checks


@pytest.fixture
def fresh_objects() -> Iterator[None]:
    """The edge's cached store pieces are rebuilt for each test and dropped after it."""
    for cached in (objects._store, objects.backend, objects.wrapped_keys):
        cached.cache_clear()
    yield
    for cached in (objects._store, objects.backend, objects.wrapped_keys):
        cached.cache_clear()


def location_for(server: S3Server, **changes: Any) -> S3Location:
    return S3Location(
        server.bucket,
        f"check-{secrets.token_hex(4)}",
        dataclasses.replace(server.settings, **changes),
    )


def problems(settings: Any, location: S3Location | None) -> list[str]:
    settings.OBJECT_STORE = location
    return [f"{m.id}: {m.msg}" for m in object_store_reachable(None)]


@SEAWEED
@pytest.mark.usefixtures("fresh_objects")
def test_a_reachable_bucket_passes_the_start_up_check(settings: Any, s3_server: S3Server) -> None:
    assert problems(settings, location_for(s3_server)) == []
    assert problems(settings, None) == []  # the local folder needs no check


@SEAWEED
@pytest.mark.usefixtures("fresh_objects")
def test_a_missing_bucket_fails_the_start_up_check(settings: Any, s3_server: S3Server) -> None:
    location = dataclasses.replace(location_for(s3_server), bucket="no-such-bucket")
    (found,) = problems(settings, location)
    assert found.startswith("strongroom.E003") and "NoSuchBucket" in found


@SEAWEED
@pytest.mark.usefixtures("fresh_objects")
def test_refused_credentials_fail_the_check_without_showing_them(
    settings: Any, s3_server: S3Server
) -> None:
    wrong = "wrong-" + secrets.token_urlsafe(20)
    (found,) = problems(settings, location_for(s3_server, secret_access_key=wrong))
    assert found.startswith("strongroom.E003") and "access denied" in found
    assert wrong not in found and str(s3_server.settings.access_key_id) not in found


@pytest.mark.usefixtures("fresh_objects")
def test_an_unreachable_endpoint_fails_the_check(settings: Any) -> None:
    (port,) = free_ports(1)
    unreachable = S3Settings(
        endpoint_url=f"http://127.0.0.1:{port}", max_attempts=1, connect_timeout=2
    )
    (found,) = problems(settings, S3Location("media", "", unreachable))
    assert found.startswith("strongroom.E003") and "could not be used" in found


@pytest.mark.usefixtures("fresh_objects")
def test_an_unreadable_key_store_fails_its_start_up_check(
    settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert wrapped_keys_readable(None) == []
    # The embedded store (an SQLCipher file), even when this suite runs on PostgreSQL.
    monkeypatch.setattr(checks, "key_store_conninfo", lambda: None)
    objects.wrapped_keys.cache_clear()
    settings.DATA = DataDir(tmp_path)
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "wrapped-keys.db").write_bytes(secrets.token_bytes(4096))  # not ours
    (found,) = wrapped_keys_readable(None)
    assert found.id == "strongroom.E004" and "not a database" in found.msg
