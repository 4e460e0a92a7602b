"""Who is asking, and what they may read and do: the one rule of roles and region scoping.

The roles, actions and :class:`Principal` are pure (no database, no I/O) and live in
:mod:`collector.accounts.roles` (``camwatch users`` reads them without the web console); they are
re-exported here. The auth middleware (:mod:`collector.web.auth`) builds a
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

from aiohttp import web

from collector.accounts.roles import ALLOWED, Action, Principal, Role, anonymous_reads

PRINCIPAL_KEY: web.RequestKey[Principal | None] = web.RequestKey("camwatch_principal", object)  # type: ignore[arg-type]


def principal_of(request: web.Request) -> Principal | None:
    """The request's principal; None when anonymous (reads open, see :func:`anonymous_reads`)."""
    return request.get(PRINCIPAL_KEY)


ANONYMOUS_READS = anonymous_reads

__all__ = ["ALLOWED", "ANONYMOUS_READS", "Action", "PRINCIPAL_KEY", "Principal", "Role", "anonymous_reads",
           "principal_of"]
