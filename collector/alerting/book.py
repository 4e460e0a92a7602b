"""The alert engine's unresolved incidents, indexed by camera, village and upstream device (outages)
and by village (picture problems)."""

from __future__ import annotations

import datetime as dt

from collector.alerting.model import Incident, IncidentKind, Member


class IncidentBook:
    """Unresolved incidents by id, with the camera/village/device indexes kept in step by :meth:`put`."""

    def __init__(self) -> None:
        self.incidents: dict[str, Incident] = {}
        self._by_camera: dict[tuple[IncidentKind, int], str] = {}
        self._by_village: dict[str, str] = {}
        self._by_device: dict[int, str] = {}
        self._pictures: dict[str, str] = {}  # village -> its open picture incident

    def find(self, camera_id: int, kind: IncidentKind) -> Incident | None:
        key = self._by_camera.get((kind, camera_id))
        return None if key is None else self.incidents.get(key)

    def member(self, camera_id: int, kind: IncidentKind) -> tuple[Incident | None, Member | None]:
        """The camera's unresolved incident of this kind, with its member there."""
        inc = self.find(camera_id, kind)
        return inc, next((m for m in inc.members if m.camera_id == camera_id), None) if inc is not None else None

    def outage_for(self, village: str, device_id: int | None) -> Incident | None:
        """The open outage of this village, else of this upstream device."""
        key = self._by_village.get(village)
        if key is None and device_id is not None:
            key = self._by_device.get(device_id)
        return None if key is None else self.incidents[key]

    def picture_for(self, village: str) -> Incident | None:
        """The open picture incident of this village (none for a camera without a village)."""
        key = self._pictures.get(village) if village else None
        return None if key is None else self.incidents[key]

    def new_id(self, prefix: str, scope: str, at: dt.datetime) -> str:
        base = f"{prefix}-{scope}-{at.astimezone(dt.UTC):%Y%m%d%H%M%S}"
        key, n = base, 1
        while key in self.incidents:
            n += 1
            key = f"{base}-{n}"
        return key

    def put(self, inc: Incident) -> Incident:
        """Store (or, once resolved, drop) an incident."""
        old = self.incidents.pop(inc.id, None)
        if old is not None:
            for mem in old.members:
                self._by_camera.pop((old.kind, mem.camera_id), None)
            if old.kind is IncidentKind.OUTAGE:
                if self._by_village.get(old.village) == old.id:
                    del self._by_village[old.village]
                if old.device_id is not None and self._by_device.get(old.device_id) == old.id:
                    del self._by_device[old.device_id]
            elif self._pictures.get(old.village) == old.id:
                del self._pictures[old.village]
        if inc.resolved_at is not None:
            return inc
        self.incidents[inc.id] = inc
        for mem in inc.members:
            self._by_camera[(inc.kind, mem.camera_id)] = inc.id
        if inc.kind is IncidentKind.OUTAGE:
            self._by_village.setdefault(inc.village, inc.id)
            if inc.device_id is not None:
                self._by_device.setdefault(inc.device_id, inc.id)
        elif inc.village:
            self._pictures.setdefault(inc.village, inc.id)
        return inc
