"""Landlock rules, the seccomp deny list and the shim's command line (nothing is applied here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from strongroom.media.confine import (
    DENIED_SYSCALLS,
    SYSTEM_READ_EXEC,
    Confinement,
    FsAccess,
    Layers,
    PathRule,
    compile_seccomp_filter,
    detect_layers,
    handled_fs,
    main,
    path_rules,
    shim_argv,
)

pytestmark = pytest.mark.unit

READ_EXEC = FsAccess.EXECUTE | FsAccess.READ_FILE | FsAccess.READ_DIR
HAS_PYSECCOMP = importlib.util.find_spec("pyseccomp") is not None


def rule_for(rules: tuple[PathRule, ...], path: Path) -> int:
    (match,) = [rule.access for rule in rules if rule.path == str(path.resolve())]
    return match


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    system, job = tmp_path / "system", tmp_path / "job"
    system.mkdir()
    job.mkdir()
    return system, job


def test_every_right_the_abi_knows_is_handled() -> None:
    assert [handled_fs(abi) for abi in range(8)] == [
        0, 0x1FFF, 0x3FFF, 0x7FFF, 0x7FFF, 0xFFFF, 0xFFFF, 0xFFFF]


def test_system_folders_are_readable_and_executable_only(folders: tuple[Path, Path]) -> None:
    system, job = folders
    rules = path_rules([system], job, abi=7)
    assert rule_for(rules, system) == READ_EXEC


def test_the_job_dir_is_writable_but_nothing_in_it_can_be_executed(
        folders: tuple[Path, Path]) -> None:
    system, job = folders
    access = FsAccess(rule_for(path_rules([system], job, abi=7), job))
    needed = (FsAccess.READ_FILE | FsAccess.WRITE_FILE | FsAccess.MAKE_REG | FsAccess.MAKE_DIR
              | FsAccess.REMOVE_FILE | FsAccess.TRUNCATE | FsAccess.REFER)
    assert access & needed == needed
    for refused in (FsAccess.EXECUTE, FsAccess.MAKE_SYM, FsAccess.MAKE_SOCK, FsAccess.MAKE_FIFO,
                    FsAccess.MAKE_CHAR, FsAccess.MAKE_BLOCK, FsAccess.IOCTL_DEV):
        assert not access & refused, refused


def test_only_the_job_dir_is_writable(folders: tuple[Path, Path]) -> None:
    system, job = folders
    rules = path_rules([*map(Path, SYSTEM_READ_EXEC), system], job, abi=7)
    writable = [rule.path for rule in rules if rule.access & FsAccess.WRITE_FILE]
    assert writable == [str(job.resolve())]
    assert all(not rule.access & FsAccess.EXECUTE for rule in rules if rule.path == writable[0])


def test_a_file_gets_only_file_rights(folders: tuple[Path, Path]) -> None:
    # The kernel refuses READ_DIR on a file when the rule is added.
    system, job = folders
    cache = system / "ld.so.cache"
    cache.write_bytes(b"cache")
    rules = path_rules([cache], job, abi=7)
    assert rule_for(rules, cache) == FsAccess.EXECUTE | FsAccess.READ_FILE


def test_missing_paths_get_no_rule(folders: tuple[Path, Path]) -> None:
    system, job = folders
    rules = path_rules([system / "lib32", Path("/no/such/folder")], job, abi=7)
    assert [rule.path for rule in rules] == [str(job.resolve())]


def test_symlinks_are_resolved_as_landlock_does(folders: tuple[Path, Path]) -> None:
    system, job = folders
    (system / "usr-lib").mkdir()
    link = system / "lib"
    link.symlink_to(system / "usr-lib")
    rules = path_rules([link], job, abi=7)
    assert str((system / "usr-lib").resolve()) in [rule.path for rule in rules]
    assert str(link) not in [rule.path for rule in rules]


def test_a_rule_inside_another_that_adds_nothing_is_dropped(folders: tuple[Path, Path]) -> None:
    system, job = folders
    (system / "lib").mkdir()
    rules = path_rules([system, system / "lib"], job, abi=7)
    assert [rule.path for rule in rules] == sorted([str(system.resolve()), str(job.resolve())])


def test_a_job_dir_inside_a_read_only_folder_keeps_its_own_rule(tmp_path: Path) -> None:
    job = tmp_path / "job"
    job.mkdir()
    rules = path_rules([tmp_path], job, abi=7)
    assert rule_for(rules, job) & FsAccess.WRITE_FILE


def test_rights_the_abi_does_not_know_are_left_out(folders: tuple[Path, Path]) -> None:
    system, job = folders
    rules = path_rules([system], job, abi=1)
    assert all(rule.access & ~handled_fs(1) == 0 for rule in rules)
    assert not rule_for(rules, job) & (FsAccess.REFER | FsAccess.TRUNCATE)


def test_the_writable_path_must_be_a_directory(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"x")
    for path in (tmp_path / "file", tmp_path / "missing"):
        with pytest.raises(ValueError, match="directory"):
            path_rules([], path, abi=7)


@pytest.mark.parametrize(("abi", "net", "scoped"), [(3, 0, 0), (4, 3, 0), (5, 3, 0), (6, 3, 3),
                                                    (7, 3, 3)])
def test_tcp_is_denied_from_abi_4_and_scopes_from_abi_6(
        abi: int, net: int, scoped: int, folders: tuple[Path, Path]) -> None:
    confinement = Layers(abi, b"").confinement([folders[0]], folders[1])
    assert confinement is not None
    assert (confinement.handled_fs, confinement.handled_net, confinement.scoped) == (
        handled_fs(abi), net, scoped)


def test_the_system_folders_are_always_in_the_rules(folders: tuple[Path, Path]) -> None:
    confinement = Layers(7, b"").confinement([], folders[1])
    assert confinement is not None
    assert str(Path("/usr").resolve()) in [rule.path for rule in confinement.rules]


def test_seccomp_alone_has_no_landlock_rules(folders: tuple[Path, Path]) -> None:
    confinement = Layers(0, bytes(8)).confinement([folders[0]], folders[1])
    assert confinement is not None
    assert (confinement.handled_fs, confinement.rules, confinement.seccomp_bpf) == (
        0, (), bytes(8))


def test_no_layer_means_no_confinement(folders: tuple[Path, Path]) -> None:
    assert Layers(0, b"").confinement([folders[0]], folders[1]) is None


@pytest.mark.parametrize(("layers", "bwrap", "line"), [
    (Layers(7, bytes(8)), True, "sandbox: bwrap+landlock(abi 7)+seccomp+rlimits"),
    (Layers(3, b"", ("seccomp unavailable (pyseccomp not installed)",)), True,
     "sandbox: bwrap+landlock(abi 3, no TCP rules)+rlimits; "
     "seccomp unavailable (pyseccomp not installed)"),
    (Layers(0, bytes(8), ("landlock unavailable (kernel)",)), False,
     "sandbox: seccomp+rlimits; bwrap not available; landlock unavailable (kernel)"),
    (Layers(0, b"", ("landlock unavailable (kernel)",)), False,
     "sandbox: rlimits only; bwrap not available; landlock unavailable (kernel)"),
])
def test_the_log_line_says_what_is_on_and_why_the_rest_is_off(
        layers: Layers, bwrap: bool, line: str) -> None:
    assert layers.summary(bwrap=bwrap) == line


def test_a_confinement_survives_the_shim_command_line() -> None:
    confinement = Confinement(0x7FFF, 3, 0, (PathRule("/usr", 13), PathRule("/jobs/j 1", 0x43)),
                              bytes(range(16)))
    argv = shim_argv(Path("/venv/bin/python"), confinement, ["/opt/ffmpeg", "-i", "file:x"])
    assert argv[:4] == ["/venv/bin/python", "-I", "-m", "strongroom.media.confine"]
    assert argv[5:] == ["--", "/opt/ffmpeg", "-i", "file:x"]
    assert Confinement.decode(argv[4]) == confinement


@pytest.mark.parametrize("text", ["", "[]", "{}", '{"fs": 1, "net": 0, "scoped": 0, '
                                  '"rules": [["/usr"]], "seccomp": ""}', '{"fs": 1, "net": 0, '
                                  '"scoped": 0, "rules": [], "seccomp": "zz"}'])
def test_a_malformed_shim_spec_is_refused(text: str) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        Confinement.decode(text)


def test_a_bpf_program_must_be_whole_instructions() -> None:
    # Checked when the child's work is prepared, in the parent, not between fork and exec.
    with pytest.raises(ValueError, match="8-byte"):
        Confinement(0, 0, 0, (), b"\x00" * 12).applier()


def test_the_shim_refuses_bad_arguments_without_running_anything(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 64
    assert main(["{}", "/bin/true"]) == 64
    assert main(["not json", "--", "/bin/true"]) == 70
    assert "confine failed" in capsys.readouterr().err


def test_the_deny_list_covers_network_debugging_and_the_keyring() -> None:
    required = {"socket", "connect", "bind", "ptrace", "process_vm_readv", "process_vm_writev",
                "keyctl", "add_key", "request_key", "io_uring_setup", "bpf", "unshare", "mount"}
    assert required <= set(DENIED_SYSCALLS)
    assert len(set(DENIED_SYSCALLS)) == len(DENIED_SYSCALLS)


def test_the_deny_list_leaves_what_ffmpeg_and_python_need() -> None:
    needed = {"read", "write", "openat", "close", "mmap", "mprotect", "munmap", "brk", "futex",
              "clone", "clone3", "execve", "exit_group", "rt_sigaction", "prctl", "socketpair",
              "getrandom", "sched_getaffinity", "landlock_restrict_self", "seccomp"}
    assert not needed & set(DENIED_SYSCALLS)


@pytest.mark.skipif(not HAS_PYSECCOMP, reason="pyseccomp is not installed")
def test_the_filter_compiles_to_whole_bpf_instructions_and_skips_unknown_calls() -> None:
    program = compile_seccomp_filter()
    assert program and len(program) % 8 == 0
    assert compile_seccomp_filter(("socket", "no_such_syscall")) == compile_seccomp_filter(
        ("socket",))
    assert len(compile_seccomp_filter(("socket",))) < len(program)


def test_without_pyseccomp_the_layer_is_reported_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyseccomp", None)  # makes the import fail
    layers = detect_layers()
    assert layers.seccomp_bpf == b"" and "seccomp" not in layers.active
    assert "seccomp unavailable (pyseccomp not installed)" in layers.notes
