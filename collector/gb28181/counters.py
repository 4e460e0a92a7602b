"""The access platform's counters (:class:`PlatformStats`, bumped on the SIP path) and the frozen
snapshot of them that ``/metrics`` reads (:class:`PlatformCounts`,
:mod:`collector.metrics.gb28181`). Every label value comes from a fixed set declared here
(:class:`~collector.gb28181.registrations.Registration`, :class:`Refusal`, :class:`Query`): never a
device ID or an address."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from collector.gb28181.registrations import Registration


class Refusal(StrEnum):
    """Why a device's request was refused (the ``reason`` label of ``camwatch_gb28181_refused_total``).
    A wrong password is not one of them: ``camwatch_gb28181_auth_failures_total`` counts those."""

    BAD_ID = "bad_id"  # REGISTER whose device ID (From user) is not 20 digits: 400
    BLOCKED = "blocked"  # REGISTER from an address blocked after wrong passwords: 403 + Retry-After
    NO_PASSWORD = "no_password"  # REGISTER with nothing to check its answer against: 403
    BAD_DIGEST = "bad_digest"  # Digest realm, user name or algorithm not camwatch's: 401 again
    TOO_BRIEF = "too_brief"  # Expires below min_expires_s: 423
    NOT_REGISTERED = "not_registered"  # MESSAGE/NOTIFY from a device without a registration in force: 403
    OTHER_ADDRESS = "other_address"  # ... from another address than its registration's: 403
    BAD_BODY = "bad_body"  # a MANSCDP body that cannot be read: 400


class Query(StrEnum):
    """A query camwatch sends (the ``query`` label of ``camwatch_gb28181_queries_total``)."""

    CATALOG = "catalog"
    DEVICE_STATUS = "device_status"
    DEVICE_INFO = "device_info"


_QUERY_OF = {"Catalog": Query.CATALOG, "DeviceStatus": Query.DEVICE_STATUS, "DeviceInfo": Query.DEVICE_INFO}


def _zero_registrations() -> dict[Registration, int]:
    return dict.fromkeys(Registration, 0)


def _zero_refusals() -> dict[Refusal, int]:
    return dict.fromkeys(Refusal, 0)


def _zero_queries() -> dict[Query, int]:
    return dict.fromkeys(Query, 0)


@dataclass(frozen=True, slots=True)
class PlatformCounts:
    """The platform's counters at one instant, every label value present (0 when none)."""

    registrations: tuple[tuple[Registration, int], ...]
    auth_failures: int
    blocked_addresses: int  # addresses refused now after auth_failures wrong passwords
    refused: tuple[tuple[Refusal, int], ...]
    keepalives: int
    queries: tuple[tuple[Query, int], ...]
    registered_devices: int  # listed devices registered and alive now (as /healthz tells)


@dataclass(slots=True)
class PlatformStats:
    registers: int = 0  # REGISTERs accepted with Expires > 0 (new, refresh and restart)
    keepalives: int = 0
    answers: int = 0  # MANSCDP answers and notifications
    auth_failures: int = 0
    throttled: int = 0
    refused: int = 0  # 403 to a message of a device not registered (or from elsewhere)
    malformed: int = 0
    queries: int = 0
    by_kind: dict[Registration, int] = field(default_factory=_zero_registrations)
    by_reason: dict[Refusal, int] = field(default_factory=_zero_refusals)
    by_query: dict[Query, int] = field(default_factory=_zero_queries)

    def registered(self, kind: Registration) -> None:
        self.by_kind[kind] += 1
        if kind is not Registration.UNREGISTER:
            self.registers += 1

    def refusal(self, reason: Refusal) -> None:
        self.by_reason[reason] += 1

    def queried(self, cmd_type: str) -> None:
        self.queries += 1
        q = _QUERY_OF.get(cmd_type)
        if q is not None:
            self.by_query[q] += 1

    def snapshot(self, *, blocked_addresses: int, registered_devices: int) -> PlatformCounts:
        return PlatformCounts(tuple(self.by_kind.items()), self.auth_failures, blocked_addresses,
                              tuple(self.by_reason.items()), self.keepalives, tuple(self.by_query.items()),
                              registered_devices)
