"""The printable report's headers: 抽查在线率 (over a column of "—") broke one character a line on a
390 px phone. A header now breaks between its words and before a bracket only (在线率 /
（扣除报备）, Rate / without / exclusions); on a phone each row reads as a card instead (no header
row, no table wider than the screen), each figure after its column's header, in one line.
Measured in Debian's chromium (headless, through chromium-driver and selenium)."""

from __future__ import annotations

import asyncio
import re

import pytest
from selenium import webdriver

from tests.collector.test_api_support import Live, live_fixture
from tests.collector.test_web_browser import chrome, each_page, this_month

pytestmark = pytest.mark.asyncio(loop_scope="module")
live = live_fixture()
__all__ = ["chrome"]  # the module's browser (a fixture)

# each header's text and the lines it takes (the tops of its text's line boxes), of visible headers
HEADER_LINES = """
return [...document.querySelectorAll('th')].filter(th => th.getClientRects().length).map(th => {
  const r = document.createRange(); r.selectNodeContents(th);
  return [th.textContent.trim(), new Set([...r.getClientRects()].map(x => Math.round(x.top))).size];
});"""


def words(header: str) -> int:
    """The pieces a header may break into: at spaces, after a slash, before a bracket."""
    return len([w for w in re.split(r"\s+|(?<=/)|(?=（)", header) if w])


# on a phone, of the report's tables: the visible headers; each labelled cell's label against its
# column's header, and the lines it takes (of the short figures: summary, ranking, villages, completeness)
CARDS = """
const out = {headers: [...document.querySelectorAll('th')].filter(th => th.getClientRects().length).length,
             wrong: [], lines: []};
for (const t of document.querySelectorAll('table.report')) {
  const heads = [...t.querySelectorAll('thead th')].map(th => th.textContent.trim());
  const short = ['summary', 'ranking', 'villages', 'completeness'].some(c => t.classList.contains(c));
  for (const tr of t.querySelectorAll('tbody tr')) {
    [...tr.children].forEach((td, i) => {
      if (td.colSpan > 1) return;
      const label = td.dataset.label;
      if (label === undefined ? !td.classList.contains('title') : label !== heads[i]) out.wrong.push([heads[i], label]);
      if (label !== undefined && short) {
        const lh = parseFloat(getComputedStyle(td).lineHeight);
        out.lines.push([label + ' ' + td.textContent.trim(), Math.round(td.getBoundingClientRect().height / lh)]);
      }
    });
  }
}
return out;"""


async def test_report_headers_break_between_words_and_a_phone_reads_cards(live: Live, chrome: webdriver.Chrome) -> None:
    base = f"http://127.0.0.1:{live.server.port}"
    period = this_month(live).label
    urls = {lang: f"{base}/reports/print?period={period}&lang={lang}" for lang in ("zh", "en")}

    def run() -> tuple[dict[str, list[tuple[str, int]]], dict[str, dict[str, object]]]:
        desktop = each_page(chrome, "desktop", urls,
                            lambda _: [(str(t), int(n)) for t, n in chrome.execute_script(HEADER_LINES)])
        return desktop, each_page(chrome, "phone", urls, lambda _: chrome.execute_script(CARDS))  # (no table too wide)

    desktop, phone = await asyncio.to_thread(run)
    zh = dict(desktop["zh"])
    assert zh["抽查在线率"] == 1 and zh["规划点位"] == 1 and zh["排名"] == 1
    assert zh["在线率（扣除报备）"] <= 2
    assert dict(desktop["en"])["Snapshot rate"] <= 2
    for lang, headers in desktop.items():
        assert len(headers) >= 30, lang  # every section's headers measured
        broken = [(t, n) for t, n in headers if n > words(t)]
        assert not broken, (lang, broken)
    for lang, cards in phone.items():
        assert cards["headers"] == 0, lang  # no header row: cards
        assert not cards["wrong"], (lang, cards["wrong"])  # every figure said with its column's header
        lines = cards["lines"]
        assert isinstance(lines, list) and len(lines) >= 30, lang
        assert not [x for x in lines if x[1] != 1], (lang, [x for x in lines if x[1] != 1])
