"""From parsed rows and the stored inventory to a plan of changes, or located errors.

Pure: takes the rows, the columns the file has, the stored state and a secret box, and
returns a :class:`~inventory.changes.Plan`. Nothing is written here; :mod:`inventory.apply`
writes a plan in one transaction, and only a plan without errors.

Column semantics: a column the file does not have leaves that field as stored; a column
it has but a cell left empty clears the field.

The steps, in order (each needs the regions the previous ones resolved):
:mod:`inventory.plan_regions`, :mod:`inventory.plan_points` (points, then upstream devices),
:mod:`inventory.plan_cameras`.
"""

from __future__ import annotations

from inventory.changes import Plan
from inventory.messages import Issue, Severity
from inventory.plan_cameras import plan_cameras
from inventory.plan_points import plan_devices, plan_points
from inventory.plan_regions import plan_regions
from inventory.planning import Planning
from inventory.rows import RowIn, RowRef
from inventory.secrets import SecretBox
from inventory.state import InventoryState

__all__ = ["Plan", "build_plan"]

# Issues about the file as a whole that follow from the rows: listed after the rows' issues.
CONCLUSIONS = frozenset({"mass_retire"})


def build_plan(rows: list[RowIn], columns: dict[str, str], state: InventoryState, box: SecretBox,
               *, retire_missing: bool = True, retire_guard: float | None = None,
               issues: list[Issue] | None = None, standalone: bool = False, refs: tuple[RowRef, ...] = ()) -> Plan:
    """Validate rows across the file and against the stored inventory; compute the changes.

    With *retire_guard*, retiring more than that share of a county's cameras in use (active or
    in maintenance) is an error (``mass_retire``): a partial file is not taken for the truth.
    *standalone*: the file is checked on its own (*state* empty), see :class:`Planning`. *refs*: the
    cameras of the file's rows with errors (not in *rows*), which are not taken for gone.

    The issues come in the file's order, a conclusion about the whole file (``mass_retire``) after
    the rows' own: those are what to fix first.
    """
    ctx = Planning(rows, columns, state, box, retire_missing, Plan(rows=len(rows)), retire_guard=retire_guard,
                   standalone=standalone, refs=refs)
    if issues:
        ctx.plan.issues.extend(issues)
    plan_regions(ctx)
    plan_points(ctx)
    plan_devices(ctx)
    plan_cameras(ctx)
    ctx.plan.issues.sort(key=lambda i: (i.code in CONCLUSIONS, i.row or 0, i.severity != Severity.ERROR))
    return ctx.plan
