"""The GB/T 28181 access platform's registrations, kept across a restart of camwatch: one row
per device that registered (IPC, NVR, lower platform) and one per channel of its catalog.

Written by the collector in batches (every ``gb28181.persist_every_s``; a keepalive only moves
``last_seen``), read at start so verdicts continue: a device registered before a restart stays
registered until its ``expires_at`` and its keepalives are accepted. Unlisted devices (not in
the inventory) are kept too (``listed`` false), for ``camwatch inventory import-catalog``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from inventory.clock import utcnow
from inventory.models.base import Base, UTCDateTime


class Gb28181Registration(Base):
    __tablename__ = "gb28181_registrations"

    device_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    listed: Mapped[bool] = mapped_column(Boolean, default=True)
    transport: Mapped[str | None] = mapped_column(String(8))  # udp / tcp: where its REGISTER came from
    host: Mapped[str | None] = mapped_column(String(64))
    port: Mapped[int | None] = mapped_column(Integer)
    registered: Mapped[bool] = mapped_column(Boolean, default=False)  # false: withdrawn (Expires: 0)
    registered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # its last message of any kind
    last_keepalive: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    keepalive_status: Mapped[str] = mapped_column(String(16), default="")
    catalog_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # its last complete catalog
    info: Mapped[str | None] = mapped_column(Text)  # DeviceInfo answer (JSON: name, manufacturer, model ...)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Gb28181Channel(Base):
    """One item of a device's catalog, with its ON/OFF status."""

    __tablename__ = "gb28181_channels"
    __table_args__ = (Index("ix_gb28181_channels_channel_id", "channel_id"),)

    device_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    manufacturer: Mapped[str] = mapped_column(String(255), default="")
    model: Mapped[str] = mapped_column(String(255), default="")
    civil_code: Mapped[str] = mapped_column(String(32), default="")
    address: Mapped[str] = mapped_column(String(255), default="")
    parental: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_id: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(16), default="")  # ON / OFF / "" (not told)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Gb28181Verdict(Base):
    """Replicas (DESIGN §8): the latest signalling verdict of each GB28181-only camera, written by
    the leader (which hosts the SIP platform) and followed by the replica owning the camera's
    shard (``seq`` grows in commit order: one writer at a time, under a transaction lock)."""

    __tablename__ = "gb28181_verdicts"

    camera_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    verdict: Mapped[str] = mapped_column(String(24))  # online | platform_offline | channel_off | not_registered
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # when the platform decided
    last_seen: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # the device's last message before
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    replica: Mapped[str] = mapped_column(String(64))  # the leader that wrote it
