"""Exit statuses of every ``camwatch`` command, defined once (README: "Exit statuses").

A script can tell what went wrong from the status alone: the data, the command line, or the
machine it runs on. ``camwatch probe`` reports its verdict in a range of its own, so that a
degraded or offline camera is never mistaken for a mistyped command.
"""

from __future__ import annotations

OK = 0
DATA = 1  # the data is wrong: rows of an import, an unknown camera/region, unreadable credentials, config check findings
USAGE = 2  # the command line or config file is wrong: click's own errors, option values, unknown config keys
ENVIRONMENT = 3  # the machine: port in use, unknown host, database missing/unreachable/old, unwritable path
PROBE_DEGRADED = 10  # camwatch probe: the camera streams but fails a picture or clock check
PROBE_OFFLINE = 11  # camwatch probe: the camera does not stream
INTERRUPTED = 130  # Ctrl-C (or end of input at a prompt): stopped by the user, as a shell reports SIGINT

PROBE_VERDICTS = {"online": OK, "degraded": PROBE_DEGRADED, "offline": PROBE_OFFLINE}

__all__ = ["DATA", "ENVIRONMENT", "INTERRUPTED", "OK", "PROBE_DEGRADED", "PROBE_OFFLINE", "PROBE_VERDICTS", "USAGE"]
