import pytest
from bench.abrun import Sample, column, interleave, round_order


def test_each_round_rotates_the_order():
    names = ["a", "b", "c"]
    assert [round_order(names, i) for i in range(4)] == [
        ["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], ["a", "b", "c"]]


def test_it_interleaves_variants_instead_of_running_them_in_blocks():
    calls: list[str] = []
    variants = {name: (lambda name=name: calls.append(name) or len(calls)) for name in "ab"}
    samples = interleave(variants, 2)
    assert calls == ["a", "b", "b", "a"]
    assert samples == {"a": [1, 4], "b": [2, 3]}


def test_warmup_runs_are_discarded():
    calls: list[str] = []
    samples = interleave({"a": lambda: calls.append("a") or len(calls)}, 1, warmup=True)
    assert calls == ["a", "a"]
    assert samples == {"a": [2]}


def test_it_needs_at_least_one_round():
    with pytest.raises(ValueError, match="one round"):
        interleave({"a": lambda: 1}, 0)


def test_it_extracts_one_field_as_floats():
    samples = [Sample(wall=1.0, cpu=2.0, peak_rss_kib=3), Sample(wall=4.0, cpu=5.0,
                                                                 peak_rss_kib=6)]
    assert column(samples, "peak_rss_kib") == [3.0, 6.0]
