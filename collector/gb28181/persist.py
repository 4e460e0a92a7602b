"""The access platform's registrations in the database (``gb28181_registrations``,
``gb28181_channels``), so a restart of camwatch does not make every device look unregistered
until its next REGISTER (which may be an hour away).

Writes are batched: the registry notes what changed (:meth:`Registry.take_dirty`) and
:meth:`RegistrationStore.write` runs every ``gb28181.persist_every_s``. A device's many
keepalives between two writes cost one UPDATE of its times; a registration, an answer or a
catalog one upsert of its row (its channels replaced when the catalog changed). At 10,000
devices with 60 s keepalives that is ~170 rows a second, written as one executemany every few
seconds. :class:`Batches` holds a device's keepalive times back for ``persist_seen_s`` (300 s;
a keepalive every 60 s would otherwise cost a row each: ~17 us of CPU): after a restart only
the registration's start and expiry matter (the device's silence counts from the start), and
a clean stop writes them all, and marks the rows of the devices silent for ``keepalive_timeout_s``
then (:meth:`RegistrationStore.stopped`: their ``updated_at`` is the stop), so a device dead at the
stop is not taken for alive at the next start (:meth:`Registry.restore`). Reading back: :meth:`RegistrationStore.load` gives the devices as
the registry keeps them (times on the platform's clock, ``time.time()``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from types import MappingProxyType

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.gb28181.registry import Registry
from collector.gb28181.state import ChannelState, DeviceInfoFields, DeviceState
from inventory.models import Gb28181Channel, Gb28181Registration
from probes.gb28181.transport import Peer

REG: Table = Gb28181Registration.__table__  # type: ignore[assignment]
CHAN: Table = Gb28181Channel.__table__  # type: ignore[assignment]
CHUNK = 2000  # rows per statement


def _wall(t: float | None) -> dt.datetime | None:
    return None if t is None else dt.datetime.fromtimestamp(t, dt.UTC)


def _epoch(d: dt.datetime | None) -> float | None:
    return None if d is None else d.timestamp()


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n]


def registration_row(dev: DeviceState, now: float) -> dict[str, object]:
    """The row of a device (pure)."""
    peer = dev.peer
    info = None if dev.info is None else json.dumps({
        "name": dev.info.name, "manufacturer": dev.info.manufacturer, "model": dev.info.model,
        "firmware": dev.info.firmware, "channels": dev.info.channels}, ensure_ascii=False)
    return {
        "device_id": dev.device_id, "listed": dev.listed,
        "transport": peer.transport if peer else None, "host": _cut(peer.host, 64) if peer else None,
        "port": peer.port if peer else None, "registered": dev.registered,
        "registered_at": _wall(dev.registered_at), "expires_at": _wall(dev.expires_at),
        "last_seen": _wall(dev.last_seen), "last_keepalive": _wall(dev.last_keepalive),
        "keepalive_status": _cut(dev.keepalive_status, 16), "catalog_at": _wall(dev.catalog_at), "info": info,
        "updated_at": _wall(now),
    }


def channel_rows(dev: DeviceState, now: float) -> list[dict[str, object]]:
    """Its catalog's rows (pure); channel IDs longer than the column are left out."""
    at = _wall(now)
    return [{"device_id": dev.device_id, "channel_id": ch.channel_id, "name": _cut(ch.name, 255),
             "manufacturer": _cut(ch.manufacturer, 255), "model": _cut(ch.model, 255),
             "civil_code": _cut(ch.civil_code, 32), "address": _cut(ch.address, 255), "parental": ch.parental,
             "parent_id": _cut(ch.parent_id, 32), "status": _cut(ch.status, 16), "updated_at": at}
            for ch in dev.channels.values() if len(ch.channel_id) <= 32]


def state_of(row: dict[str, object], channels: Iterable[dict[str, object]]) -> DeviceState:
    """A device as the registry keeps it, from its rows (pure)."""
    def t(key: str) -> float | None:
        v = row[key]
        return _epoch(v) if isinstance(v, dt.datetime) else None

    info = None
    if isinstance(row["info"], str):
        d = json.loads(row["info"])
        info = DeviceInfoFields(d.get("name", ""), d.get("manufacturer", ""), d.get("model", ""),
                                d.get("firmware", ""), d.get("channels"))
    peer = None
    if row["transport"] in ("udp", "tcp") and isinstance(row["host"], str) and isinstance(row["port"], int):
        peer = Peer(str(row["transport"]), row["host"], row["port"])
    chans = {str(c["channel_id"]): ChannelState(
        str(c["channel_id"]), str(c["device_id"]), str(c["name"]), str(c["manufacturer"]), str(c["model"]),
        str(c["civil_code"]), str(c["address"]), bool(c["parental"]), str(c["parent_id"]), str(c["status"]),
        _epoch(c["updated_at"]) or 0.0)  # type: ignore[arg-type]
        for c in channels}
    return DeviceState(str(row["device_id"]), peer, bool(row["registered"]), t("registered_at"),
                       t("expires_at") or 0.0, t("last_seen"), t("last_keepalive"), str(row["keepalive_status"] or ""),
                       t("catalog_at"), None, None, MappingProxyType(chans), info, bool(row["listed"]),
                       kept_at=t("updated_at"))


@dataclass(frozen=True, slots=True)
class Batch:
    full: list[DeviceState]
    channels: list[DeviceState]
    seen: list[DeviceState]
    gone: set[str]

    def __len__(self) -> int:
        return len(self.full) + len(self.channels) + len(self.seen) + len(self.gone)


class Batches:
    """The next batch from the registry's marks; a device's times at most every *seen_every_s*."""

    def __init__(self, registry: Registry, seen_every_s: float) -> None:
        self.registry = registry
        self.seen_every_s = seen_every_s
        self._written: dict[str, float] = {}  # device -> last_seen as last written

    def loaded(self, states: Iterable[DeviceState]) -> None:
        for st in states:
            self._written[st.device_id] = st.last_seen or 0.0

    def take(self, *, final: bool = False) -> Batch:
        reg = self.registry
        seen_ids, full_ids, chan_ids, gone = reg.take_dirty()
        get = reg.device
        written, every = self._written, self.seen_every_s
        seen: list[DeviceState] = []
        held: set[str] = set()
        for i in seen_ids:
            d = get(i)
            if d is None:
                continue
            w = written.get(i)
            if final or w is None or (d.last_seen or 0.0) - w >= every:
                seen.append(d)
            else:
                held.add(i)
        if held:
            reg.mark_dirty(set(), set(), held)
        for i in gone:
            written.pop(i, None)
        return Batch([d for i in full_ids if (d := get(i)) is not None],
                     [d for i in chan_ids if (d := get(i)) is not None], seen, gone)

    def done(self, batch: Batch) -> None:
        for d in (*batch.full, *batch.seen):
            self._written[d.device_id] = d.last_seen or 0.0

    def failed(self, batch: Batch) -> None:
        self.registry.mark_dirty({d.device_id for d in (*batch.full, *batch.seen)},
                                 {d.device_id for d in batch.channels})


class RegistrationStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.written = 0  # rows written (statistics)

    async def load(self) -> list[DeviceState]:
        async with self.engine.connect() as conn:
            regs = [dict(r._mapping) for r in await conn.execute(select(REG))]
            chans: dict[str, list[dict[str, object]]] = {}
            for r in await conn.execute(select(CHAN)):
                chans.setdefault(r.device_id, []).append(dict(r._mapping))
        return [state_of(r, chans.get(str(r["device_id"]), ())) for r in regs]

    def _upsert(self, rows: list[dict[str, object]]):  # type: ignore[no-untyped-def]
        ins = (postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert)(REG)
        keep = {c.name: ins.excluded[c.name] for c in REG.columns if c.name != "device_id"}
        return ins.on_conflict_do_update(index_elements=["device_id"], set_=keep)

    async def stopped(self, dead: Iterable[str], now: float) -> None:
        """At a clean stop (after the last batch): the rows of the devices silent for the keepalive
        timeout (or expired) get the stop as their ``updated_at``, read back as ``kept_at``."""
        ids, at = list(dead), _wall(now)
        async with self.engine.begin() as conn:
            for i in range(0, len(ids), CHUNK):
                await conn.execute(update(REG).where(REG.c.device_id.in_(ids[i:i + CHUNK])).values(updated_at=at))

    async def write(self, full: list[DeviceState], channels: list[DeviceState], seen: list[DeviceState],
                    gone: Iterable[str], now: float) -> int:
        """One batch: rows upserted (*full*), catalogs replaced (*channels*), times moved
        (*seen*), rows deleted (*gone*). One transaction. Returns the rows written."""
        n = 0
        gone_ids = list(gone)
        async with self.engine.begin() as conn:
            rows = [registration_row(d, now) for d in full]
            for i in range(0, len(rows), CHUNK):
                part = rows[i:i + CHUNK]
                await conn.execute(self._upsert(part), part)
            n += len(rows)
            if seen:
                stmt = (update(REG).where(REG.c.device_id == bindparam("b_id"))
                        .values(last_seen=bindparam("b_seen"), last_keepalive=bindparam("b_ka"),
                                keepalive_status=bindparam("b_ks"), updated_at=bindparam("b_at")))
                at = _wall(now)
                params = [{"b_id": d.device_id, "b_seen": _wall(d.last_seen), "b_ka": _wall(d.last_keepalive),
                           "b_ks": _cut(d.keepalive_status, 16), "b_at": at} for d in seen]
                for i in range(0, len(params), CHUNK):
                    await conn.execute(stmt, params[i:i + CHUNK])
                n += len(params)
            drop = [d.device_id for d in channels] + gone_ids
            for i in range(0, len(drop), CHUNK):
                await conn.execute(delete(CHAN).where(CHAN.c.device_id.in_(drop[i:i + CHUNK])))
            crow = [r for d in channels for r in channel_rows(d, now)]
            for i in range(0, len(crow), CHUNK):
                await conn.execute(CHAN.insert(), crow[i:i + CHUNK])
            n += len(crow)
            for i in range(0, len(gone_ids), CHUNK):
                await conn.execute(delete(REG).where(REG.c.device_id.in_(gone_ids[i:i + CHUNK])))
        self.written += n
        return n
