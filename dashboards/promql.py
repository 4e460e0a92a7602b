"""PromQL pieces the dashboards share: the label filters of the region variables and a selector."""

from __future__ import annotations

# label filters of the chained region variables (names, which users know; codes are one-to-one)
CAMERA_FILTER = 'county_name=~"$county",township_name=~"$township",village_name=~"$village"'
TOWNSHIP_FILTER = 'level="township",region_name=~"$township"'
VILLAGE_FILTER = 'level="village",region_name=~"$village"'
COUNTY_FILTER = 'level="county",region_name=~"$county"'


def sel(metric: str, *matchers: str) -> str:
    """``metric{m1,m2,...}``: a series selector from label matchers (filters above or ``name="value"``)."""
    return f"{metric}{{{','.join(matchers)}}}"
