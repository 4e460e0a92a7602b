"""Who is asking, and what they may read and do: the one rule of roles and region scoping.

Pure (no database, no I/O): the auth middleware (:mod:`collector.web.auth`) builds a
:class:`Principal` from a session cookie or a bearer token and stores it on the request under
:data:`PRINCIPAL_KEY`; API handlers and pages ask it before they read or write.

Roles (issue 16):

========== ============================================ =========================================
role       reads                                        may
========== ============================================ =========================================
admin      everything (or its regions)                  everything, accounts
assessor   everything (or its regions)                  approve exclusions
contractor its contractor's cameras (within its regions) ack/close work orders, propose exclusions
township   its regions only (read-only)                 nothing
duty       everything (or its regions)                  acknowledge work orders, silence alerts
========== ============================================ =========================================

Regions: ``regions`` holds codes of any level (county, township or village); empty means the
whole county. A camera is readable when one code of its region path (county..village) is in
``regions`` (and, for a contractor, its contractor is the principal's). A region is readable
when it is *in or below* a scoped region (its path contains a scoped code: the whole region is
shown), or *above* one (its code is in ``above``, the ancestors of the scoped regions filled in
when the principal is loaded): an above-region is shown **only for its scoped part** — its
figures are computed over the readable cameras and only the children on the way to a scoped
region are listed (:meth:`Principal.whole_region` tells the two apart). Anything else is
answered as if it did not exist (404), so a scoped user cannot even learn which codes exist.

Anonymous reads (:func:`anonymous_reads`): while no account exists and ``http.open_reads`` is
true, reads stay open without a login as before accounts existed (the principal is None and
reads are unscoped); once one account exists, every read needs a session or a token. Writes
never go anonymous.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from aiohttp import web


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


PRINCIPAL_KEY: web.RequestKey[Principal | None] = web.RequestKey("camwatch_principal", object)  # type: ignore[arg-type]


def principal_of(request: web.Request) -> Principal | None:
    """The request's principal; None when anonymous (reads open, see :func:`anonymous_reads`)."""
    return request.get(PRINCIPAL_KEY)


def anonymous_reads(open_reads: bool, accounts_exist: bool) -> bool:
    """ANONYMOUS_READS: reads without a login stay open only while no account exists and
    ``http.open_reads`` is true."""
    return open_reads and not accounts_exist


ANONYMOUS_READS = anonymous_reads

__all__ = ["ALLOWED", "ANONYMOUS_READS", "Action", "PRINCIPAL_KEY", "Principal", "Role", "anonymous_reads",
           "principal_of"]
