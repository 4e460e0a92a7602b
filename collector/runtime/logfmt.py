"""Logging of the long-running commands: text lines, or one JSON object per line
(``log_format: json``) for a log shipper."""

from __future__ import annotations

import datetime as dt
import json
import logging

TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """``{"ts": ISO 8601 UTC, "level", "logger", "message"[, "exc"]}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Text lines whose time carries its UTC offset (``2026-12-04 22:29:26.967+08:00``): the
    machine's local time, never a bare clock reading that a reader must guess the zone of."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 (logging's name)
        return dt.datetime.fromtimestamp(record.created).astimezone().isoformat(sep=" ", timespec="milliseconds")


def setup_logging(level: str, fmt: str = "text") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter(TEXT))
    logging.basicConfig(level=getattr(logging, level), handlers=[handler])
    # the migration tool's two INFO lines at every start ("Context impl SQLiteImpl.", "Will assume
    # transactional DDL.") say nothing to an operator; "Running upgrade ..." and its warnings still show
    handler.addFilter(_quiet_alembic)
    # at DEBUG, aiosqlite logs every call it hands to its thread ("executing <function ...>", over a
    # thousand lines a minute) and asyncio every slow callback: camwatch's own debug lines drown
    for noisy in ("aiosqlite",):
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLogger(noisy).level))


def _quiet_alembic(record: logging.LogRecord) -> bool:
    return not (record.name.startswith("alembic") and record.levelno <= logging.INFO
                and str(record.msg).startswith(("Context impl", "Will assume")))
