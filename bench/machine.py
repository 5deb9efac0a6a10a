"""Facts about the machine and the tools, recorded next to every result."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import cryptography
from cryptography.hazmat.backends.openssl.backend import backend as openssl_backend

CPUINFO = Path("/proc/cpuinfo")
MEMINFO = Path("/proc/meminfo")


def _cpuinfo_field(text: str, name: str) -> str:
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return ""


def cpu_facts(cpuinfo: str) -> dict[str, Any]:
    """CPU model and whether AES-NI / SHA extensions are present, from ``/proc/cpuinfo``."""
    flags = set(_cpuinfo_field(cpuinfo, "flags").split())
    return {
        "cpu_model": _cpuinfo_field(cpuinfo, "model name") or platform.processor() or "unknown",
        "aes_ni": "aes" in flags,
        "sha_ni": "sha_ni" in flags,
    }


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _memory_gib() -> float | None:
    total = _cpuinfo_field(_read(MEMINFO), "MemTotal").split()
    return round(int(total[0]) / (1 << 20), 1) if total else None


def ffmpeg_facts(ffmpeg: Path) -> dict[str, Any]:
    """First line of ``ffmpeg -version`` and whether libvmaf is built in."""
    done = subprocess.run([str(ffmpeg), "-hide_banner", "-version"], capture_output=True,
                          text=True, check=False, timeout=30)
    lines = done.stdout.splitlines()
    return {"ffmpeg": lines[0] if lines else "unknown",
            "ffmpeg_libvmaf": "--enable-libvmaf" in done.stdout}


def machine_facts(ffmpeg: Path) -> dict[str, Any]:
    """Everything a reader needs to judge where the numbers came from."""
    return {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        **cpu_facts(_read(CPUINFO)),
        "memory_gib": _memory_gib(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "cryptography": cryptography.__version__,
        "cryptography_openssl": openssl_backend.openssl_version_text(),
        "openssl_cli": shutil.which("openssl") is not None,
        "bwrap": shutil.which("bwrap") is not None,
        **ffmpeg_facts(ffmpeg),
    }
