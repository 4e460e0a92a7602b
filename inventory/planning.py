"""What every planning step shares: the inputs, the plan being built, and the resolved regions."""

from __future__ import annotations

from dataclasses import dataclass, field

from inventory.changes import Plan
from inventory.messages import Issue, Severity
from inventory.models import RegionLevel
from inventory.rows import RowIn, RowRef
from inventory.secrets import SecretBox
from inventory.state import InventoryState


@dataclass(slots=True)
class Planning:
    """Inputs of one plan. ``columns`` maps the column keys the file has to its headers."""

    rows: list[RowIn]
    columns: dict[str, str]
    state: InventoryState
    box: SecretBox
    retire_missing: bool
    plan: Plan
    # The resolved region code of each row and level (absent where resolving failed).
    resolved: dict[tuple[int, RegionLevel], str] = field(default_factory=dict)
    # Largest share of a county's cameras in use an import may retire; None: no limit.
    retire_guard: float | None = None
    # A file checked on its own (``inventory validate``): what only the stored inventory can
    # settle (a masked RTSP path) is a warning, not an error.
    standalone: bool = False
    # The rows with errors (not in ``rows``) that have a camera: what they say of it.
    refs: tuple[RowRef, ...] = ()

    def issue(self, severity: Severity, row: int | None, key: str | None, msg: str, /, **params: object) -> None:
        col = self.columns.get(key, key) if key else None
        self.plan.issues.append(Issue(severity, msg, row, col, params))

    def error(self, row: int | None, key: str | None, msg: str, /, **params: object) -> None:
        self.issue(Severity.ERROR, row, key, msg, **params)

    def warn(self, row: int | None, key: str | None, msg: str, /, **params: object) -> None:
        self.issue(Severity.WARNING, row, key, msg, **params)

    def village(self, row: RowIn) -> str | None:
        return self.resolved.get((row.row, RegionLevel.VILLAGE))
