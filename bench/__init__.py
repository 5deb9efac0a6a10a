"""Strongroom's benchmarks: paired A/B ratios against baselines measured in the same run.

``python -m bench`` (``make bench``) generates its inputs, runs every benchmark, prints a
table and writes ``bench/results/latest.json``. Nothing here runs inside ``make test``.
"""
