"""Where ``camwatch demo`` runs, so that two demos, or a demo beside a test run, do not collide:
its directory (locked: one demo per directory), its HTTP port (the configured one, or a free
one when that is taken, unless ``--port`` asked for it) and the loopback range of its upstream
routers. A failure is one line naming the option to change (:class:`DemoError`)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shlex
import signal
import socket
import sys
from pathlib import Path

from probes.sim.loopback import LoopbackRange, NoFreeRange, claim

WORDS = {
    "dir_busy": ("目录 {dir} 正被另一个演示使用；请用 --dir 换一个目录",
                 "directory {dir} is used by another demo; choose another with --dir"),
    "dir_bad": ("无法使用目录 {dir}：{error}；请用 --dir 指定一个可写的目录",
                "cannot use directory {dir}: {error}; choose a writable one with --dir"),
    "port_busy": ("端口 {host}:{port} 已被占用；请用 --port 换一个端口",
                  "port {host}:{port} is already in use; choose another with --port"),
    "port_moved": ("端口 {port} 已被占用，改用 {new}", "port {port} is in use; using {new} instead"),
    "fleet": ("模拟摄像机无法启动：{error}", "the simulated cameras could not start: {error}"),
    "fleet_at": ("模拟摄像机 {n} 台：{first} .. {last}（RTSP {rtsp}，ONVIF {onvif}）",
                 "{n} simulated cameras at {first} .. {last} (RTSP {rtsp}, ONVIF {onvif})"),
    "console": ("控制台（浏览器打开）：{url}", "console (open in a browser): {url}"),
    "cli": ("命令行（另开一个终端，例如本月各乡镇在线率）：{command}",
            "command line (in another terminal; e.g. this month's rates per township): {command}"),
    "cli_probe": ("探测一台摄像机：{command}", "probe one camera: {command}"),
    "fleet_failed": ("模拟摄像机出错：{error}，演示停止", "the simulated cameras failed: {error}; the demo stops"),
    "fleet_gone": ("模拟器已退出（{why}），演示停止", "the simulator exited ({why}); the demo stops"),
    "by_signal": ("进程 {pid} 被信号 {signal} 结束", "process {pid} was ended by signal {signal}"),
    "by_status": ("进程 {pid} 以状态 {status} 退出", "process {pid} exited with status {status}"),
}
KEY_VARIABLE = "CAMWATCH_SECRETS__KEY_FILE"  # secrets.key_file (collector.settings): the demo's key for `probe`


class DemoError(Exception):
    """The demo cannot start here; the message is one line for the user."""


def say(lang: str, key: str, **values: object) -> str:
    zh, en = WORDS[key]
    return (en if lang == "en" else zh).format(**values)


def cli_examples(db: Path, key: Path, camera: int, lang: str) -> str:
    """Commands a user can paste into another terminal (a POSIX shell) to read the demo's database:
    this month's rates, and a probe of *camera* (an id). Absolute paths, so they work from any
    directory; the demo's key file is named by its variable, as reading camera passwords needs it."""
    exe = Path(sys.argv[0]).resolve() if Path(sys.argv[0]).name == "camwatch" else Path("camwatch")
    head = f"{KEY_VARIABLE}={shlex.quote(str(key.resolve()))} " + shlex.join(
        [str(exe), "--db", f"sqlite:///{db.resolve()}", *(["--lang", "en"] if lang == "en" else [])])
    return "\n".join([say(lang, "cli", command=f"{head} rates"), say(lang, "cli_probe", command=f"{head} probe {camera}")])


def fleet_gone(exited: list[tuple[int, int]], lang: str) -> str:
    """The message for simulator workers that ended under the demo: (pid, exit status; -N: signal N)."""
    why = []
    for pid, status in exited:
        if status < 0:
            try:
                name = signal.Signals(-status).name
            except ValueError:
                name = str(-status)
            why.append(say(lang, "by_signal", pid=pid, signal=name))
        else:
            why.append(say(lang, "by_status", pid=pid, status=status))
    return say(lang, "fleet_gone", why=("; " if lang == "en" else "；").join(why))


def lock_workdir(workdir: Path, lang: str) -> int:
    """Hold ``workdir``'s lock (released when the descriptor closes or the process dies)."""
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        fd = os.open(workdir / ".camwatch-demo.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise DemoError(say(lang, "dir_bad", dir=workdir, error=exc.strerror or exc)) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EACCES):
            raise DemoError(say(lang, "dir_busy", dir=workdir.resolve())) from None
        raise
    return fd


def _bind(host: str, port: int) -> int | None:
    """The port a listening socket got at ``host:port`` (0: any), or None when it is taken.
    With SO_REUSEADDR, as aiohttp binds: a connection in TIME_WAIT does not count."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return None
            raise
        return int(sock.getsockname()[1])


def http_port(host: str, port: int, *, fixed: bool, lang: str) -> tuple[int, str | None]:
    """The port the demo's HTTP server takes, and a notice when it is not the configured one.

    ``fixed`` (the user gave ``--port``): a taken port is a :class:`DemoError`. Otherwise a
    taken port, or 0, becomes a free one.
    """
    got = _bind(host, port)
    if got is not None and port:
        return got, None
    if fixed and port:
        raise DemoError(say(lang, "port_busy", host=host, port=port))
    free = _bind(host, 0)
    assert free is not None  # port 0 is never "in use"
    return free, (say(lang, "port_moved", port=port, new=free) if port else None)


def port_in_use(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE


def router_range(port: int, lang: str) -> LoopbackRange:
    """A free /16 block for the villages' upstream routers (the demo's dead router listens in
    it on ``port``)."""
    try:
        return claim(1, ports=(port,))
    except NoFreeRange as exc:
        raise DemoError(say(lang, "fleet", error=exc.strerror)) from None


def release(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
