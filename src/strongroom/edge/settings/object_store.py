"""Where the edge keeps objects: `STRONGROOM_OBJECT_STORE`.

Unset (or `local`): the `objects/` folder of the data directory (the embedded profile).
`s3://host[:port]/bucket[/folder]` (see strongroom.storage.s3_location for the options): a
bucket every edge and background process of a cluster shares. Credentials come from
`STRONGROOM_OBJECT_STORE_ACCESS_KEY_ID` and `STRONGROOM_OBJECT_STORE_SECRET_ACCESS_KEY`
(optionally `_SESSION_TOKEN`), each also readable from `NAME_FILE`; unset, boto3's usual
chain (AWS_* variables, shared config, instance or pod role) applies. They are kept out of
every repr and message.
"""

from __future__ import annotations

from strongroom.edge.settings.env import ConfigError, Env
from strongroom.storage.s3_config import InvalidS3Settings
from strongroom.storage.s3_location import S3Location, parse_s3_url


def object_store_location(env: Env) -> S3Location | None:
    """The configured bucket, or None for the data directory's folder."""
    url = env.str("OBJECT_STORE", "local")
    if url == "local":
        return None
    try:
        return parse_s3_url(
            url,
            access_key_id=env.secret("OBJECT_STORE_ACCESS_KEY_ID"),
            secret_access_key=env.secret("OBJECT_STORE_SECRET_ACCESS_KEY"),
            session_token=env.secret("OBJECT_STORE_SESSION_TOKEN"),
        )
    except InvalidS3Settings as exc:
        raise ConfigError(f"STRONGROOM_OBJECT_STORE: {exc}") from None
