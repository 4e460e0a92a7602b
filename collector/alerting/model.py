"""Frozen types shared by the alert engine, messages, work orders and the store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from inventory.monitored import MonitoredCamera, MonitoredDevice
from probes.causes import Cause


class Severity(StrEnum):
    """critical: a village dark or an upstream device down; normal: cameras offline; low: picture problems, digests."""

    LOW = "low"
    NORMAL = "normal"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return {"low": 0, "normal": 1, "critical": 2}[self.value]


class NotifyKind(StrEnum):
    OPEN = "open"
    UPDATE = "update"
    RESOLVE = "resolve"
    REMINDER = "reminder"
    ESCALATE = "escalate"
    DIGEST = "digest"


class IncidentKind(StrEnum):
    OUTAGE = "outage"  # cameras offline
    PICTURE = "picture"  # one camera degraded (VQD failures)


# ---- inventory snapshot (input) -------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CameraInfo:
    """What messages and grouping need to know about one camera."""

    id: int
    name: str
    village: str
    village_name: str
    township: str = ""
    township_name: str = ""
    county: str = ""
    county_name: str = ""
    point_name: str = ""
    parent_device_id: int | None = None
    parent_device_name: str = ""

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(c for c in (self.village, self.township, self.county) if c)


@dataclass(frozen=True, slots=True)
class Inventory:
    """The monitored cameras, with the per-village and per-device counts (the denominators)."""

    cameras: Mapping[int, CameraInfo] = field(default_factory=dict)
    village_counts: Mapping[str, int] = field(default_factory=dict)
    device_counts: Mapping[int, int] = field(default_factory=dict)

    @classmethod
    def of(cls, cameras: Iterable[CameraInfo]) -> Inventory:
        cams = {c.id: c for c in cameras}
        return cls(cams, *_denominators((c.village, c.parent_device_id) for c in cams.values()))


def _denominators(places: Iterable[tuple[str, int | None]]) -> tuple[dict[str, int], dict[int, int]]:
    """Cameras per village and per upstream device, from each camera's (village, parent device)."""
    villages: dict[str, int] = {}
    devices: dict[int, int] = {}
    for village, parent in places:
        villages[village] = villages.get(village, 0) + 1
        if parent is not None:
            devices[parent] = devices.get(parent, 0) + 1
    return villages, devices


class CameraInfos(Mapping[int, CameraInfo]):
    """The collector's own cameras seen as :class:`CameraInfo`, each made when asked for: the
    engine reads a few cameras per incident, and a CameraInfo kept for every camera cost ~0.12 KB
    a camera for as long as the collector ran (plus its dict). Read-only, like the engine's inventory."""

    __slots__ = ("_cams", "_devices")

    def __init__(self, cameras: Iterable[MonitoredCamera], device_names: Mapping[int, str]) -> None:
        self._cams = {c.id: c for c in cameras}
        self._devices = device_names

    def __getitem__(self, cid: int) -> CameraInfo:
        c = self._cams[cid]
        lb = c.labels
        parent = c.parent_device_id
        return CameraInfo(c.id, c.name, lb.village, lb.village_name, lb.township, lb.township_name, lb.county,
                          lb.county_name, c.point_name, parent, self._devices.get(parent, "") if parent else "")

    def __contains__(self, cid: object) -> bool:
        return cid in self._cams

    def __iter__(self) -> Iterator[int]:
        return iter(self._cams)

    def __len__(self) -> int:
        return len(self._cams)

    def __repr__(self) -> str:
        return f"CameraInfos({len(self._cams)} cameras)"


def inventory_of(cameras: Iterable[MonitoredCamera], devices: Iterable[MonitoredDevice]) -> Inventory:
    """The engine's inventory from the collector's own (``inventory.lookup.load_monitored``, the
    same cameras as :func:`collector.alerting.incident_store.load_inventory`): names and places are
    the very objects the collector keeps, not a second copy of every camera's texts."""
    infos = CameraInfos(cameras, {d.id: d.name for d in devices})
    return Inventory(infos, *_denominators((c.labels.village, c.parent_device_id) for c in infos._cams.values()))


# ---- engine inputs --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Outage:
    """A confirmed outage (``Changed`` to OFFLINE), or a new cause while offline."""

    camera_id: int
    cause: Cause
    start: dt.datetime  # first failed probe
    at: dt.datetime  # confirmation
    upstream_up: bool | None = None  # its parent device was checked and answered (True) or not (False); None: not checked


@dataclass(frozen=True, slots=True)
class Recovery:
    """``Changed`` from OFFLINE to ONLINE/DEGRADED; ``degraded`` names failed VQD checks if any."""

    camera_id: int
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class PictureProblem:
    """The camera is up but its picture fails VQD (``Changed`` to DEGRADED)."""

    camera_id: int
    checks: tuple[str, ...]
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class PictureOk:
    """``Changed`` from DEGRADED to ONLINE (or away from DEGRADED in any way)."""

    camera_id: int
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class Flapping:
    camera_id: int
    flapping: bool
    at: dt.datetime
    changes: int = 0  # flagged: the up/down changes that made it flapping (``FlappingChanged.changes``); 0: not known


AlertInput = Outage | Recovery | PictureProblem | PictureOk | Flapping


@dataclass(frozen=True, slots=True)
class Silence:
    """Suppress messages for one camera or every camera of a region (village/township/county) until ``until``."""

    id: int
    until: dt.datetime
    camera_id: int | None = None
    region_code: str | None = None
    reason: str = ""

    def matches(self, cam: CameraInfo, now: dt.datetime) -> bool:
        if now >= self.until:
            return False
        if self.camera_id is not None:
            return cam.id == self.camera_id
        return self.region_code is not None and self.region_code in cam.regions


@dataclass(frozen=True, slots=True)
class Exclusion:
    """An approved exclusion [start, end) (报备: maintenance, reported power cut) of one camera or a region
    (village/township/county): while in force, no alert and no work order for the cameras it covers."""

    id: int
    start: dt.datetime
    end: dt.datetime
    camera_id: int | None = None
    region_code: str | None = None

    def matches(self, cam: CameraInfo, now: dt.datetime) -> bool:
        if not self.start <= now < self.end:
            return False
        if self.camera_id is not None:
            return cam.id == self.camera_id
        return self.region_code is not None and self.region_code in cam.regions


# ---- outputs --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Message:
    """One message in both languages: plain text (e-mail), Markdown (DingTalk/WeCom/Feishu), short (SMS)."""

    title_zh: str
    title_en: str
    text_zh: str
    text_en: str
    markdown_zh: str
    markdown_en: str
    short_zh: str
    short_en: str
    link: str = ""

    @property
    def title(self) -> str:
        return self.title_zh

    def title_in(self, lang: str) -> str:
        return self.title_en if lang == "en" else self.title_zh

    def text(self, lang: str) -> str:
        return self.text_en if lang == "en" else self.text_zh

    def markdown(self, lang: str) -> str:
        return self.markdown_en if lang == "en" else self.markdown_zh

    def short(self, lang: str) -> str:
        return self.short_en if lang == "en" else self.short_zh

    def body(self, lang: str) -> str:
        """The plain text after its title line: what a channel shows under the title it shows
        itself (a robot's heading, an e-mail's subject, a webhook's title field)."""
        return self.text(lang).removeprefix(self.title_in(lang) + "\n")

    def markdown_body(self, lang: str) -> str:
        """The Markdown after its title heading (see :meth:`body`)."""
        return self.markdown(lang).removeprefix(f"#### {self.title_in(lang)}\n\n")


@dataclass(frozen=True, slots=True)
class Member:
    """One camera of an incident."""

    camera_id: int
    cause: Cause | None
    start: dt.datetime
    up_at: dt.datetime | None = None  # None while still down
    checks: tuple[str, ...] = ()  # picture incidents: failed VQD checks
    upstream_up: bool | None = None  # its parent device answered when it failed (see Outage.upstream_up)


def cause_groups(members: Iterable[Member]) -> tuple[tuple[Cause, tuple[int, ...]], ...]:
    """The members' causes, each with its cameras (in member order): the most frequent first, a tie
    in the causes' declaration order (network first); members without a cause are left out."""
    groups: dict[Cause, list[int]] = {}
    for m in members:
        if m.cause is not None:
            groups.setdefault(m.cause, []).append(m.camera_id)
    return tuple((c, tuple(ids)) for c, ids in sorted(groups.items(), key=lambda g: (-len(g[1]), _CAUSE_ORDER[g[0]])))


_CAUSE_ORDER = {c: i for i, c in enumerate(Cause)}


@dataclass(frozen=True, slots=True)
class Incident:
    """A snapshot of one incident (what the store persists and messages describe)."""

    id: str
    kind: IncidentKind
    severity: Severity
    village: str
    device_id: int | None
    opened_at: dt.datetime  # first confirmation
    start: dt.datetime  # earliest first-failed probe
    members: tuple[Member, ...]
    village_total: int
    device_total: int
    sent: bool = False  # the open message has been decided (sent, held, or withheld by a silence)
    # its open message was withheld by a silence and is still owed: told when no silence covers the
    # incident any more (ended by hand or at its end) while it is open; until then nothing else is
    # said of it (no update, escalation, reminder; no recovery message when it ends untold)
    silenced: bool = False
    escalation: int = 0  # escalation levels reached
    resolved_at: dt.datetime | None = None
    uplink: bool = False  # suspected uplink failure (decided by collector.alerting.upstream)
    announced: int = 0  # cameras down as last told (open, update, reminder or escalation message)
    changed_at: dt.datetime | None = None  # first change since told (a camera joined, a cause changed): see tick

    @property
    def down(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.up_at is None)

    @property
    def cause(self) -> Cause | None:
        """The members' most frequent cause (a tie: the first declared); see :attr:`causes` for all."""
        groups = cause_groups(self.members)
        return groups[0][0] if groups else None

    @property
    def causes(self) -> tuple[Cause, ...]:
        """Every member's cause, most frequent first (:func:`cause_groups`): a work order's deadline
        is the most urgent of theirs."""
        return tuple(c for c, _ in cause_groups(self.members))

    @property
    def village_dark(self) -> bool:
        return self.kind is IncidentKind.OUTAGE and len(self.members) >= 2 and len(self.down) >= self.village_total

    def severity_now(self) -> Severity:
        """Critical: a suspected uplink failure or the whole village dark; normal: cameras offline; low: picture."""
        if self.kind is IncidentKind.PICTURE:
            return Severity.LOW
        return Severity.CRITICAL if self.uplink or self.village_dark else Severity.NORMAL


@dataclass(frozen=True, slots=True)
class Notify:
    incident_id: str
    kind: NotifyKind
    severity: Severity
    channels: tuple[str, ...]
    message: Message
    at: dt.datetime
    late: bool = False  # an open message told when the silence that withheld it ended


@dataclass(frozen=True, slots=True)
class IncidentChanged:
    """Persist this snapshot (opened, grown, escalated or resolved)."""

    incident: Incident


@dataclass(frozen=True, slots=True)
class OpenWorkOrder:
    incident_id: str
    title: str
    camera_id: int | None  # set for single-camera incidents
    region_code: str | None
    device_id: int | None
    cause: Cause | None
    severity: Severity
    cameras: int
    opened_at: dt.datetime
    deadline: dt.datetime


@dataclass(frozen=True, slots=True)
class UpdateWorkOrder:
    """The incident grew (more cameras, or more severe: a tighter deadline, never a later one)."""

    incident_id: str
    severity: Severity
    cameras: int
    deadline: dt.datetime
    title: str = ""  # at the incident's new size, every camera counted (messages.work_order_title; "" = keep)


@dataclass(frozen=True, slots=True)
class ResolveWorkOrder:
    incident_id: str
    at: dt.datetime


Action = Notify | IncidentChanged | OpenWorkOrder | UpdateWorkOrder | ResolveWorkOrder
