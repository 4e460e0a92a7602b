"""E-mail with attachments through a configured ``email`` notification channel (apprise's mailto
plugin, the same SMTP settings, password and time limits as alert messages), for what is not an
alert: the closed month's workbook (:mod:`collector.runtime.report_close`).

The channel's own ``to=`` addresses are replaced by the given recipients; failures are
:class:`~collector.alerting.delivery.sender.DeliveryError` with a reason that names no secret.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from apprise import AppriseAttachment, NotifyFormat, NotifyType
from apprise.attachment.memory import AttachMemory

from collector.alerting.delivery.channels import AppriseSender, ChannelConfigError, build_sender
from collector.alerting.delivery.config import ChannelSettings, NotifySettings
from collector.alerting.delivery.reasons import call
from collector.alerting.delivery.redact import Redactor
from collector.alerting.delivery.sender import DeliveryError

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str  # the file name the recipient sees (UTF-8 allowed)
    content: bytes
    mimetype: str = XLSX


def email_channel(notify: NotifySettings, name: str = "") -> ChannelSettings | None:
    """The e-mail channel called *name*, or the first e-mail channel when *name* is empty; None
    when there is none (or *name* is not an e-mail channel)."""
    for ch in notify.channels:
        if ch.kind == "email" and (not name or ch.name == name):
            return ch
    return None


def _valid(address: str) -> bool:
    local, _, domain = address.partition("@")
    return bool(local) and "." in domain and not any(c.isspace() or c in ",;<>" for c in address)


async def send_mail(ch: ChannelSettings, to: Sequence[str], subject: str, text: str,
                    attachments: Sequence[Attachment] = (), *, environ: Mapping[str, str] | None = None) -> None:
    """One message to *to* (every address in the To: line) with *attachments*."""
    if ch.kind != "email":
        raise DeliveryError(f"channel {ch.name!r} is {ch.kind}, not email", retryable=False)
    bad = [a for a in to if not _valid(a)]
    if not to or bad:
        raise DeliveryError(f"not an e-mail address: {', '.join(bad) or '(none)'}", retryable=False)
    try:
        sender = build_sender(ch, Redactor(), environ=environ)
    except ChannelConfigError as exc:
        raise DeliveryError(str(exc), retryable=False) from None
    assert isinstance(sender, AppriseSender)
    plugin = sender.plugin
    plugin.targets = [(False, a) for a in to]
    files = AppriseAttachment([AttachMemory(content=a.content, name=a.name, mimetype=a.mimetype)  # type: ignore[no-untyped-call]  # apprise is untyped
                               for a in attachments])
    why = await asyncio.to_thread(call, plugin.notify, sender.redactor, body=text, title=subject,
                                  notify_type=NotifyType.INFO, body_format=NotifyFormat.TEXT,
                                  attach=files if attachments else None)
    if why is not None:  # (refused, timed out, the server's answer to the login...: redacted, in both languages)
        err = why.error()
        raise DeliveryError(sender.redactor(err.reason), zh=sender.redactor(err.render("zh")), retryable=err.retryable)


__all__ = ["XLSX", "Attachment", "email_channel", "send_mail"]
