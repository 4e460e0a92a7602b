"""Whether this process can listen on the configured HTTP address, asked before the collector
starts so that a taken port or a wrong host is one line naming the setting, not a traceback."""

from __future__ import annotations

import errno
import socket

WORDS = {
    "busy": ("端口 {host}:{port} 已被占用；请在配置文件中修改 {option}（或环境变量 {env}），或先停止占用它的程序",
             "port {host}:{port} is already in use; change {option} in the config file (or {env}), "
             "or stop the program using it"),
    "host": ("{option} “{host}” 不是本机可监听的地址（{error}）；请在配置文件中修改 {option}（或环境变量 {env}），如 127.0.0.1",
             "{option} {host!r} is not an address this machine can listen on ({error}); change {option} in the "
             "config file (or {env}), e.g. 127.0.0.1"),
    "denied": ("没有权限监听端口 {host}:{port}；请在配置文件中把 {option}（或环境变量 {env}）改为 1024 以上的端口",
               "no permission to listen on {host}:{port}; set {option} in the config file (or {env}) to a port above 1023"),
}


def _say(lang: str, key: str, **values: object) -> str:
    zh, en = WORDS[key]
    return (en if lang == "en" else zh).format(**values)


def bind_problem(host: str, port: int, lang: str) -> str | None:
    """Why ``host:port`` cannot be listened on (one line naming http.host/http.port), or None.
    Binds as aiohttp does (SO_REUSEADDR: a connection in TIME_WAIT does not count)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        return _say(lang, "host", option="http.host", env="CAMWATCH_HTTP__HOST", host=host,
                    error=getattr(exc, "strerror", None) or exc)
    for family, kind, proto, _, addr in infos:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(addr)
            except OSError as exc:
                return listen_error(exc, host, port, lang)
    return None


def listen_error(exc: OSError, host: str, port: int, lang: str) -> str:
    """One line for an OSError met while listening on ``host:port``."""
    values = {"host": host, "port": port, "env": "CAMWATCH_HTTP__PORT", "option": "http.port"}
    if exc.errno == errno.EADDRINUSE:
        return _say(lang, "busy", **values)
    if exc.errno == errno.EACCES:
        return _say(lang, "denied", **values)
    return _say(lang, "host", option="http.host", env="CAMWATCH_HTTP__HOST", host=host,
                error=exc.strerror or exc)
