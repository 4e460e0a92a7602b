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

# Replicas (DESIGN §8): each camera's series come from the replica that owns it and the region
# series from the leader, so while a shard or the leadership moves a camera or a region can be on
# two targets for a scrape or two. The panels take one series per camera or region (max by its own
# labels, without the target's): nothing counted twice, and one line across a move.
CAMERA_KEYS = ("camera", "camera_name", "village", "village_name", "township", "township_name", "county", "county_name")
REGION_KEYS = ("level", "region", "region_name")


def per_camera(expr: str, *extra: str) -> str:
    """One series per camera (and *extra* labels) of a per-camera selector, whichever target has it."""
    return f"max by ({', '.join((*CAMERA_KEYS, *extra))}) ({expr})"


def per_region(expr: str, *extra: str) -> str:
    """One series per region (and *extra* labels) of a region selector, whichever target has it."""
    return f"max by ({', '.join((*REGION_KEYS, *extra))}) ({expr})"
