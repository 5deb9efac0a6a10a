"""Qencode ``format[].destination`` (s3://): every rule, attempts to break each, and the key and
secret never appearing in the JobSpec, a repr or an error message."""

from __future__ import annotations

import json
from typing import Any

import pytest

from strongroom.media.destinations import (
    AWS_HOST,
    DestinationSpec,
    S3Location,
    object_key,
    parse_s3_url,
)
from strongroom.media.jobspec import JobSpec, OutputKind
from strongroom.media.qencode import QueryError, parse_start_encode2

SOURCE = "https://example.com/in.mp4"
KEY_ID = "AKIAKNOWNKEYID4TEST"
SECRET = "kn0wn/Secret+Value-4-tests"
URL = "s3://s3.example.com/media-bucket/out/clip.mp4"


def query(destination: Any, output: str = "mp4", **fields: Any) -> str:
    item: dict[str, Any] = {"output": output, "destination": destination, **fields}
    if output == "advanced_hls":
        item.setdefault("stream", [{"resolution": 240}])
    return json.dumps({"query": {"source": SOURCE, "format": [item]}})


def dest(**fields: Any) -> dict[str, Any]:
    return {"url": URL, "key": KEY_ID, "secret": SECRET, **fields}


def refused(text: str) -> QueryError:
    with pytest.raises(QueryError) as caught:
        parse_start_encode2(text)
    error = caught.value
    assert error.code == 14
    assert KEY_ID not in error.message and SECRET not in error.message
    assert KEY_ID not in str(error.field) and SECRET not in str(error.field)
    return error


# ------------------------------------------------------------------ accepted forms


def test_the_object_form_keeps_options_in_the_spec_and_credentials_apart() -> None:
    parsed = parse_start_encode2(
        query(dest(permissions="Public-Read", cache_control="max-age=60, public",
                   storage_class="standard_ia"))
    )  # fmt: skip
    (output,) = parsed.spec.outputs
    assert output.destinations == [
        DestinationSpec(url=URL, permissions="public-read", cache_control="max-age=60, public",
                        storage_class="STANDARD_IA")
    ]  # fmt: skip
    credentials = parsed.credentials[(0, 0)]
    assert (credentials.access_key, credentials.secret_key) == (KEY_ID, SECRET)


def test_the_array_form_gives_each_destination_its_position() -> None:
    second = dest(url="s3://other-bucket/hls/", key="K2", secret="S2")
    parsed = parse_start_encode2(query([dest(), second], output="advanced_hls"))
    assert [d.url for d in parsed.spec.outputs[0].destinations] == [URL, "s3://other-bucket/hls/"]
    assert parsed.credentials[(0, 1)].access_key == "K2"


@pytest.mark.parametrize("value", ["", None])
def test_an_empty_destination_means_our_own_storage(value: Any) -> None:
    parsed = parse_start_encode2(query(value))
    assert parsed.spec.outputs[0].destinations == [] and parsed.credentials == {}


def test_the_credentials_never_reach_the_stored_spec_or_a_repr() -> None:
    parsed = parse_start_encode2(query([dest(), dest()]))
    stored = parsed.spec.model_dump_json()
    for text in (stored, repr(parsed), repr(parsed.credentials), str(parsed.spec)):
        assert KEY_ID not in text and SECRET not in text
    assert JobSpec.model_validate_json(stored) == parsed.spec  # a worker can read it back


# ------------------------------------------------------------------ URL forms


@pytest.mark.parametrize("url, expected", [
    ("s3://s3.example.com/b-1/a/b.mp4", S3Location("s3.example.com", None, "b-1", "a/b.mp4")),
    ("s3://minio.internal:9000/bucket/x.mp4",
     S3Location("minio.internal", 9000, "bucket", "x.mp4")),
    ("s3://127.0.0.1:8333/bucket/", S3Location("127.0.0.1", 8333, "bucket", "")),
    ("s3://mybucket/folder/x.mp4", S3Location(AWS_HOST, None, "mybucket", "folder/x.mp4")),
    ("s3://s3.eu-west-2.amazonaws.com/my.bucket/k", S3Location("s3.eu-west-2.amazonaws.com",
                                                               None, "my.bucket", "k")),
])  # fmt: skip
def test_both_url_forms_are_read(url: str, expected: S3Location) -> None:
    assert parse_s3_url(url) == expected


def test_the_signing_region_comes_from_an_aws_host() -> None:
    assert parse_s3_url("s3://s3.eu-west-2.amazonaws.com/b-1/k").region == "eu-west-2"
    assert parse_s3_url("s3://s3-us-west-1.amazonaws.com/b-1/k").region == "us-west-1"
    assert parse_s3_url("s3://minio.example.com/b-1/k").region == "us-east-1"
    assert parse_s3_url("s3://b-1/k").is_aws and not parse_s3_url("s3://m.example/b-1/k").is_aws


@pytest.mark.parametrize("kind, url, path, expected", [
    (OutputKind.MP4, "s3://h.example/b-1/out/a.mp4", "video.mp4", "out/a.mp4"),
    (OutputKind.MP4, "s3://h.example/b-1/out/", "video.mp4", "out/video.mp4"),
    (OutputKind.MP4, "s3://h.example/b-1", "video.mp4", "video.mp4"),
    (OutputKind.ADVANCED_HLS, "s3://h.example/b-1/hls", "v1/seg.ts", "hls/v1/seg.ts"),
    (OutputKind.ADVANCED_HLS, "s3://h.example/b-1/hls/", "playlist.m3u8", "hls/playlist.m3u8"),
    (OutputKind.THUMBNAILS, "s3://h.example/b-1/", "thumbs.vtt", "thumbs.vtt"),
])  # fmt: skip
def test_object_keys_follow_qencode_file_and_folder_rules(
    kind: OutputKind, url: str, path: str, expected: str
) -> None:
    main = "video.mp4" if kind is OutputKind.MP4 else path
    assert object_key(parse_s3_url(url), kind, path, main) == expected


def test_a_single_file_output_copies_only_its_main_file() -> None:
    location = parse_s3_url("s3://h.example/b-1/a.mp4")
    assert object_key(location, OutputKind.MP4, "other.bin", "video.mp4") is None


# ------------------------------------------------------------------ refused shapes


@pytest.mark.parametrize("value, problem", [
    (f"s3://{KEY_ID}:{SECRET}@s3.example.com/b-1/k.mp4",
     "must be an object with url, key and secret"),
    (42, "must be an object or a non-empty list of objects"),
    ([], "must be an object or a non-empty list of objects"),
    ([dest(), "s3://b-1/k"], "must be an object or a non-empty list of objects"),
    ([dest()] * 6, "must have at most 5 entries"),
])  # fmt: skip
def test_malformed_destination_values_are_refused(value: Any, problem: str) -> None:
    error = refused(query(value))
    assert error.message == f"format[0].destination {problem}"


def test_unknown_fields_are_named() -> None:
    error = refused(query(dest(region="eu", bogus=1)))
    assert error.message == "format[0].destination has unknown field(s): bogus, region"


@pytest.mark.parametrize("field", ["is_passive", "use_tls", "tcp_port", "udp_port"])
def test_ftp_and_aspera_options_are_not_supported_yet(field: str) -> None:
    error = refused(query(dest(**{field: 1})))
    assert error.field == f"format[0].destination.{field}"
    assert "not supported yet" in error.message


def test_a_path_inside_the_array_names_the_position() -> None:
    error = refused(query([dest(), dest(url="https://x.example/b")]))
    assert error.field == "format[0].destination[1].url"


# ------------------------------------------------------------------ url


@pytest.mark.parametrize("url, problem", [
    (None, "is required"),
    ("", "is required"),
    (7, "must be a string"),
    ("https://s3.example.com/b-1/k", "must be an s3:// URL (other destination types are not"
                                     " supported yet)"),
    ("ftp://ftp.example.com/k", "must be an s3:// URL (other destination types are not"
                                " supported yet)"),
    ("s3://" + "a" * 2100, "must be an s3:// URL of at most 2048 printable characters without"
                           " spaces"),
    ("s3://h.example/b-1/a b", "must be an s3:// URL of at most 2048 printable characters"
                               " without spaces"),
    ("s3://h.example/b-1/a\nb", "must be an s3:// URL of at most 2048 printable characters"
                                " without spaces"),
    ("s3://h.example/b-1/a\tb", "must be an s3:// URL of at most 2048 printable characters"
                                " without spaces"),
    (f"s3://{KEY_ID}:{SECRET}@h.example/b-1/k", "must not contain credentials: give them as key"
                                                " and secret"),
    (f"s3://{KEY_ID}@h.example/b-1/k", "must not contain credentials: give them as key and secret"),
    ("s3://h.example/b-1/k?x=1", "must not have a query or fragment"),
    ("s3://h.example/b-1/k#f", "must not have a query or fragment"),
    ("s3://h.example:99999/b-1/k", "must be s3://host[:port]/bucket/key or s3://bucket/key"),
    ("s3://h.example:x/b-1/k", "must be s3://host[:port]/bucket/key or s3://bucket/key"),
    ("s3://h.example/B-1/k", "must name a bucket of 3-63 characters of a-z, 0-9, '.', '-'"),
    ("s3://h.example/ab/k", "must name a bucket of 3-63 characters of a-z, 0-9, '.', '-'"),
    ("s3://h.example/a..b/k", "must name a bucket of 3-63 characters of a-z, 0-9, '.', '-'"),
    ("s3://h.example/", "must name a bucket of 3-63 characters of a-z, 0-9, '.', '-'"),
    ("s3://h_x.example/b-1/k", "has a malformed host"),
    ("s3://-h.example/b-1/k", "has a malformed host"),
    ("s3://h.example/b-1/a\\b", "has an object key with characters S3 keys here may not use"),
    ("s3://h.example/b-1/a//b", "has an object key with characters S3 keys here may not use"),
    ("s3://h.example/b-1/a<b>", "has an object key with characters S3 keys here may not use"),
    ("s3://h.example/b-1/" + "k" * 1100, "has an object key with characters S3 keys here may"
                                         " not use"),
    ("s3://h.example/b-1/a/../b", "must not contain '.' or '..' path segments"),
    ("s3://h.example/b-1/./b", "must not contain '.' or '..' path segments"),
])  # fmt: skip
def test_bad_urls_are_refused_without_echoing_them(url: Any, problem: str) -> None:
    error = refused(query(dest(url=url)))
    assert (error.field, error.message) == (
        "format[0].destination.url",
        f"format[0].destination.url {problem}",
    )


# ------------------------------------------------------------------ key and secret


@pytest.mark.parametrize("field, limit", [("key", 128), ("secret", 256)])
@pytest.mark.parametrize("value, problem", [
    (None, "is required"),
    ("", "is required"),
    (12345, "must be a string"),
    (["AKIA"], "must be a string"),
    ("with space", "must be 1-{limit} printable characters without spaces"),
    ("tab\there", "must be 1-{limit} printable characters without spaces"),
    ("new\nline", "must be 1-{limit} printable characters without spaces"),
    ("caf\u00e9", "must be 1-{limit} printable characters without spaces"),
    ("x" * 300, "must be 1-{limit} printable characters without spaces"),
])  # fmt: skip
def test_credentials_are_required_strings_within_limits(
    field: str, limit: int, value: Any, problem: str
) -> None:
    error = refused(query(dest(**{field: value})))
    where = f"format[0].destination.{field}"
    assert (error.field, error.message) == (where, f"{where} {problem.format(limit=limit)}")
    if isinstance(value, str) and value:
        assert value not in error.message


def test_a_secret_just_inside_the_limit_is_accepted() -> None:
    parsed = parse_start_encode2(query(dest(key="K" * 128, secret="S" * 256)))
    assert parsed.credentials[(0, 0)].secret_key == "S" * 256


# ------------------------------------------------------------------ options


@pytest.mark.parametrize("value", ["public", "log-delivery-write", "PRIVATE ", 1, ["private"]])
def test_permissions_must_be_an_object_canned_acl(value: Any) -> None:
    error = refused(query(dest(permissions=value)))
    assert error.field == "format[0].destination.permissions"
    assert "must be one of: private, public-read" in error.message


@pytest.mark.parametrize("value", ["glacier_deep", "standard ia", 3, "EXPRESS"])
def test_storage_class_must_be_a_known_class(value: Any) -> None:
    error = refused(query(dest(storage_class=value)))
    assert error.field == "format[0].destination.storage_class"
    assert error.message.startswith("format[0].destination.storage_class must be one of: STANDARD")


@pytest.mark.parametrize("value", [
    "max-age=60\r\nx-amz-acl: public-read",
    "max-age=60; public",
    "<script>",
    "max-age=" + "9" * 300,
    ",",
    5,
])  # fmt: skip
def test_cache_control_must_be_directives(value: Any) -> None:
    error = refused(query(dest(cache_control=value)))
    assert error.field == "format[0].destination.cache_control"


@pytest.mark.parametrize("value", [
    "no-cache", "max-age=31536000, immutable", 'private="set-cookie"', "public,max-age=0",
])  # fmt: skip
def test_usual_cache_control_values_are_accepted(value: str) -> None:
    parsed = parse_start_encode2(query(dest(cache_control=value)))
    assert parsed.spec.outputs[0].destinations[0].cache_control == value


def test_the_model_refuses_options_the_parser_would_not_give() -> None:
    for bad in (
        {"permissions": "public"},
        {"storage_class": "cold"},
        {"url": "https://x"},
        {"cache_control": "a\nb"},
        {"key": KEY_ID},
    ):
        with pytest.raises(ValueError):
            DestinationSpec.model_validate({"url": URL, **bad})
