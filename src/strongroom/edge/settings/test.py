"""Test settings: the production settings on a private temporary data directory."""

import os
import tempfile

# Always a fresh folder per process: xdist workers inherit the main process's environment, and
# a shared folder let two workers race on the same files (the audit checkpoint file did).
os.environ["STRONGROOM_DATA_DIR"] = tempfile.mkdtemp(prefix="strongroom-test-")

from strongroom.edge.settings.base import *  # noqa: F403  (a profile is the base plus overrides)

# Argon2 at full cost would dominate the suite; tests run the same code with a fast hasher.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LEASE_SECONDS = 5
HEARTBEAT_SECONDS = 1
RETRY_BACKOFF_SECONDS = 0
# Integration tests enroll a worker per test from one address; tests of the limits themselves
# set their own small rates.
RATE_LIMITS = dict.fromkeys(RATE_LIMITS, "100000/minute")  # noqa: F405
AUDIT_DB_TRIGGERS = False  # the test runner empties tables between tests; see audit/append_only
