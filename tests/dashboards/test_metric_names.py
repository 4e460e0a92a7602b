"""The dashboards' metric names are the declared families' (collector.metrics.families)."""

from __future__ import annotations

from collector.metrics import families
from dashboards import metrics


def test_each_name_is_the_family_of_the_same_name() -> None:
    declared = {k: v for k, v in vars(families).items() if isinstance(v, families.Family)}
    named = {k: getattr(metrics, k) for k in declared if hasattr(metrics, k)}
    assert families.PROBE_LATENESS.sample_names == (metrics.LATENESS_BUCKET, metrics.LATENESS_SUM, metrics.LATENESS_COUNT)
    assert set(named) == set(declared) - {"PROBE_LATENESS"}  # every family has its name in dashboards/metrics.py
    for k, name in named.items():
        assert name == declared[k].name, k
    assert {n for f in families.FAMILIES for n in f.sample_names} == metrics.EXPORTED
