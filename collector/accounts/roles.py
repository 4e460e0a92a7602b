"""Who is asking and what each role may do: the roles, their actions and the :class:`Principal`
(pure: no database, no web). The rule of region scoping is told in :mod:`collector.web.principal`,
which puts a principal on every request; :mod:`collector.accounts.store` keeps the accounts;
``camwatch users`` reads both without loading the web console.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    ASSESSOR = "assessor"
    CONTRACTOR = "contractor"
    TOWNSHIP = "township"
    DUTY = "duty"


class Action(StrEnum):
    ACK_WORKORDER = "ack_workorder"
    CLOSE_WORKORDER = "close_workorder"
    PROPOSE_EXCLUSION = "propose_exclusion"
    APPROVE_EXCLUSION = "approve_exclusion"  # add or end an exclusion in force
    SILENCE = "silence"  # add or end an alert silence
    ADMIN = "admin"  # accounts, everything else


# The one table of who may do what.
ALLOWED: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.ASSESSOR: frozenset({Action.APPROVE_EXCLUSION}),
    Role.CONTRACTOR: frozenset({Action.ACK_WORKORDER, Action.CLOSE_WORKORDER, Action.PROPOSE_EXCLUSION}),
    Role.TOWNSHIP: frozenset(),
    Role.DUTY: frozenset({Action.ACK_WORKORDER, Action.SILENCE}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: Role
    regions: frozenset[str] = frozenset()  # region codes (any level); empty = whole county
    contractor: str | None = None  # a contractor's company, as in cameras.contractor
    user_id: int | None = None  # None: the configured http.api_token
    above: frozenset[str] = frozenset()  # codes of the regions above `regions` (shown in part)

    def reads_all(self) -> bool:
        """True when nothing is hidden from this principal (no region, no contractor filter)."""
        return not self.regions and self.role is not Role.CONTRACTOR

    def in_regions(self, region_path: Sequence[str]) -> bool:
        return not self.regions or any(code in self.regions for code in region_path)

    def can_read_camera(self, region_path: Sequence[str], contractor: str | None) -> bool:
        """*region_path*: the camera's region codes, county..village."""
        if self.role is Role.CONTRACTOR and (self.contractor is None or contractor != self.contractor):
            return False
        return self.in_regions(region_path)

    def can_read_region(self, region_path: Sequence[str]) -> bool:
        """*region_path*: codes from the county down to the region itself."""
        return self.in_regions(region_path) or (bool(region_path) and region_path[-1] in self.above)

    def whole_region(self, region_path: Sequence[str]) -> bool:
        """True when every camera of the region is readable (regions only; a contractor still
        sees only its cameras): False for an above-region, shown in part."""
        return self.in_regions(region_path)

    def can(self, action: Action) -> bool:
        return action in ALLOWED[self.role]


def anonymous_reads(open_reads: bool, accounts_exist: bool) -> bool:
    """ANONYMOUS_READS: reads without a login stay open only while no account exists and
    ``http.open_reads`` is true."""
    return open_reads and not accounts_exist


__all__ = ["ALLOWED", "Action", "Principal", "Role", "anonymous_reads"]
