"""Naming a region on the command line: by its code or by a path of names.

``130123101201`` (a code as stored; a statistical code also in its 6- or 9-digit form),
``示范县/柳林乡/周桥村``, ``柳林乡/周桥村`` or ``周桥村``: a path matches a region whose names,
from the county down to it, end with the given names (``/`` or ``／`` between them; spaces,
full-width forms and letter case do not matter). Several matches, or none, raise a
:class:`RegionLookupError` that lists them, or the nearest names, with their codes.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from inventory.messages import CodedError, Issue, Severity
from inventory.models import Region

_SEP = re.compile(r"\s*[/／]\s*")
NEAR_MAX = 5  # near matches or ambiguous matches listed


class RegionLookupError(CodedError):
    """No region, or several, go by the given text; :meth:`render` says which ones come near."""

    def render(self, lang: str = "zh") -> str:
        """The message in *lang*; the listed regions (a tuple) joined with that language's semicolon."""
        sep = "; " if lang == "en" else "；"
        params = {k: sep.join(v) if isinstance(v, tuple) else v for k, v in self.params.items()}
        return Issue(Severity.ERROR, self.code, params=params).message(lang)


@dataclass(frozen=True, slots=True)
class RegionEntry:
    code: str
    path: tuple[str, ...]  # names from the county down to this region

    def label(self) -> str:
        return f"{'/'.join(self.path)} ({self.code})"


def _norm(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().casefold()


def entries(rows: Iterable[tuple[str, str, str | None]]) -> list[RegionEntry]:
    """Each region (code, name, parent code) with its path of names."""
    by_code = {code: (name, parent) for code, name, parent in rows}
    out = []
    for code in by_code:
        path: list[str] = []
        at: str | None = code
        while at is not None and at in by_code and len(path) < 4:
            name, at = by_code[at]
            path.append(name)
        out.append(RegionEntry(code, tuple(reversed(path))))
    return out


def resolve(text: str, regions: list[RegionEntry]) -> str:
    """The code of the one region *text* names; raise :class:`RegionLookupError` otherwise."""
    query = text.strip()
    codes = {r.code for r in regions}
    if query in codes:
        return query
    if query.isdigit() and len(query) in (6, 9) and query.ljust(12, "0") in codes:
        return query.ljust(12, "0")
    parts = tuple(_norm(p) for p in _SEP.split(query.strip("/／ ")) if p.strip())
    if parts:
        n = len(parts)
        found = [r for r in regions if tuple(_norm(p) for p in r.path[-n:]) == parts]
        if len(found) == 1:
            return found[0].code
        if found:
            found.sort(key=lambda r: r.path)
            listed = tuple(r.label() for r in found[:NEAR_MAX]) + (("…",) if len(found) > NEAR_MAX else ())
            raise RegionLookupError("region_path_ambiguous", value=query, count=len(found), matches=listed)
    near = _near(query, parts, regions)
    if near:
        raise RegionLookupError("region_not_found_near", value=query, near=tuple(r.label() for r in near))
    raise RegionLookupError("region_not_found", value=query)


def _near(query: str, parts: tuple[str, ...], regions: list[RegionEntry]) -> list[RegionEntry]:
    """The regions whose code, or last names as many as given, come closest to *query*."""
    n = max(len(parts), 1)
    wanted = "/".join(parts)
    scored = []
    for r in regions:
        tail = "/".join(_norm(p) for p in r.path[-n:])
        score = max(difflib.SequenceMatcher(None, wanted, tail).ratio(),
                    difflib.SequenceMatcher(None, query, r.code).ratio())
        if score >= 0.5:
            scored.append((-score, r.path, r))
    scored.sort(key=lambda t: (t[0], t[1]))
    return [r for _, _, r in scored[:NEAR_MAX]]


async def find_region(engine: AsyncEngine, text: str) -> str:
    """The code of the stored region *text* names (see :func:`resolve`)."""
    async with engine.connect() as conn:
        rows = (await conn.execute(select(Region.code, Region.name, Region.parent_code))).all()
    return resolve(text, entries((r.code, r.name, r.parent_code) for r in rows))
