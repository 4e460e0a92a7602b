"""Planning regions: each row's county, township and village resolved to a code.

A code given in the file wins; a name without a code takes the code the file or the database
already has for that name under the same parent, or a derived one.
"""

from __future__ import annotations

from inventory.changes import LEVELS, RegionChange, RegionNew
from inventory.models import RegionLevel
from inventory.planning import Planning
from inventory.regions import check_ancestor, check_parent, derive_code
from inventory.rows import RegionIn, RowIn

_REGION_COLS = {
    RegionLevel.COUNTY: ("county", "county_code"),
    RegionLevel.TOWNSHIP: ("township", "township_code"),
    RegionLevel.VILLAGE: ("village", "village_code"),
}


def plan_regions(ctx: Planning) -> None:
    """Resolve each row's county, township and village to a code; plan new and changed regions."""
    db_by_name: dict[tuple[RegionLevel, str | None, str], list[str]] = {}
    for r in ctx.state.regions.values():
        db_by_name.setdefault((r.level, r.parent_code, r.name), []).append(r.code)
    seen: dict[str, tuple[RegionLevel, str, str | None, int]] = {}
    for level in LEVELS:
        name_col, code_col = _REGION_COLS[level]
        # names given with explicit codes in the file, per parent
        explicit: dict[tuple[str | None, str], set[str]] = {}
        for row in ctx.rows:
            reg = _region_of(row, level)
            parent = _parent_code(ctx, row, level)
            if reg.code is not None and (parent is not None or level is RegionLevel.COUNTY):
                explicit.setdefault((parent, reg.name), set()).add(reg.code)
        for row in ctx.rows:
            reg = _region_of(row, level)
            parent = _parent_code(ctx, row, level)
            if level is not RegionLevel.COUNTY and parent is None:
                continue  # the parent failed; already reported
            code = reg.code
            derived = False
            if code is None:
                cands = explicit.get((parent, reg.name)) or set(db_by_name.get((level, parent, reg.name), []))
                if len(cands) > 1:
                    ctx.error(row.row, code_col, "region_ambiguous", name=reg.name, codes="、".join(sorted(cands)))
                    continue
                if cands:
                    code = next(iter(cands))
                else:
                    code = derive_code(level, parent, reg.name)
                    derived = True
            elif parent is not None and not check_parent(code, level, parent):
                ctx.error(row.row, code_col, "region_parent_mismatch", code=code, parent=parent)
                continue
            elif level is RegionLevel.VILLAGE:
                county = ctx.resolved.get((row.row, RegionLevel.COUNTY))
                if county is not None and not check_ancestor(code, county, RegionLevel.COUNTY):
                    ctx.error(row.row, code_col, "region_parent_mismatch", code=code, parent=county)
                    continue
            prev = seen.get(code)
            if prev is not None:
                p_level, p_name, p_parent, p_row = prev
                if p_level is not level:
                    ctx.error(row.row, code_col, "region_level_conflict", code=code, actual=p_level.value)
                    continue
                if p_name != reg.name:
                    ctx.error(row.row, name_col, "region_name_conflict", code=code, other=p_name, other_row=p_row, name=reg.name)
                    continue
                if p_parent != parent:
                    ctx.error(row.row, name_col, "region_parent_conflict", code=code, name=reg.name, other_row=p_row)
                    continue
            else:
                stored = ctx.state.regions.get(code)
                if stored is not None and stored.level is not level:
                    ctx.error(row.row, code_col, "region_level_conflict", code=code, actual=stored.level.value)
                    continue
                seen[code] = (level, reg.name, parent, row.row)
                if stored is None:
                    ctx.plan.region_new.append(RegionNew(code, reg.name, level, parent, derived, row.row))
                else:
                    changed = tuple(
                        f for f, a, b in (("name", stored.name, reg.name), ("parent_code", stored.parent_code, parent)) if a != b
                    )
                    if changed:
                        ctx.plan.region_changed.append(RegionChange(code, reg.name, parent, changed))
            ctx.resolved[(row.row, level)] = code
            if level is RegionLevel.COUNTY:
                ctx.plan.counties.add(code)


def _region_of(row: RowIn, level: RegionLevel) -> RegionIn:
    if level is RegionLevel.COUNTY:
        return row.county
    return row.township if level is RegionLevel.TOWNSHIP else row.village


def _parent_code(ctx: Planning, row: RowIn, level: RegionLevel) -> str | None:
    if level is RegionLevel.COUNTY:
        return None
    parent_level = RegionLevel.COUNTY if level is RegionLevel.TOWNSHIP else RegionLevel.TOWNSHIP
    return ctx.resolved.get((row.row, parent_level))
