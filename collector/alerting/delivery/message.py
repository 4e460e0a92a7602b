"""The message handed to the notifier, and merging of several into one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

SEVERITY_ORDER = ("info", "low", "warning", "medium", "high", "critical")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message for one channel.

    ``text`` is plain text, ``markdown`` the same in Markdown (used where the channel renders it).
    ``incident`` is the incident key (alert_log.incident_key); ``kind`` says what the message is
    (open, resolved, reminder, escalation, digest, test...). The optional fields feed the
    Alertmanager sink: ``labels`` (camera, village, township, cause...), ``starts_at`` and, for a
    resolved incident, ``ends_at``; ``link`` becomes an annotation.
``key``: the delivery key persisted before sending (replicas' leader only). ``text`` and
    ``markdown`` do not repeat the title: every channel shows it (heading, subject, title field).
    """

    channel: str
    title: str
    text: str
    markdown: str | None
    severity: str
    incident: str | None
    kind: str
    labels: tuple[tuple[str, str], ...] = ()
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    link: str | None = None
    key: str | None = None  # idempotency key of a replicas' leader (collector.alerting.outbox); None alone
    short: str | None = None  # the whole message in a few lines, for SMS (None: the title and text)


def _rank(severity: str) -> int:
    try:
        return SEVERITY_ORDER.index(severity)
    except ValueError:
        return 0


def size(msg: Outgoing) -> int:
    """UTF-8 bytes of the larger of the plain and Markdown bodies (with the title)."""
    body = max(len(msg.text.encode()), len((msg.markdown or "").encode()))
    return body + len(msg.title.encode()) + 8


def merge(msgs: Sequence[Outgoing], language: str = "zh") -> Outgoing:
    """One message carrying every message of *msgs* in full (nothing is shortened or dropped)."""
    if not msgs:
        raise ValueError("nothing to merge")
    if len(msgs) == 1:
        return msgs[0]
    n = len(msgs)
    first = msgs[0]
    title = f"{first.title}（等 {n} 条消息）" if language != "en" else f"{first.title} (+{n - 1} more)"
    text = "\n\n".join(f"[{i}/{n}] {m.title}\n{m.text}" for i, m in enumerate(msgs, 1))
    markdown = None
    if any(m.markdown is not None for m in msgs):
        markdown = "\n\n---\n\n".join(f"**[{i}/{n}] {m.title}**\n\n{m.markdown if m.markdown is not None else m.text}"
                                      for i, m in enumerate(msgs, 1))
    severity = max((m.severity for m in msgs), key=_rank)
    short = "\n\n".join(m.short for m in msgs if m.short) if all(m.short for m in msgs) else None
    return Outgoing(channel=first.channel, title=title, text=text, markdown=markdown, severity=severity,
                    incident=None, kind="merged", short=short)


def compose(msgs: Sequence[Outgoing], language: str, *, keyword: str | None = None, markdown: bool = False,
            short_form: bool = False) -> tuple[Outgoing, str, str, bool]:
    """One post of *msgs*: the merged message, the title (the channel's *keyword* put first when
    neither title nor text holds it: robots refuse a message without it), the body (Markdown when
    *markdown* and the message has it) and whether the body is Markdown. *short_form* (SMS): the
    message's short form, title included, with no title of its own."""
    msg = merge(msgs, language)
    title = msg.title
    if keyword and keyword not in title and keyword not in msg.text:
        title = f"【{keyword}】{title}"
    use_md = markdown and msg.markdown is not None
    body = msg.markdown if use_md and msg.markdown is not None else msg.text
    if short_form and msg.short:
        title, body = "", msg.short
    return msg, title, body, use_md
