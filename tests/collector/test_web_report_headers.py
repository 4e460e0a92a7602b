"""The printable report on a 390 px phone: its header 抽查在线率 (over a column of "—") broke one
character a line. A header now breaks between its words and before a bracket only (在线率 /
（扣除报备）, Rate / without / exclusions), its wide tables scrolling inside their box, the page
never sideways. Measured in Debian's chromium (headless, through chromium-driver and selenium)."""

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


async def test_report_headers_break_between_words_on_a_phone(live: Live, chrome: webdriver.Chrome) -> None:
    base = f"http://127.0.0.1:{live.server.port}"
    period = this_month(live).label

    def run() -> dict[str, list[tuple[str, int]]]:
        return each_page(chrome, "phone", {lang: f"{base}/reports/print?period={period}&lang={lang}" for lang in ("zh", "en")},
                         lambda _: [(str(t), int(n)) for t, n in chrome.execute_script(HEADER_LINES)])

    seen = await asyncio.to_thread(run)
    zh = dict(seen["zh"])
    assert zh["抽查在线率"] == 1 and zh["规划点位"] == 1 and zh["排名"] == 1
    assert zh["在线率（扣除报备）"] <= 2
    assert dict(seen["en"])["Snapshot rate"] <= 2
    for lang, headers in seen.items():
        assert len(headers) >= 30, lang  # every section's headers measured
        broken = [(t, n) for t, n in headers if n > words(t)]
        assert not broken, (lang, broken)
