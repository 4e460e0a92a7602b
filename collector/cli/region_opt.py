"""``--region``: a region named by its code or by a path of names (``柳林乡/周桥村``)."""

from __future__ import annotations

from collector.cli.context import CliContext
from collector.cli.runtime import fail
from inventory.region_find import RegionLookupError, find_region

HELP = "region: its code, or a path of names (县/乡镇/村, 乡镇/村 or a unique name)"


def region_option(ctx: CliContext, text: str | None) -> str | None:
    """The code of the region *text* names (None for None); a clear error, exit status 1, otherwise."""
    if text is None:
        return None
    try:
        return ctx.run_db(lambda eng: find_region(eng, text))
    except RegionLookupError as exc:
        fail(f"--region: {exc.render(ctx.lang)}", 1)  # (names the option, as the CLI's other errors do)
        raise  # unreachable: fail exits
