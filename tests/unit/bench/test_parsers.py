import os

import pytest
from bench.encryption import parse_openssl_speed
from bench.machine import cpu_facts
from bench.proctree import parse_cpu_seconds, parse_hwm_kib
from bench.vmaf import parse_vmaf_log

OPENSSL = """The 'numbers' are in 1000s of bytes per second processed.
type        1048576 bytes
AES-256-GCM    4814976.26k
"""


def test_it_reads_openssl_speed_in_kilobytes():
    assert parse_openssl_speed(OPENSSL) == pytest.approx(4814976.26)


def test_it_refuses_openssl_output_without_the_cipher_row():
    with pytest.raises(ValueError, match="aes-256-gcm"):
        parse_openssl_speed("type 16 bytes\n")


def test_it_reads_pooled_vmaf():
    score = parse_vmaf_log({"pooled_metrics": {"vmaf": {"mean": 91.5, "min": 80.0}}})
    assert (score.mean, score.minimum) == (91.5, 80.0)


def test_it_refuses_a_vmaf_log_without_pooled_metrics():
    with pytest.raises(ValueError, match="pooled"):
        parse_vmaf_log({"frames": []})


def test_it_reads_cpu_seconds_even_with_spaces_in_the_process_name():
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    stat = "42 (ff mpeg) R 1 1 1 0 -1 0 0 0 0 0 250 50 0 0"
    assert parse_cpu_seconds(stat) == pytest.approx(300 / os.sysconf("SC_CLK_TCK"))


def test_it_reads_peak_rss_and_zero_when_absent():
    assert parse_hwm_kib("Name:\tffmpeg\nVmHWM:\t  537000 kB\n") == 537000
    assert parse_hwm_kib("Name:\tkthreadd\n") == 0


def test_it_detects_aes_ni_from_cpu_flags():
    facts = cpu_facts("model name\t: Example CPU\nflags\t\t: fpu sse2 aes avx2\n")
    assert facts == {"cpu_model": "Example CPU", "aes_ni": True, "sha_ni": False}
