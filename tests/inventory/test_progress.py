"""Long inventory work shows progress: reading a large XLSX (the slow part of an import: a
100 000-row workbook takes half a minute to read) and writing an export tick as they go, whether
or not the workbook states its row count. Real files, real SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from inventory.db import create_engine
from inventory.export import export_file
from inventory.reader import UNKNOWN, read_table
from tests.inventory.helpers import do_import, migrated, write_csv, write_xlsx

HEADERS = ["县/区", "乡镇/街道", "村/社区", "点位名称", "IP地址"]
N = 2500


class Recorder:
    """A progress factory that keeps, per bar, its label, its total and the rows ticked."""

    def __init__(self) -> None:
        self.bars: list[list[object]] = []

    def __call__(self, label: str, total: int) -> Callable[[int], None]:
        bar: list[object] = [label, total, 0]
        self.bars.append(bar)

        def tick(n: int) -> None:
            assert isinstance(bar[2], int)
            bar[2] += n

        return tick


def _rows() -> list[list[str]]:
    return [["平山县", f"镇{i // 500}", f"村{i // 50}", f"点{i % 50}", f"127.20.{i // 250}.{i % 250 + 1}"] for i in range(N)]


def test_reading_a_large_workbook_ticks_every_row(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "big.xlsx", HEADERS, _rows())  # (saved as Excel does: with its row count)
    progress = Recorder()
    table = read_table(path, progress)
    assert len(table.rows) == N
    assert progress.bars == [["read", N + 1, N + 1]]


def test_export_ticks_and_a_workbook_without_a_row_count_still_counts(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'p.db'}")
    assert do_import(url, write_csv(tmp_path / "big.csv", HEADERS, _rows())).written
    out = tmp_path / "export.xlsx"

    async def go() -> int:
        engine = create_engine(url)
        try:
            return await export_file(engine, out, progress=exported)
        finally:
            await engine.dispose()

    exported = Recorder()
    assert asyncio.run(go()) == N
    assert exported.bars == [["export", N, N]]
    # the export is written row by row: the workbook does not state its row count
    progress = Recorder()
    assert len(read_table(out, progress).rows) == N
    assert progress.bars == [["read", UNKNOWN, N + 1]]
