#!/usr/bin/env bash
# Debian packages Strongroom uses when the host has them: bubblewrap sandboxes ffmpeg (no network,
# read-only system, only the job folder writable). Without root or apt, Strongroom still runs,
# with resource limits only, and says so in its log.
# `system-deps.sh test` (used by `make test` only) also wants Debian's chromium, which the
# browser tests drive with Playwright; without it those tests skip and say why.
set -u
packages=()
notes=""
command -v bwrap >/dev/null 2>&1 || { packages+=(bubblewrap); notes="ffmpeg will run with rlimits only"; }
if [ "${1:-}" = test ] && ! command -v chromium >/dev/null 2>&1; then
  packages+=(chromium)
  notes="${notes:+$notes; }the browser tests will be skipped"
fi
[ ${#packages[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: ${packages[*]} not installed (needs root and apt-get); $notes"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null 2>&1 \
  || { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null; } \
  || echo "note: could not install ${packages[*]}; $notes"
exit 0
