"""`log_level: DEBUG` shows camwatch's own debug lines, not aiosqlite's line per database call."""

from __future__ import annotations

import logging

from collector.runtime.logfmt import setup_logging


def test_debug_keeps_aiosqlite_quiet() -> None:
    noisy = logging.getLogger("aiosqlite")
    saved = noisy.level, logging.getLogger().level
    try:
        noisy.setLevel(logging.NOTSET)
        setup_logging("DEBUG")
        logging.getLogger().setLevel(logging.DEBUG)
        assert logging.getLogger("camwatch.scheduler").isEnabledFor(logging.DEBUG)
        assert not noisy.isEnabledFor(logging.DEBUG) and noisy.isEnabledFor(logging.INFO)
    finally:
        noisy.setLevel(saved[0])
        logging.getLogger().setLevel(saved[1])
