"""A report restricted to one region (a township leader gets their township's), pure.

The county's whole report is what is computed and frozen; a township's is cut from it: its
own row (with its rank among all townships), its villages, faults, work orders, exclusions
(and the county-wide ones), completeness, and the score's deductions that concern it.
A village narrows the villages to itself, within its township's report.
"""

from __future__ import annotations

import dataclasses

from collector.reports.model import Report
from collector.reports.score import restricted


class UnknownRegion(LookupError):
    pass


def restrict(report: Report, code: str) -> Report:
    """*report* cut to region *code* (a county: unchanged but named; a township; a village)."""
    county = next((c for c in report.counties if c.code == code), None)
    if county is not None:
        return dataclasses.replace(report, region=code, region_name=county.name)
    town = next((t for t in report.townships if t.code == code), None)
    village = next((v for v in report.villages if v.code == code), None)
    if town is None and village is not None:
        town = next((t for t in report.townships if t.code == village.township), None)
    if town is None:
        raise UnknownRegion(code)
    t = town.code
    villages = tuple(v for v in report.villages if v.township == t and (village is None or v.code == village.code))
    return dataclasses.replace(
        report, region=code, region_name=village.name if village is not None else town.name,
        counties=(), townships=(town,), villages=villages,
        faults=tuple(f for f in report.faults if f.township == t and (village is None or f.village == village.code)),
        work_orders=tuple(o for o in report.work_orders if o.township == t),
        exclusions=tuple(e for e in report.exclusions if e.township in (t, "")),
        completeness=tuple(c for c in report.completeness if c.code == t),
        score=restricted(report.score, (d for d in report.score.deductions if d.township == t)),
    )


__all__ = ["UnknownRegion", "restrict"]
