"""``camwatch inventory import|validate``: read, validate, plan, and (unless a dry run) write."""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from inventory.apply import apply_plan
from inventory.fields import CAMERA_MARKERS, REQUIRED, header_label
from inventory.messages import Issue, Severity
from inventory.plan import Plan, build_plan
from inventory.reader import FileProblem, ProgressFactory, Table, no_progress, read_table
from inventory.rows import RowIn, RowRef, parse_row, row_ref
from inventory.secrets import SecretBox
from inventory.state import InventoryState, load_state

_no_progress = no_progress


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    plan: Plan
    written: bool
    added_ids: tuple[int, ...] = ()  # the cameras added, in the file's order (once written)


@dataclass(frozen=True, slots=True)
class Parsed:
    """A file's rows: those without errors, every issue, and what the rows with errors say of their
    cameras (so that the plan does not take those cameras for gone)."""

    rows: list[RowIn]
    issues: list[Issue]
    refs: tuple[RowRef, ...] = ()


def parse_table(table: Table, progress: Callable[[int], None]) -> Parsed:
    issues = list(table.issues)
    missing = [k for k in REQUIRED if k not in table.keys]
    if missing:
        issues.append(Issue(Severity.ERROR, "header_missing", 1, None, {"columns": ", ".join(header_label(k, "zh") + "/" + header_label(k, "en") for k in missing)}))
        if not table.keys and any(h.strip() for h in table.headers):  # (no header known: mojibake of another encoding?)
            issues.append(Issue(Severity.ERROR, "header_none_known", 1, None, {}))
        return Parsed([], issues)
    address = ("host", "rtsp_url")
    # without an address column every camera row must be GB28181 only (each row is checked)
    if not any(k in table.keys for k in address) and "access" not in table.keys and any(
            k in table.keys for k in CAMERA_MARKERS):
        issues.append(Issue(Severity.ERROR, "header_no_address", 1, None, {}))
        return Parsed([], issues)
    rows: list[RowIn] = []
    refs: list[RowRef] = []
    step = 0
    for raw in table.rows:
        rec, row_issues = parse_row(raw, table.keys)
        issues.extend(row_issues)
        if rec is not None:
            rows.append(rec)
        elif (ref := row_ref(raw, table.keys)) is not None:
            refs.append(ref)
        step += 1
        if step == 1000:
            progress(step)
            step = 0
    progress(step)
    return Parsed(rows, issues, tuple(refs))


def read_and_parse(path: str | Path, progress: ProgressFactory = _no_progress) -> tuple[Table | None, Parsed]:
    try:
        table = read_table(path, progress)
    except FileProblem as exc:
        return None, Parsed([], [exc.issue])
    return table, parse_table(table, progress("parse", len(table.rows)))


def _plan(table: Table, parsed: Parsed, state: InventoryState, box: SecretBox, *, retire_missing: bool,
          retire_guard: float | None = None, standalone: bool = False) -> Plan:
    """The plan of *parsed*, counting the file's data rows (and those with errors) as the file holds them."""
    plan = build_plan(parsed.rows, table.keys, state, box, retire_missing=retire_missing, retire_guard=retire_guard,
                      issues=parsed.issues, refs=parsed.refs, standalone=standalone)
    plan.rows = len(table.rows)
    errors = plan.errors
    if errors:
        data = {r.number for r in table.rows}
        plan.rows_with_errors = len({i.row for i in errors if i.row in data})
    return plan


def validate_file(path: str | Path, box: SecretBox, progress: ProgressFactory = _no_progress) -> Plan:
    """Check a file on its own (against an empty inventory): nothing is read from or written to a database."""
    table, parsed = read_and_parse(path, progress)
    if table is None:
        plan = Plan()
        plan.issues.extend(parsed.issues)
        return plan
    empty = InventoryState({}, {}, {}, {})
    return _plan(table, parsed, empty, box, retire_missing=False, standalone=True)


async def import_file(engine: AsyncEngine, path: str | Path, box: SecretBox, *, dry_run: bool = False,
                      retire_missing: bool = True, retire_guard: float | None = None,
                      progress: ProgressFactory = _no_progress) -> ImportOutcome:
    """Import *path*: all or nothing. *retire_guard*: see :func:`inventory.plan.build_plan`."""
    # Millions of small, long-lived objects: the cyclic collector would scan them again and
    # again for nothing (about 4 s of 16 at 100k rows). Freeze what exists and pause it.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return await _import_file(engine, path, box, dry_run=dry_run, retire_missing=retire_missing,
                                  retire_guard=retire_guard, progress=progress)
    finally:
        if enabled:
            gc.enable()


async def _import_file(engine: AsyncEngine, path: str | Path, box: SecretBox, *, dry_run: bool,
                       retire_missing: bool, retire_guard: float | None, progress: ProgressFactory) -> ImportOutcome:
    table, parsed = read_and_parse(path, progress)
    if table is None:
        plan = Plan()
        plan.issues.extend(parsed.issues)
        return ImportOutcome(plan, False)
    async with AsyncSession(engine) as session:
        state = await load_state(session)
    plan = _plan(table, parsed, state, box, retire_missing=retire_missing, retire_guard=retire_guard)
    if not plan.ok or dry_run or plan.empty:
        return ImportOutcome(plan, False)
    total = len(plan.point_new) + len(plan.camera_new) + len(plan.camera_changed)
    added = await apply_plan(engine, plan, progress=progress("write", total))
    return ImportOutcome(plan, True, tuple(added))
