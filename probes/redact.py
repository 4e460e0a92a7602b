"""Redaction of credentials in anything we print, log or return."""

from __future__ import annotations

import re

# scheme://user:pass@host -> scheme://user:***@host ; also scheme://user@host is kept.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:@/\s]*):(?P<pw>[^/\s]*)@")


def redact_url(text: str) -> str:
    """Replace the password of every ``scheme://user:pass@`` in *text* with ``***``."""
    return _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
