"""The vendored browser files: they match their checksum list, the pages load only them and our
own scripts, and (where npm and its registry are reachable) a fresh build from the lock file
reproduces them byte for byte."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess  # noqa: TID251  # reason: the rebuild check runs npm through the vendoring script
from pathlib import Path

import pytest

import strongroom.edge.console as console_package

CONSOLE = Path(console_package.__file__).parent
FRONTEND = CONSOLE / "frontend"
VENDOR = CONSOLE / "static" / "console" / "vendor"
OWN_SCRIPTS = CONSOLE / "static" / "console"


def test_vendored_files_match_their_checksums() -> None:
    listed = {}
    for line in (VENDOR / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    present = {p.name for p in VENDOR.iterdir()} - {"SHA256SUMS"}
    assert set(listed) == present
    for name, digest in listed.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_packages_are_pinned_to_exact_versions() -> None:
    manifest = json.loads((FRONTEND / "package.json").read_text())
    lock = json.loads((FRONTEND / "package-lock.json").read_text())
    for name, version in manifest["dependencies"].items():
        assert version[0].isdigit(), f"{name} must be pinned exactly, not {version!r}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
        assert lock["packages"][f"node_modules/{name}"]["integrity"].startswith("sha512-")


def test_our_own_scripts_use_no_eval() -> None:
    for script in OWN_SCRIPTS.glob("*.js"):
        text = script.read_text()
        for banned in ("eval(", "new Function", "innerHTML", "document.write", 'setTimeout("'):
            assert banned not in text, (script.name, banned)


def _registry_reachable(npm: str) -> bool:
    try:
        done = subprocess.run(
            [npm, "ping", "--loglevel=error"], capture_output=True, timeout=30, check=False
        )
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


@pytest.mark.slow
def test_a_fresh_build_from_the_lock_file_is_byte_identical() -> None:
    npm, bash = shutil.which("npm"), shutil.which("bash")
    if npm is None or shutil.which("node") is None or bash is None:
        pytest.skip("node/npm not installed: the vendored files can't be rebuilt here")
    if not _registry_reachable(npm):
        pytest.skip("the npm registry is not reachable from this machine")
    done = subprocess.run(
        [bash, str(FRONTEND / "vendor.sh"), "--check"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
