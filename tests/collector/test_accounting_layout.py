"""The pure accounting rules (``collector/accounting/*.py``) stay pure: no database, no clock, no logger.

Read from the source with ``ast``: the pure modules import only the standard library's value
types and each other (never ``collector.accounting.sql``, SQLAlchemy, the inventory, another
part of the collector, ``logging``, ``time`` or ``asyncio``), and never ask for the time
(``now()``, ``utcnow()``, ``today()``): ``now`` is always passed in.
"""

from __future__ import annotations

import ast
from pathlib import Path

import collector.accounting

PACKAGE = Path(collector.accounting.__file__).parent
PURE = sorted(PACKAGE.glob("*.py"))  # sql/ is the database side
FORBIDDEN_MODULES = ("sqlalchemy", "inventory", "logging", "time", "asyncio")
CLOCK_CALLS = frozenset({"now", "utcnow", "today", "monotonic", "perf_counter"})


def _imported(tree: ast.Module) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "absolute imports only"
            out.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return out


def _forbidden(name: str) -> bool:
    if name.startswith("collector."):
        return not name.startswith("collector.accounting.") or name.startswith("collector.accounting.sql")
    return name.split(".")[0] in FORBIDDEN_MODULES


def test_pure_modules_are_the_package_root_only() -> None:
    assert {p.name for p in PURE} >= {"model.py", "rates.py", "snapshots.py", "coverage.py", "intervals.py"}
    assert (PACKAGE / "sql" / "__init__.py").exists()


def test_pure_accounting_imports_no_database_clock_or_logger() -> None:
    bad = [f"{p.name}:{line} imports {name}" for p in PURE
           for line, name in _imported(ast.parse(p.read_text(encoding="utf-8"))) if _forbidden(name)]
    assert bad == []


def test_pure_accounting_never_reads_the_clock() -> None:
    bad = [f"{p.name}:{node.lineno} calls .{node.func.attr}()" for p in PURE
           for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
           if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CLOCK_CALLS]
    assert bad == []


def test_the_rule_catches_what_it_forbids() -> None:
    for name in ("collector.accounting.sql.load.load_accounting", "sqlalchemy.text", "logging", "time.time",
                 "collector.runtime.scheduler.Scheduler", "inventory.models.Camera"):
        assert _forbidden(name), name
    for name in ("collector.accounting.model.CameraRef", "datetime", "fractions.Fraction", "zoneinfo.ZoneInfo"):
        assert not _forbidden(name), name
