"""An exclusion removed before it began gives its number to no other (the audit rows that name it
would then name a live one): SQLite's AUTOINCREMENT (migration 0017), PostgreSQL's sequence."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.collector.test_cli_exclusion_end import add, camwatch, listed, ok, setup


def test_a_removed_exclusions_number_is_never_given_again(tmp_path: Path, db_url: str) -> None:
    setup(tmp_path, db_url)
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
    add(tmp_path, db_url, ("--camera", "1"), soon, soon + dt.timedelta(hours=2))
    (first,) = listed(tmp_path, db_url)
    ok(camwatch(tmp_path, db_url, "exclusion", "end", str(first)))  # one to come: removed
    assert listed(tmp_path, db_url) == {}
    add(tmp_path, db_url, ("--camera", "2"), soon, soon + dt.timedelta(hours=2))
    (second,) = listed(tmp_path, db_url)
    assert second > first
