"""Write the dashboards' JSON to a directory (``camwatch dashboards export DIR``)."""

from __future__ import annotations

from pathlib import Path

from dashboards.build import build_all, render

COMMITTED_DIR = Path(__file__).resolve().parent / "json"


def export(directory: Path) -> list[Path]:
    """Write one JSON file per dashboard into ``directory`` (created if missing); return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, data in build_all().items():
        path = directory / name
        path.write_text(render(data), encoding="utf-8")
        written.append(path)
    return written
