"""``gb28181:`` section of the settings (pydantic, unknown keys refused): camwatch as a
GB/T 28181 SIP access platform that devices and lower platforms register to."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from collector.config_types import Problem, inconsistent

Transport = Literal["udp", "tcp"]


def _both() -> list[Transport]:
    return ["udp", "tcp"]


_SERVICE = re.compile(r"^[a-z]([-a-z0-9]{0,52}[a-z0-9])?$")  # (DNS-1035; its slice is named <service>-leader)
_DOMAIN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-]{0,63}$")


class Gb28181Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(False, description="run the SIP access platform (devices and NVRs register to camwatch)")
    host: str = Field("0.0.0.0", description="address the SIP platform listens on")
    port: int = Field(5060, ge=0, lt=65536, description="SIP port, UDP and TCP (0: any free port)")
    transports: list[Transport] = Field(
        default_factory=_both, min_length=1, description="SIP transports to listen on: udp, tcp")
    advertise_host: str | None = Field(
        None, description="the address devices reach camwatch at, written in Via of our queries "
        "(default: host, or this machine's address when host is 0.0.0.0)")
    server_id: str = Field("34020000002000000001", description="camwatch's SIP server ID (20 digits, "
                           "type 200: a platform), entered in each device as 'SIP server ID'")
    domain: str = Field("3402000000", description="the SIP domain (realm), usually the first 10 digits of server_id")
    password: SecretStr | None = Field(
        None, description="default registration password of devices without their own "
        "(inventory); env:NAME or file:PATH allowed; none: such devices are refused")
    keepalive_interval_s: float = Field(
        60.0, gt=0, description="the devices' keepalive interval (GB/T 28181 default 60 s); a device silent longer "
        "(plus status_grace_s) is asked for its DeviceStatus")
    status_grace_s: float = Field(5.0, ge=0, description="lateness of a keepalive before the DeviceStatus query")
    keepalive_timeout_s: float = Field(
        70.0, gt=0, description="a device silent this long is offline (platform_offline), found within a "
        "second more: at most 75 s after its last keepalive, where the standard's platforms wait 3 keepalives (180 s)")
    catalog_interval_s: float = Field(600.0, ge=10, description="catalog (channel list and ON/OFF) asked again this often")
    subscribe_catalog: bool = Field(True, description="SUBSCRIBE to each device's catalog changes (Event: Catalog); "
                                    "a device that refuses (405, 489 ...) is asked its catalog every catalog_interval_s")
    subscribe_expires_s: int = Field(3600, ge=2, le=86400, description="catalog subscription asked for this long "
                                     "(refreshed at 80 % of what the device grants)")
    min_expires_s: int = Field(60, ge=1, description="shortest registration accepted (423 Interval Too Brief below)")
    max_expires_s: int = Field(86400, ge=1, description="longest registration granted (longer asks are shortened)")
    nonce_ttl_s: float = Field(300.0, gt=0, description="a Digest nonce is good this long (then stale=true)")
    auth_failures: int = Field(5, ge=1, description="wrong passwords from one address before it is refused")
    auth_block_s: float = Field(300.0, gt=0, description="... for this long (one more try earned every "
                                "auth_block_s / auth_failures)")
    max_tcp_connections: int = Field(4000, ge=1, description="SIP TCP connections at once")
    max_tcp_per_address: int = Field(1024, ge=1, description="SIP TCP connections at once from one address: "
                                     "every device behind a NAT shares its address (a township's cameras behind "
                                     "one 4G router, villages behind a carrier's shared public IP), so keep it "
                                     "above the most devices behind one address; a flood from one address stops here")
    tcp_first_message_s: float = Field(10.0, gt=0, description="a new SIP TCP connection that sent no whole "
                                       "message within this long is closed")
    tcp_idle_s: float = Field(300.0, gt=0, description="a SIP TCP connection silent this long is closed")
    persist_every_s: float = Field(5.0, gt=0, le=60, description="registrations written to the database this often "
                                   "(batched; read back at start, so a restart of camwatch keeps devices registered)")
    persist_seen_s: float = Field(300.0, ge=0, le=3600, description="a device's keepalive times written at most this "
                                  "often (only its registration's start and expiry matter after a restart: its "
                                  "silence then counts from camwatch's start); all are written when camwatch stops")
    kubernetes_service: str | None = Field(
        None, description="with collector.replicas on Kubernetes: the Service without selector that devices register "
        "to; the leader writes its EndpointSlice with its own pod address (POD_IP), so the Service follows the "
        "leader (config/kubernetes/gb28181/); none: give devices an address that follows the leader yourself")
    max_channels_per_device: int = Field(5000, ge=1, le=1_000_000, description="channels kept of one device's "
                                         "catalog (more are ignored, and the log says so)")
    max_unlisted: int = Field(2000, ge=0, description="unlisted devices remembered (registered, not in the inventory)")
    trusted_devices: list[str] = Field(
        default_factory=list, description="the GB IDs (20 digits) of the NVRs and platforms that may tell the state of "
        "inventory cameras in their catalogs; any other device's catalog entries for them are ignored (a camera "
        "registering as itself still tells its own); empty: every registered device may, so anyone who knows "
        "gb28181.password can report online a camera that has not registered as itself with its own password")

    @field_validator("trusted_devices", mode="before")
    @classmethod
    def _ids_as_text(cls, v: object) -> object:  # (an ID written without quotes in YAML is a number)
        return [str(x) if isinstance(x, int) and not isinstance(x, bool) else x for x in v] if isinstance(v, list) else v

    @field_validator("trusted_devices")
    @classmethod
    def _trusted(cls, v: list[str]) -> list[str]:
        bad: list[Problem] = [
            (str(i), f"{x!r} is not a GB/T 28181 ID (20 digits, e.g. 34020000001180000001)",
             f"{x!r} 不是国标编码（应为 20 位数字，如 34020000001180000001）")
            for i, x in enumerate(v) if len(x) != 20 or not x.isascii() or not x.isdigit()]
        inconsistent(bad)
        return v

    @field_validator("server_id")
    @classmethod
    def _server_id(cls, v: str) -> str:
        if len(v) != 20 or not v.isascii() or not v.isdigit():
            raise ValueError("server_id must be 20 digits (GB/T 28181 ID, e.g. 34020000002000000001)")
        return v

    @field_validator("kubernetes_service")
    @classmethod
    def _service(cls, v: str | None) -> str | None:
        if v is not None and not _SERVICE.match(v):
            raise ValueError("kubernetes_service must be a Service name: lower-case letters, digits and '-', "
                             "starting with a letter, at most 54 characters (e.g. camwatch-gb28181)")
        return v

    @field_validator("domain")
    @classmethod
    def _domain(cls, v: str) -> str:
        if not _DOMAIN.match(v):
            raise ValueError("domain must be digits or a host name (usually 10 digits, e.g. 3402000000)")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Gb28181Settings:
        if self.keepalive_timeout_s <= self.keepalive_interval_s:
            raise ValueError(f"keepalive_timeout_s ({self.keepalive_timeout_s:g}) must be longer than "
                             f"keepalive_interval_s ({self.keepalive_interval_s:g})")
        if self.min_expires_s > self.max_expires_s:
            raise ValueError(f"min_expires_s ({self.min_expires_s}) is longer than max_expires_s ({self.max_expires_s})")
        if len(set(self.transports)) != len(self.transports):
            raise ValueError("transports lists one twice")
        return self
