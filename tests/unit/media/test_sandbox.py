"""The bubblewrap argument list (pure)."""

from __future__ import annotations

from pathlib import Path

from strongroom.media.sandbox import bwrap_argv


def test_it_unshares_everything_and_binds_only_the_job_dir_writable() -> None:
    argv = bwrap_argv("/usr/bin/bwrap", Path("/jobs/j1"), [Path("/opt/ff")],
                      ["/opt/ff/ffmpeg", "-version"])
    assert argv[:4] == ["/usr/bin/bwrap", "--unshare-all", "--die-with-parent", "--new-session"]
    assert "--share-net" not in argv
    writable = [argv[i + 1] for i, flag in enumerate(argv) if flag == "--bind"]
    assert writable == ["/jobs/j1"]
    assert argv[argv.index("--chdir") + 1] == "/jobs/j1"
    assert argv[4:10] == ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    assert argv[10:13] == ["--ro-bind", "/usr", "/usr"]
    assert argv[argv.index("/opt/ff") - 1:][:3] == ["--ro-bind-try", "/opt/ff", "/opt/ff"]
    assert argv[-3:] == ["--", "/opt/ff/ffmpeg", "-version"]


def test_it_gives_the_sandbox_a_private_tmp_and_no_host_etc() -> None:
    argv = bwrap_argv("bwrap", Path("/jobs/j1"), [], ["true"])
    assert argv[argv.index("--tmpfs") + 1] == "/tmp"
    bound = {argv[i + 1] for i, flag in enumerate(argv) if flag.startswith("--ro-bind")}
    assert "/etc" not in bound and "/etc/passwd" not in bound and "/home" not in bound


def test_binds_come_after_the_tmpfs_so_paths_under_tmp_stay_visible() -> None:
    argv = bwrap_argv("bwrap", Path("/tmp/jobs/j1"), [Path("/tmp/venv/bin")], ["true"])
    tmpfs = argv.index("--tmpfs")
    assert tmpfs < argv.index("/tmp/venv/bin") and tmpfs < argv.index("--bind")
