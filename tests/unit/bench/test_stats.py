import pytest
from bench.stats import paired_differences, paired_ratios, quantile, summarize


def test_it_summarises_odd_counts_with_the_middle_value():
    summary = summarize([3.0, 1.0, 2.0])
    assert (summary.median, summary.low, summary.high, summary.count) == (2.0, 1.0, 3.0, 3)


def test_it_interpolates_quartiles_linearly():
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.25) == pytest.approx(1.75)
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.75) == pytest.approx(3.25)


def test_it_summarises_a_single_sample():
    summary = summarize([5.0])
    assert (summary.q1, summary.median, summary.q3) == (5.0, 5.0, 5.0)


def test_it_rejects_an_empty_sample():
    with pytest.raises(ValueError, match="no values"):
        summarize([])


@pytest.mark.parametrize("fraction", [-0.1, 1.1])
def test_it_rejects_a_fraction_outside_zero_to_one(fraction):
    with pytest.raises(ValueError, match="fraction"):
        quantile([1.0], fraction)


def test_it_pairs_ratios_by_round():
    assert paired_ratios([2.0, 6.0], [1.0, 3.0]) == [2.0, 2.0]


def test_it_rejects_unpaired_samples():
    with pytest.raises(ValueError, match="same length"):
        paired_ratios([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="same length"):
        paired_differences([1.0, 2.0], [1.0])


def test_it_rejects_a_zero_baseline():
    with pytest.raises(ValueError, match="zero"):
        paired_ratios([1.0], [0.0])


def test_it_pairs_differences_by_round():
    assert paired_differences([5.0, 7.0], [4.5, 6.0]) == [0.5, 1.0]
