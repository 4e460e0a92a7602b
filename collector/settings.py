"""camwatch settings: one YAML file, every key overridable by ``CAMWATCH_...`` variables.

Built in the entry point and passed down; nothing here runs at import. Validation is
strict (``extra="forbid"``): an unknown or bad key gives one :class:`ConfigError`
naming every offending key path.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

from collector.alerting.config import AlertPolicySettings, unknown_channels, unrouted_warning
from collector.alerting.delivery.config import NotifySettings
from collector.config_types import Problem, TimeZoneName, bilingual, inconsistent
from collector.gb28181.config import Gb28181Settings
from collector.reports.config import ReportSettings
from collector.settings_input import (
    ENV_PREFIX,
    ConfigError,  # (raised by load_settings: imported from here)
    env_error,
    format_validation_error,
    read_yaml,
    referenced,
    unknown_env,
)

DEFAULT_DB_URL = "sqlite:///camwatch.db"
DEFAULT_CONFIG_FILE = "camwatch.yaml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_inconsistent = inconsistent  # (one error naming every key of a section that contradicts another)


class DatabaseSettings(_Section):
    url: str = Field(
        "sqlite:///camwatch.db",
        description="database URL: sqlite:///FILE (embedded default) or postgresql://USER@HOST/DB;\n"
        "the global option --db and CAMWATCH_DB override it",
    )
    echo: bool = Field(False, description="log every SQL statement (debugging only)")


class SecretsSettings(_Section):
    key_file: str | None = Field(
        "camwatch.key",
        description="file holding the key that encrypts camera passwords (CAMWATCH_SECRET_KEY wins)",
    )


class InventorySettings(_Section):
    retire_missing: bool = Field(
        True,
        description="on import, retire cameras of the file's counties that the file no longer lists",
    )
    retire_guard: float = Field(
        0.2, ge=0, le=1,
        description="an import that would retire more than this share of a county's cameras in use stops, writing nothing\n"
        "(a partial file taken for the whole county); `inventory import --allow-mass-retire` lets it through",
    )
    progress: bool = Field(True, description="show progress bars for large files on a terminal")


class CollectorSettings(_Section):
    interval_s: float = Field(60.0, gt=0, description="fast tier: every camera probed once per interval (seconds)")
    offline_interval_s: float = Field(
        15.0, gt=0, description="offline cameras are re-probed this often, to see recoveries quickly (at most interval_s)"
    )
    confirm_delays_s: list[Annotated[float, Field(gt=0)]] = Field(
        [5.0, 10.0], description="a failure is confirmed by one re-probe after each of these delays before a camera goes offline\n"
        "(each shorter than interval_s and none shorter than the one before; [] = the first failure counts)"
    )
    video: bool = Field(True, description="run the video tier (decoded frame + picture checks)")
    video_interval_s: float = Field(1800.0, gt=0, description="video tier interval per camera (seconds, at least interval_s)")
    concurrency: int = Field(2000, gt=0, description="probes in flight at once, overall")
    per_device_concurrency: int = Field(4, gt=0, description="probes in flight at once behind one upstream device/NVR")
    video_concurrency: int = Field(
        64, gt=0, description="frame grabs at once (they wait on the network most of the time and share the worker processes;\n"
        "a grab with the frozen check lasts ~4 s, so 64 at once give 10-16 cameras/s for ~0.5 core)"
    )
    video_workers: int = Field(2, gt=0, description="frame decoder worker processes: the video tier's CPU budget (cores)")
    flap_changes: int = Field(4, gt=0, description="more than this many up/down changes ...")
    flap_window_s: float = Field(1800.0, gt=0, description="... within this window flags a camera as flapping")
    reload_interval_s: float = Field(30.0, gt=0, description="how often inventory and exclusion changes are picked up")
    figures_interval_s: float = Field(300.0, gt=0, description="how often region availability (1d/7d/30d/month) and coverage are recomputed")
    rollup_interval_s: float = Field(
        600.0, gt=0, description="how often the daily rollups (each camera's time at every UTC midnight, read by long-period rates) are brought up to date"
    )
    collector_id: str = Field("default", description="this collector's name (heartbeat, shards)")
    catchup_s: float = Field(15.0, ge=0, description="after a start (and a replica's takeover) every camera is probed once within this many seconds, at most half the interval "
                             "(spread evenly), so the unknown gap of a restart ends then; 0 = at its regular phase only")
    catchup_rate: float = Field(2000.0, gt=0, description="... but at most this many of those first probes a second, over all processes: a larger\n"
                                "fleet's catch-up takes longer (up to the whole interval: the regular phases, the steady rate), so a start\n"
                                "does not ask the machine and the network for several times the steady rate (100k cameras at 60 s:\n"
                                "1,667 probes a second; their catch-up: 50 s at 2,000 a second)")
    journal_dir: str = Field("", description="where state changes wait on disk while the database is away (replayed "
                             "in order when it returns); empty: beside the SQLite file, else the working directory")
    keep_frames: bool = Field(True, description="keep each camera's last video-tier picture (a small JPEG, one file per camera "
                              "in frames/ beside the journal) for its console page")
    upstream_port: int = Field(80, gt=0, lt=65536, description="TCP port used to check upstream devices (refused counts as up)")
    replicas: bool = Field(False, description="share the cameras with other `camwatch run` replicas on the same PostgreSQL\n"
                           "(fixed shards held with advisory locks, DESIGN §8); SQLite runs one collector only")
    replica_id: str = Field("", max_length=64, description="this replica's name (empty: host name and process id)")
    shards: int = Field(256, ge=1, le=65536, description="shards the cameras are split into (by a stable hash of "
                        "the camera id); the same on every replica")
    takeover_s: float | None = Field(None, gt=0, description="a dead replica's shards are taken over within this "
                                     "many seconds (empty: 2 x interval_s)")
    workers: Annotated[int, Field(ge=1)] | Literal["auto"] = Field("auto", description="probe worker processes on this machine (their cameras "
                                           "split by shard; this process alone writes the database); 1 = probe in this "
                                           "process; auto = one per core once the fleet needs more than one")
    worker_stall_s: float = Field(30.0, ge=1, description="a probe worker that sends no report for this many seconds "
                                  "(hung, stopped) is killed and started again, its cameras unknown from its last report")

    @model_validator(mode="after")
    def _consistent(self) -> CollectorSettings:
        _inconsistent(collector_problems(self))
        return self


def collector_problems(c: CollectorSettings) -> list[Problem]:
    """The keys of the ``collector:`` section that contradict another one, with why."""
    out = []
    if c.offline_interval_s > c.interval_s:
        out.append(("offline_interval_s", f"{c.offline_interval_s:g} is longer than interval_s ({c.interval_s:g}):"
                    " offline cameras are re-probed at least as often as online ones",
                    f"{c.offline_interval_s:g} 大于 interval_s（{c.interval_s:g}）：离线摄像机的复测不应比在线的更稀"))
    too_long = [d for d in c.confirm_delays_s if d >= c.interval_s]
    if too_long:
        out.append(("confirm_delays_s", f"{too_long[0]:g} is not shorter than interval_s ({c.interval_s:g}):"
                    " a failure is confirmed before the next regular probe",
                    f"{too_long[0]:g} 不小于 interval_s（{c.interval_s:g}）：故障应在下一次常规探测前确认"))
    if any(b < a for a, b in zip(c.confirm_delays_s, c.confirm_delays_s[1:], strict=False)):
        out.append(("confirm_delays_s", f"{c.confirm_delays_s} goes down: each delay is at least the one before",
                    f"{c.confirm_delays_s} 出现递减：每个延时应不小于前一个"))
    if c.video_interval_s < c.interval_s:
        out.append(("video_interval_s", f"{c.video_interval_s:g} is shorter than interval_s ({c.interval_s:g}):"
                    " the video tier is the slower one",
                    f"{c.video_interval_s:g} 小于 interval_s（{c.interval_s:g}）：视频层应比快速层慢"))
    return out


class ProbeSettings(_Section):
    reach_timeout_s: float = Field(3.0, gt=0, description="TCP connect limit (seconds)")
    rtsp_timeout_s: float = Field(5.0, gt=0, description="RTSP OPTIONS/DESCRIBE limit (seconds)")
    onvif_timeout_s: float = Field(5.0, gt=0, description="ONVIF limit (seconds)")
    frame_timeout_s: float = Field(30.0, gt=0, description="frame grab + picture checks limit (seconds)")
    live_frames: int = Field(2, gt=0, description="the video tier's liveness proof: this many frames with increasing timestamps ...")
    live_window_s: float = Field(4.0, gt=0, description="... each within this many seconds of the one before; a stream "
                                 "whose frames stop after the first ones has no video (码流中断)")
    onvif: bool = Field(True, description="query ONVIF (clock offset, device information) on the fast tier")
    clock_skew_s: float = Field(60.0, gt=0, description="a camera whose clock (ONVIF) is off by more than this "
                                "many seconds fails the clock check (degraded: 时钟偏差)")


class HttpSettings(_Section):
    host: str = Field("127.0.0.1", description="address of /metrics, /healthz, the API and the web pages")
    port: int = Field(9850, ge=0, lt=65536, description="port of the same (0: any free port)")
    api_token: str | None = Field(None, description="bearer token required for API writes (better: CAMWATCH_HTTP__API_TOKEN)")
    open_reads: bool = Field(True, description="allow API reads without a token")
    metrics_token: SecretStr | None = Field(
        None, description="bearer token /metrics requires (Prometheus: authorization: credentials_file): env:NAME,\n"
        "file:PATH or the token itself; empty: /metrics open to anyone who reaches the port (it names every camera,\n"
        "its place, state and coordinates); /healthz stays open (counts and process health only)")
    max_connections: int = Field(1000, ge=1, description="HTTP connections at once (at most a quarter of the open-file limit: the rest is kept for probing)")
    header_timeout_s: float = Field(10.0, gt=0, description="a new connection must send its request head within this time")
    keepalive_timeout_s: float = Field(15.0, gt=0, description="an idle keep-alive connection is closed after this time")
    max_body_bytes: int = Field(1 << 20, ge=1024, description="largest request body accepted (413 above)")


class MetricsSettings(_Section):
    per_camera: Literal["all", "offline_only"] = Field(
        "all", description="per-camera series on /metrics: all = every camera; offline_only = only cameras offline or\n"
        "degraded now (bounds the series of a very large fleet; region and fleet figures stay complete)")


class AccountingSettings(_Section):
    timezone: TimeZoneName = Field("Asia/Shanghai", description="local time zone of days, months and check times")
    check_times: list[str] = Field(
        ["09:00", "15:00", "21:00"], description="local times at which assessors sample (snapshot rate)"
    )
    target: float = Field(0.95, gt=0, le=1, description="contract target of the online rate (per-region overrides in the inventory)")
    coverage_threshold: float = Field(0.95, gt=0, le=1, description="a camera covers its point over a period when online at least this share")
    transition_dating: Literal["midpoint", "first_probe"] = Field(
        "midpoint", description="when a state change is dated: midpoint = halfway between the last probe that saw the old\n"
        "state and the first that saw the new one (unbiased; each rate carries ± half those probe gaps);\n"
        "first_probe = at the first probe that saw the new state (shortens every outage by about half an interval)")

    @field_validator("check_times")
    @classmethod
    def _times_of_day(cls, v: list[str]) -> list[str]:
        try:
            times = [dt.time.fromisoformat(t) for t in v]
        except ValueError:
            raise bilingual(f"{v}: each check time is a local time of day HH:MM",
                            f"{v}：每个抽查时刻应为当地时刻 HH:MM") from None
        if len(set(times)) != len(times):
            raise bilingual(f"{v}: a check time is listed twice", f"{v}：有抽查时刻重复")
        return v


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    language: Literal["zh", "en"] = Field(
        "zh", description="language of messages, reports and pages: zh (简体中文) or en"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="log level")
    log_format: Literal["text", "json"] = Field(
        "text", description="log lines as text, or one JSON object per line (ts, level, logger, message)")
    database: DatabaseSettings = Field(default_factory=DatabaseSettings, description="where camwatch keeps its data")
    secrets: SecretsSettings = Field(default_factory=SecretsSettings, description="camera credentials at rest")
    inventory: InventorySettings = Field(default_factory=InventorySettings, description="inventory import")
    collector: CollectorSettings = Field(default_factory=CollectorSettings, description="the collector (camwatch run)")
    probe: ProbeSettings = Field(default_factory=ProbeSettings, description="per-stage probe limits")
    http: HttpSettings = Field(default_factory=HttpSettings, description="HTTP: metrics, health, API")
    metrics: MetricsSettings = Field(default_factory=MetricsSettings, description="what /metrics exports")
    accounting: AccountingSettings = Field(default_factory=AccountingSettings, description="rates, coverage and targets")
    alerts: AlertPolicySettings = Field(default_factory=AlertPolicySettings, description="alert decisions, messages and work orders")
    notify: NotifySettings = Field(default_factory=NotifySettings, description="alert channels and delivery")
    reports: ReportSettings = Field(default_factory=ReportSettings, description="monthly and quarterly reports, frozen months, contract score")
    gb28181: Gb28181Settings = Field(default_factory=Gb28181Settings, description="GB/T 28181 SIP access platform: devices and NVRs register to camwatch")

    @property
    def recheck_answer_s(self) -> float:
        """The longest an offline camera's next recheck takes to answer, from the end of the probe
        before it: the recheck interval plus the longest failing fast-tier probe (a connect that
        times out, or one that connects and whose RTSP times out)."""
        return self.collector.offline_interval_s + self.probe.reach_timeout_s + self.probe.rtsp_timeout_s

    @model_validator(mode="after")
    def _gb28181_on_kubernetes(self) -> Settings:
        if self.gb28181.kubernetes_service and not self.collector.replicas:
            _inconsistent([("gb28181.kubernetes_service", "needs collector.replicas: true (a lone collector's pod "
                            "is reached through an ordinary Service with a selector)",
                            "需要 collector.replicas: true（单个采集器的 Pod 通过带选择器的普通 Service 访问）")])
        return self

    @model_validator(mode="after")
    def _channels_named(self) -> Settings:
        """Alerts and reports go to channels of ``notify.channels``. No error (:func:`alert_routing_warning`
        says what will not be sent): none configured at all (a fresh install, a demo), or the
        default routes (alerts keys not given) while channels are set for something else (reports)."""
        configured = [c.name for c in self.notify.channels]
        if not configured:
            return self
        refs = self.alerts.channel_references(explicit=True) if self.alerts.enabled else []
        problems = unknown_channels(refs, configured)
        ch, name = None, self.reports.channel
        if name:
            problems += unknown_channels([("reports.channel", name)], configured)
            ch = next((c for c in self.notify.channels if c.name == name), None)
        if ch is not None and ch.kind != "email":
            problems.append(("reports.channel", f"{name} is a {ch.kind} channel: reports go by e-mail (an email channel)",
                             f"{name} 是 {ch.kind} 通道：报表通过电子邮件发送（应为 email 通道）"))
        _inconsistent(problems)
        return self

    @model_validator(mode="after")
    def _console_links(self) -> Settings:
        """``alerts.base_url`` left empty: alert links open this collector's own console."""
        if not self.alerts.base_url:
            url = console_url(self.http)
            if url:  # (frozen: set once, here, while the settings are being made)
                object.__setattr__(self, "alerts", self.alerts.model_copy(update={"base_url": url}))
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, _EnvSource(settings_cls), _YamlSource(settings_cls), file_secret_settings)


# What load_settings read, for the sources below (None outside load_settings: no file, the real environment).
_yaml_data: ContextVar[dict[str, Any] | None] = ContextVar("camwatch_yaml_data", default=None)
_environ: ContextVar[dict[str, str] | None] = ContextVar("camwatch_environ", default=None)


class _EnvSource(EnvSettingsSource):
    """Environment source reading the mapping given to :func:`load_settings`."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        env = _environ.get()
        return parse_env_vars(
            os.environ if env is None else env,
            self.case_sensitive,
            self.env_ignore_empty,
            self.env_parse_none_str,
        )


class _YamlSource(PydanticBaseSettingsSource):
    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        data = _yaml_data.get() or {}
        return data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_yaml_data.get() or {})


def console_url(http: HttpSettings) -> str:
    """The web console's address from the HTTP settings; "" while the port is chosen at start
    (0). A wildcard host (0.0.0.0, ::) is named by this machine's host name."""
    if http.port == 0:
        return ""
    host = http.host if http.host not in ("", "0.0.0.0", "::") else socket.gethostname()
    return f"http://[{host}]:{http.port}" if ":" in host else f"http://{host}:{http.port}"


def with_http_port(settings: Settings, port: int) -> Settings:
    """*settings* serving on *port*; alert links follow when they were derived from the HTTP settings."""
    derived = settings.alerts.base_url == console_url(settings.http)
    out = settings.model_copy(update={"http": settings.http.model_copy(update={"port": port})})
    if derived:
        out = out.model_copy(update={"alerts": out.alerts.model_copy(update={"base_url": console_url(out.http)})})
    return out


def alert_routing_warning(settings: Settings) -> tuple[str, str] | None:
    """(English, Chinese) warning that no alert message will be sent: alerts are routed to
    channels while ``notify.channels`` is empty (``camwatch run`` logs it, ``config check`` prints it)."""
    return unrouted_warning(settings.alerts, [c.name for c in settings.notify.channels])


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    *,
    db_url: str | None = None,
    environ: dict[str, str] | None = None,
    required: bool = False,
) -> Settings:
    """Load settings from *config_file* (YAML), then ``CAMWATCH_...`` variables, then *db_url*.

    Without a file, ``camwatch.yaml`` in the working directory is read if it exists.
    """
    environ = dict(os.environ if environ is None else environ)
    path: Path | None
    if config_file is not None:
        path = Path(config_file)
        if not path.exists():
            raise ConfigError(f"{path}: config file not found", f"{path}：找不到配置文件")
    else:
        default = Path(DEFAULT_CONFIG_FILE)
        path = default if default.exists() else None
        if required and path is None:
            raise ConfigError(f"{DEFAULT_CONFIG_FILE}: config file not found", f"{DEFAULT_CONFIG_FILE}：找不到配置文件")
    data = read_yaml(path) if path is not None else {}
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    bad_env = unknown_env(environ, known, referenced(data, environ))
    source = str(path) if path is not None else "environment"
    token = _yaml_data.set(data)
    env_token = _environ.set(environ)
    try:
        settings = Settings()
    except ValidationError as exc:  # (with the unknown variables: every mistake at once)
        raise format_validation_error(exc, source, environ, Settings, bad_env) from None
    finally:
        _environ.reset(env_token)
        _yaml_data.reset(token)
    if bad_env:
        raise env_error(bad_env, known)
    if db_url:
        settings = settings.model_copy(
            update={"database": settings.database.model_copy(update={"url": db_url})}
        )
    return settings


__all__ = ["DEFAULT_CONFIG_FILE", "DEFAULT_DB_URL", "AccountingSettings", "alert_routing_warning", "CollectorSettings", "ConfigError",
           "DatabaseSettings", "HttpSettings", "InventorySettings", "MetricsSettings", "ProbeSettings",
           "SecretsSettings", "Settings", "collector_problems", "console_url", "load_settings", "with_http_port"]
