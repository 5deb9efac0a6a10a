"""A small stand-in for HashiCorp Vault's transit secrets engine, on 127.0.0.1.

It speaks the real HTTP API for exactly the calls Strongroom's hvac client makes, with Vault's
JSON shapes, status codes and error wording (builtin/logical/transit, sdk/helper/keysutil):

    POST /v1/<mount>/keys/<name>             create (aes256-gcm96), 204
    GET  /v1/<mount>/keys/<name>             read: versions, latest_version, min_decryption_version
    POST /v1/<mount>/keys/<name>/rotate      add a version
    POST /v1/<mount>/keys/<name>/config      set min_decryption_version
    POST /v1/<mount>/encrypt/<name>          {"plaintext", "associated_data"?} -> "vault:vN:<b64>"
    POST /v1/<mount>/decrypt/<name>          {"ciphertext", "associated_data"?} -> {"plaintext"}
    POST /v1/<mount>/rewrap/<name>           {"ciphertext"} -> newest version; like Vault it
                                             takes no associated_data (hashicorp/vault#29532)

Every request needs `X-Vault-Token` equal to the configured token, else 403 "permission
denied". Encrypting with a missing key creates it (Vault's upsert with `create` capability).
Ciphertext is AES-256-GCM: base64(12-byte nonce || ciphertext || tag), AAD = associated_data.
Test-only code: no Vault binary is available in CI.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_ROUTE = re.compile(
    r"/v1/(?P<mount>[A-Za-z0-9_./-]+?)/"
    r"(?:(?P<op>encrypt|decrypt|rewrap)/(?P<name>[^/]+)"
    r"|keys/(?P<key>[^/]+)(?:/(?P<action>rotate|config))?)"
)
_CIPHERTEXT = re.compile(r"vault:v(?P<version>-?[0-9]+):(?P<body>.*)", re.DOTALL)
_NONCE = 12


class _VaultError(Exception):
    def __init__(self, status: HTTPStatus, *errors: str) -> None:
        super().__init__(", ".join(errors))
        self.status = status
        self.errors = list(errors)


def _user_error(message: str) -> _VaultError:
    return _VaultError(HTTPStatus.BAD_REQUEST, message)


@dataclass
class TransitKey:
    """One named aes256-gcm96 key: versions 1..n and the decryption floor."""

    versions: list[bytes] = field(default_factory=lambda: [AESGCM.generate_key(256)])
    created: list[int] = field(default_factory=lambda: [int(time.time())])
    min_decryption_version: int = 1

    def rotate(self) -> None:
        self.versions.append(AESGCM.generate_key(256))
        self.created.append(int(time.time()))

    def encrypt(self, plaintext: bytes, aad: bytes | None) -> str:
        version = len(self.versions)
        nonce = secrets.token_bytes(_NONCE)
        sealed = AESGCM(self.versions[version - 1]).encrypt(nonce, plaintext, aad or None)
        return f"vault:v{version}:" + base64.b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, ciphertext: str, aad: bytes | None) -> bytes:
        match = _CIPHERTEXT.fullmatch(ciphertext)
        if not ciphertext.startswith("vault:"):
            raise _user_error("invalid ciphertext: no prefix")
        if match is None:
            raise _user_error("invalid ciphertext: wrong number of fields")
        version = max(int(match["version"]), 1)  # v0 is Vault's compatibility alias of v1
        if version > len(self.versions):
            raise _user_error("invalid ciphertext: version is too new")
        if version < self.min_decryption_version:
            raise _user_error("ciphertext or signature version is disallowed by policy (too old)")
        raw = _b64decode(match["body"], "invalid ciphertext: could not decode base64")
        if len(raw) < _NONCE + 16:
            raise _user_error("invalid ciphertext: unable to decrypt")
        try:
            return AESGCM(self.versions[version - 1]).decrypt(raw[:_NONCE], raw[_NONCE:], aad)
        except InvalidTag:
            raise _user_error("cipher: message authentication failed") from None

    def describe(self, name: str) -> dict[str, Any]:
        floor = self.min_decryption_version
        return {
            "name": name,
            "type": "aes256-gcm96",
            "latest_version": len(self.versions),
            "min_decryption_version": floor,
            "min_encryption_version": 0,
            "keys": {str(v): self.created[v - 1] for v in range(floor, len(self.versions) + 1)},
            "deletion_allowed": False,
            "derived": False,
            "exportable": False,
            "supports_encryption": True,
            "supports_decryption": True,
            "supports_derivation": True,
            "supports_signing": False,
        }


def _b64decode(text: object, error: str) -> bytes:
    if not isinstance(text, str):
        raise _user_error(error)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _user_error(error) from None


class VaultStandin:
    """The stand-in server. `start()` binds a free port on 127.0.0.1; `url` is its address."""

    def __init__(self, token: str, *, mount: str = "transit") -> None:
        self.token = token
        self.mount = mount
        self.keys: dict[str, TransitKey] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request seen
        self.lock = threading.Lock()
        self.connections: set[socket.socket] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> VaultStandin:
        handler = type("Handler", (_Handler,), {"standin": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and drop open keep-alive connections, as a Vault that went away."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        with self.lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def handle(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """Dispatch one authenticated request; returns `data` for a 200, None for a 204."""
        route = _ROUTE.fullmatch(path)
        if route is None or route["mount"] != self.mount:
            raise _VaultError(HTTPStatus.NOT_FOUND)
        with self.lock:
            if route["op"]:
                return self._crypto(route["op"], route["name"], body)
            return self._keys(method, route["key"], route["action"], body)

    def _keys(
        self, method: str, name: str, action: str | None, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        if method == "POST" and action is None:
            self.keys.setdefault(name, TransitKey())
            return None
        key = self.keys.get(name)
        if key is None:
            raise _VaultError(HTTPStatus.NOT_FOUND)
        if method == "POST" and action == "rotate":
            key.rotate()
        elif method == "POST" and action == "config":
            _configure(key, body)
        elif method != "GET" or action is not None:
            raise _VaultError(HTTPStatus.METHOD_NOT_ALLOWED, "unsupported operation")
        return key.describe(name)

    def _crypto(self, op: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        if op == "encrypt":
            key = self.keys.setdefault(name, TransitKey())
            plaintext = _b64decode(body.get("plaintext"), "failed to base64-decode plaintext")
            sealed = key.encrypt(plaintext, _aad(body))
            return {"ciphertext": sealed, "key_version": len(key.versions)}
        key_or_none = self.keys.get(name)
        if key_or_none is None:
            raise _user_error("encryption key not found")
        ciphertext: object = body.get("ciphertext")
        if not isinstance(ciphertext, str) or not ciphertext:
            raise _user_error("missing ciphertext to decrypt")
        if op == "decrypt":
            plain = key_or_none.decrypt(ciphertext, _aad(body))
            return {"plaintext": base64.b64encode(plain).decode("ascii")}
        # rewrap: Vault's endpoint has no associated_data field, so it decrypts without AAD.
        plain = key_or_none.decrypt(ciphertext, None)
        new = key_or_none.encrypt(plain, None)
        return {"ciphertext": new, "key_version": len(key_or_none.versions)}


def _aad(body: dict[str, Any]) -> bytes | None:
    if body.get("associated_data") in (None, ""):
        return None
    return _b64decode(body["associated_data"], "failed to base64-decode associated_data")


def _configure(key: TransitKey, body: dict[str, Any]) -> None:
    floor = body.get("min_decryption_version")
    if floor is None:
        return
    if not isinstance(floor, int) or floor < 0:
        raise _user_error("min decryption version must be a positive integer")
    if floor > len(key.versions):
        raise _user_error("cannot set min decryption version to a value greater than the latest")
    key.min_decryption_version = max(floor, 1)


class _Handler(BaseHTTPRequestHandler):
    standin: VaultStandin
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        with self.standin.lock:
            self.standin.connections.add(self.connection)

    def finish(self) -> None:
        with self.standin.lock:
            self.standin.connections.discard(self.connection)
        with contextlib.suppress(OSError):  # the socket may already be shut down by stop()
            super().finish()

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:  # Vault treats PUT and POST alike
        self._serve("POST")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `standin.requests` instead of the log."""

    def _serve(self, method: str) -> None:
        self.standin.requests.append((method, self.path))
        try:
            body = self._body()
            if self.headers.get("X-Vault-Token") != self.standin.token:
                raise _VaultError(HTTPStatus.FORBIDDEN, "permission denied")
            data = self.standin.handle(method, self.path.split("?", 1)[0], body)
        except _VaultError as exc:
            self._send(exc.status, {"errors": exc.errors})
            return
        if data is None:
            self._send(HTTPStatus.NO_CONTENT, None)
            return
        self._send(HTTPStatus.OK, _envelope(data))

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise _VaultError(HTTPStatus.BAD_REQUEST, "failed to parse JSON input") from None
        if not isinstance(body, dict):
            raise _VaultError(HTTPStatus.BAD_REQUEST, "failed to parse JSON input")
        return body

    def _send(self, status: HTTPStatus, payload: dict[str, Any] | None) -> None:
        raw = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


def _envelope(data: dict[str, Any]) -> dict[str, Any]:
    """Vault's response wrapper around `data`."""
    return {
        "request_id": secrets.token_hex(16),
        "lease_id": "",
        "renewable": False,
        "lease_duration": 0,
        "data": data,
        "wrap_info": None,
        "warnings": None,
        "auth": None,
        "mount_type": "transit",
    }
