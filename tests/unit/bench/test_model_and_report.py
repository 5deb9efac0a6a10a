import json

import pytest
from bench.model import Comparison, Figure, Status, Target, Unit, skipped
from bench.report import format_value, render_table, table_row, tally, write_json
from bench.stats import summarize


def figure(median: float, target: Target | None, unit: Unit = Unit.RATIO) -> Figure:
    return Figure(key="T1", title="ladder", unit=unit, summary=summarize([median]), target=target)


@pytest.mark.parametrize(("value", "status"), [(1.05, Status.MET), (1.051, Status.MISSED)])
def test_it_judges_an_upper_bound_inclusively(value, status):
    assert Target("T1", Comparison.AT_MOST, 1.05).judge(value) is status


@pytest.mark.parametrize(("value", "status"), [(0.8, Status.MET), (0.79, Status.MISSED)])
def test_it_judges_a_lower_bound_inclusively(value, status):
    assert Target("T7", Comparison.AT_LEAST, 0.8).judge(value) is status


def test_it_judges_the_median_not_the_best_repetition():
    slow = Figure(key="T1", title="x", unit=Unit.RATIO, summary=summarize([1.0, 1.2, 1.3]),
                  target=Target("T1", Comparison.AT_MOST, 1.05))
    assert slow.status is Status.MISSED


def test_a_figure_without_target_is_context_only():
    assert figure(3.0, None).status is Status.INFO


def test_a_skipped_figure_keeps_its_reason_and_target():
    item = skipped("T7-openssl", "openssl", Unit.RATIO, "no openssl binary",
                   Target("T7", Comparison.AT_LEAST, 1.3))
    assert item.status is Status.SKIPPED
    assert "no openssl binary" in table_row(item)
    assert "T7 >= 1.3" in table_row(item)


def test_a_missed_target_is_shown_in_the_table():
    table = render_table([figure(1.2, Target("T1", Comparison.AT_MOST, 1.05))])
    assert "MISSED" in table
    assert "1.200x" in table


def test_the_table_has_a_header_separator_and_one_row_per_figure():
    lines = render_table([figure(1.0, None), figure(2.0, None)]).splitlines()
    assert len(lines) == 4
    assert lines[1].startswith("| --- |")


def test_pipes_in_cells_cannot_break_the_table():
    item = Figure(key="k", title="a | b", unit=Unit.RATIO, summary=summarize([1.0]))
    row = render_table([item]).splitlines()[2]
    assert row.count("|") == 8


@pytest.mark.parametrize(("unit", "text"), [(Unit.RATIO, "1.235x"), (Unit.SECONDS, "1.235 s"),
                                            (Unit.MICROSECONDS, "1.23 us")])
def test_it_formats_values_in_their_unit(unit, text):
    assert format_value(1.2346, unit) == text


def test_it_counts_every_status_including_zero():
    counts = tally([figure(2.0, Target("T1", Comparison.AT_MOST, 1.05))])
    assert counts == {"met": 0, "MISSED": 1, "info": 0, "skipped": 0}


def test_it_writes_json_with_the_judged_status(tmp_path):
    path = tmp_path / "results" / "latest.json"
    write_json(path, {"figures": [figure(1.0, Target("T1", Comparison.AT_MOST, 1.05)).to_dict()]})
    written = json.loads(path.read_text())
    assert written["figures"][0]["status"] == "met"
    assert written["figures"][0]["target"] == "T1 <= 1.05"
    assert not path.with_suffix(".partial").exists()
