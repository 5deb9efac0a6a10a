"""Which key-encryption key wraps object data keys: `STRONGROOM_KEK` = local | vault | aws.

local (default): the master key file in the data directory (or STRONGROOM_MASTER_KEY[_FILE]).
vault: HashiCorp Vault transit key STRONGROOM_KEK_KEY at STRONGROOM_VAULT_ADDR, token from
       STRONGROOM_VAULT_TOKEN or STRONGROOM_VAULT_TOKEN_FILE (plus _MOUNT, _NAMESPACE, _CACERT).
aws:   AWS KMS key STRONGROOM_KEK_KEY (id, alias or ARN) in STRONGROOM_AWS_REGION; credentials
       from boto3's usual chain; STRONGROOM_AWS_KMS_ENDPOINT for a private endpoint.
Moving off the local key keeps it as a retired, unwrap-only key (STRONGROOM_KEK_KEEP_LOCAL=1,
the default), so objects written before the move stay readable. `strongroom keys rotate` adds
local KEKs to the object key file; the master key itself is never rotated (it derives the
database key and the other local secrets).
"""

from __future__ import annotations

from pathlib import Path

from strongroom.crypto.providers import KekConfig, KekConfigError, kek_config_from_mapping
from strongroom.edge.datadir import DataDir
from strongroom.edge.settings.env import ConfigError, Env


def object_kek_file(data: DataDir, env: Env | None = None) -> Path:
    """The local provider's rotated object KEKs (`strongroom keys rotate`), next to the
    master key file (created 0600 at the first rotation), or at STRONGROOM_OBJECT_KEK_FILE:
    in a cluster with a local key, a path on storage every edge reads."""
    configured = env.str("OBJECT_KEK_FILE", "") if env is not None else ""
    return Path(configured) if configured else data.master_key.parent / "object-keks.json"


def wrapped_keys_file(data: DataDir) -> Path:
    """The wrapped-key store (format 2 objects' data keys), an SQLCipher file beside the
    database (see strongroom.storage.wrapped_keys for why it is not a database table)."""
    return data.database.parent / "wrapped-keys.db"


def object_kek_configs(env: Env, data: DataDir) -> tuple[KekConfig, tuple[KekConfig, ...]]:
    """(the primary KEK's config, retired configs that still unwrap)."""
    local = {
        "kind": "local",
        "key_file": str(data.master_key),
        "kek_file": str(object_kek_file(data, env)),
    }
    kind = env.str("KEK", "local")
    try:
        if kind == "local":
            return kek_config_from_mapping(local), ()
        primary = kek_config_from_mapping(_remote_values(env, kind))
        keep_local = env.bool("KEK_KEEP_LOCAL", default=True) and data.master_key.exists()
        return primary, (kek_config_from_mapping(local),) if keep_local else ()
    except KekConfigError as exc:
        raise ConfigError(f"STRONGROOM_KEK={kind}: {exc}") from None


def _remote_values(env: Env, kind: str) -> dict[str, str]:
    common = {"kind": kind, "key": env.str("KEK_KEY", "")}
    if kind == "vault":
        return {
            **common,
            "url": env.str("VAULT_ADDR", ""),
            "token": env.secret("VAULT_TOKEN") or "",
            "mount": env.str("VAULT_MOUNT", "transit"),
            "namespace": env.str("VAULT_NAMESPACE", ""),
            "ca_file": env.str("VAULT_CACERT", ""),
        }
    if kind == "aws":
        return {
            **common,
            "region": env.str("AWS_REGION", ""),
            "endpoint": env.str("AWS_KMS_ENDPOINT", ""),
        }
    return common  # an unknown kind: kek_config_from_mapping names it in its error
