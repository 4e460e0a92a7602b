"""``GET /api/v1/reports/{period}``: a closed month's frozen report (its snapshot) as JSON.

Only closed periods are served (404 otherwise: a month to date changes until it is closed; the
console's ``/reports`` shows it). A report is region figures, so it is read for a county or a
township the reader reads wholly (DESIGN §10): ``?region=`` picks one; without it the reader's
first such region (the county, or a township leader's township). A contractor or a
village-scoped account reads none (404), as does a region outside the scope.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web
from sqlalchemy import select

from collector.reports.model import Kind, to_dict
from collector.reports.periods import PeriodError, parse_label
from collector.reports.scope import restrict
from collector.reports.snapshots import load_snapshot
from collector.web.common import bad_param, camwatch, iso, json_response, not_found
from collector.web.params import text_param
from collector.web.principal import Principal, Role
from collector.web.report_bodies import ClosedReport, ReportBody
from collector.web.scope import reader, region_paths
from inventory.models import Region

LEVELS = ("county", "township")


def kind_of(label: str) -> Kind:
    return Kind.QUARTERLY if "Q" in label.upper() else Kind.MONTHLY


def readable_report_regions(p: Principal | None, regions: Sequence[tuple[str, str, tuple[str, ...]]]) -> list[str]:
    """Codes of the counties and townships (*regions*: code, level, path) whose report *p* may read,
    counties first, each level by code: those it reads wholly; none for a contractor."""
    if p is not None and p.role is Role.CONTRACTOR:
        return []
    return [code for level in LEVELS for code, lv, path in sorted(regions) if lv == level
            and (p is None or p.whole_region(path))]




async def get_report(request: web.Request) -> web.Response:
    app = camwatch(request)
    label = request.match_info["period"]
    try:
        period = parse_label(kind_of(label), label, app.settings.accounting.timezone)
    except PeriodError as exc:
        raise bad_param("period", exc.en) from None
    p = reader(request)
    paths = await region_paths(app.engine)
    async with app.engine.connect() as conn:
        levels = {c: getattr(lv, "value", str(lv)) for c, lv in (await conn.execute(select(Region.code, Region.level))).all()}
    allowed = readable_report_regions(p, [(c, levels[c], paths[c]) for c in paths if levels.get(c) in LEVELS])
    asked = text_param(request, "region")
    if asked is not None and asked not in allowed:
        raise not_found(f"no county or township {asked!r}")
    if not allowed:
        raise not_found("no report this account may read")
    stored = await load_snapshot(app.engine, period)
    if stored is None:
        raise not_found(f"{period.label} is not closed")
    code = asked or allowed[0]
    report = restrict(stored.report, code)
    body: ReportBody = to_dict(report)  # type: ignore[assignment]  # the model's stable encoding
    answer: ClosedReport = {"period": period.label, "kind": "monthly" if period.kind is Kind.MONTHLY else "quarterly",
                            "closed_at": iso(stored.created_at) or "", "content_hash": stored.sha256,
                            "region": code, "report": body}
    return json_response(answer)


__all__ = ["get_report", "kind_of", "readable_report_regions"]
