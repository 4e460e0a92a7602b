"""Keep channel secrets out of every log line and stored message.

A :class:`Redactor` knows the secret strings of the configured channels (tokens, signing
secrets, passwords, token-looking parts of URLs) and replaces them with ``***`` through
:func:`probes.redact.redact_secrets` (which also redacts credentials in any URL). A secret
shorter than :data:`SHORTEST_SECRET` is masked only where it stands, not by value. A
:class:`RedactingFilter` applies it to log records of apprise and urllib3 (which print request
URLs with tokens in them at DEBUG level) while a notifier runs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

from probes.redact import MASK, redact_secrets

# loggers that may print a channel's URL or credentials
FOREIGN_LOGGERS = ("apprise", "urllib3.connectionpool", "urllib3.util.retry", "aiohttp.client")
# query parameters whose value is a secret whatever its length (a receiver's token, a robot's key,
# DingTalk's signature); probes.redact masks most of these names in any URL, _MORE the others
SECRET_PARAMS = frozenset({"token", "access_token", "key", "secret", "sign", "signature", "sig", "password", "passwd",
                           "pwd", "pass", "apikey", "api_key", "auth", "access_key", "appsecret", "app_secret"})
SHORTEST_SECRET = 4  # a query value under a secret name, masked in any text from this length
_MORE = re.compile(r"(?P<head>[?&;](?:sign|signature|sig|auth|access_key|appsecret)=)[^&;#\s\"'<>]+", re.IGNORECASE)


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        self._secrets.update(s for s in secrets if s)

    def add_url(self, url: str, *, user_is_secret: bool = False) -> None:
        """Secrets inside a URL: the password (and user, for token@host gateways), query values
        (8+ characters, or 4+ under a secret name: ``token=``, ``key=``, ``sign=``...; a shorter one
        would mask every "1" or "on" of every message, and is masked where it stands in a URL),
        and token-looking path segments (16+ characters)."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return
        self.add(parts.password and unquote(parts.password))
        if user_is_secret:
            self.add(parts.username and unquote(parts.username))
        for k, v in parse_qsl(parts.query):
            if (len(v) >= 8 and "@" not in v) or (len(v) >= SHORTEST_SECRET and k.lower().lstrip("-+") in SECRET_PARAMS):
                self.add(v)
        for seg in parts.path.split("/"):
            if len(seg) >= 16:
                self.add(unquote(seg))

    def __call__(self, text: str) -> str:
        """*text* with the secrets masked: where they stand (a URL's password, a secret-named
        parameter, an ``Authorization`` value) whatever their length, and by value elsewhere from
        :data:`SHORTEST_SECRET` characters: a shorter one (an SMTP password ``2``) masked in every
        count and time of a message would spell itself out (``*** 台摄像机离线``) and ruin the message."""
        if "=" in text:
            text = _MORE.sub(lambda m: m["head"] + MASK, text)
        return redact_secrets(text, [s for s in self._secrets if len(s) >= SHORTEST_SECRET])

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"


class RedactingFilter(logging.Filter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a malformed foreign log call: drop its arguments
            text = str(record.msg)
        clean = self.redactor(text)
        if clean != text or record.args:
            record.msg = clean
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.redactor(logging.Formatter().formatException(record.exc_info))
        return True

    def install(self) -> None:
        for name in FOREIGN_LOGGERS:
            logging.getLogger(name).addFilter(self)

    def remove(self) -> None:
        for name in FOREIGN_LOGGERS:
            logging.getLogger(name).removeFilter(self)
