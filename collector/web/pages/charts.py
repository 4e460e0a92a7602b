"""Charts drawn on the server as inline SVG: a daily-rate chart and a camera's state timeline.

Pure functions of their data (no request, no I/O); the result is markup ready to embed (every
text in it escaped here).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from html import escape
from zoneinfo import ZoneInfo

W, H = 400, 150
TL_W = 1000
LEFT, RIGHT, TOP, BOTTOM = 36, 6, 8, 20
STATE_COLOURS = {"online": "#2e7d32", "degraded": "#e0a800", "offline": "#c62828", "unknown": "#b0b8c1",
                 "excluded": "#5c6bc0"}
RATE_COLOURS = {"ok": "#2e7d32", "warn": "#e0a800", "bad": "#c62828"}


def _lo(values: Sequence[float], target: float | None) -> float:
    """The bottom of the y axis: a multiple of 5 % at least 5 % under the lowest value or the target."""
    low = min([*values, *([target] if target is not None else []), 0.9])
    return max(0.0, int((low - 0.05) * 20) / 20)


def rate_chart(days: Sequence[tuple[dt.date, float | None]], target: float | None, title: str, last_note: str = "") -> str:
    """Bars of each day's rate (green at or above the target, yellow just under, red under),
    the target as a dashed line; a day without data is left empty. *last_note* follows the last
    day's rate in its tooltip (today's: as of when)."""
    values = [r for _, r in days if r is not None]
    raw = 1.0 - _lo(values, target)
    tick = 0.05 if raw <= 0.25 + 1e-9 else (0.1 if raw <= 0.5 + 1e-9 else 0.25)
    lo = max(0.0, 1.0 - tick * math.ceil(raw / tick - 1e-9))
    span = 1.0 - lo
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    n = max(1, len(days))
    step = pw / n
    bar = max(1.0, step * 0.75)

    def y(v: float) -> float:
        return TOP + ph * (1.0 - (min(max(v, lo), 1.0) - lo) / span)

    out = [f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
           f'<title>{escape(title)}</title>', '<g font-size="11" fill="#4a5561">']
    ticks = [lo + tick * k for k in range(int(round(span / tick)) + 1)]
    for tv in ticks:
        ty = y(tv)
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#e7ebef"/>')
        out.append(f'<text x="{LEFT - 3}" y="{ty + 3:.1f}" text-anchor="end">{tv * 100:.0f}%</text>')
    for i, (day, r) in enumerate(days):
        if r is None:
            continue
        colour = RATE_COLOURS["ok" if target is None or r >= target - 1e-9 else ("warn" if r >= target - 0.02 else "bad")]
        x = LEFT + i * step + (step - bar) / 2
        top = y(r)
        out.append(f'<rect x="{x:.1f}" y="{top:.1f}" width="{bar:.1f}" height="{TOP + ph - top:.1f}" fill="{colour}">'
                   f'<title>{day.isoformat()} {r * 100:.2f}%{escape(last_note) if i == len(days) - 1 else ""}</title></rect>')
    if target is not None:
        ty = y(target)
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#1d2733" stroke-dasharray="4 3"/>')
    if days:
        first, last = days[0][0], days[-1][0]
        out.append(f'<text x="{LEFT}" y="{H - 5}">{first:%m-%d}</text>')
        out.append(f'<text x="{W - RIGHT}" y="{H - 5}" text-anchor="end">{last:%m-%d}</text>')
    if not values:
        out.append(f'<text x="{W / 2}" y="{TOP + ph / 2}" text-anchor="middle">—</text>')
    out.append("</g></svg>")
    return "".join(out)


def timeline(spans: Sequence[tuple[dt.datetime, dt.datetime | None, str]], lo: dt.datetime, hi: dt.datetime,
             tz: ZoneInfo, title: str, state_words: Callable[[str], str] = str) -> str:
    """A bar from *lo* to *hi* coloured by the state in force (none known: unknown grey),
    stretched to the page's width (its time labels are HTML under it, so they keep their size);
    each span's tooltip names its state by *state_words* (the page's language)."""
    width = (hi - lo).total_seconds() or 1.0
    out = [f'<svg class="bar" viewBox="0 0 {TL_W} 10" preserveAspectRatio="none" role="img" aria-label="{escape(title)}" '
           f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
           f'<rect x="0" y="0" width="{TL_W}" height="10" fill="{STATE_COLOURS["unknown"]}"/>']
    for start, end, state in spans:
        a = max(start, lo)
        b = min(end or hi, hi)
        if b <= a:
            continue
        x = TL_W * (a - lo).total_seconds() / width
        w = max(TL_W / 600, TL_W * (b - a).total_seconds() / width)  # a short outage stays visible
        colour = STATE_COLOURS.get(state, STATE_COLOURS["unknown"])
        label = f"{a.astimezone(tz):%m-%d %H:%M} – {b.astimezone(tz):%m-%d %H:%M} {state_words(state)}"
        out.append(f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="10" fill="{colour}"><title>{escape(label)}</title></rect>')
    out.append("</svg>")
    fmt = "%H:%M" if width <= 86400 else "%m-%d"
    ticks = "".join(f"<span>{(lo + (hi - lo) * k / 4).astimezone(tz).strftime(fmt)}</span>" for k in (0, 2, 4))
    out.append(f'<div class="ticks">{ticks}</div>')
    return "".join(out)
