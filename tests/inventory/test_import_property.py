"""Property tests: random inventories import exactly; malformed rows fail cleanly, writing nothing."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.inventory.helpers import do_export, do_import, migrated, snapshot, write_csv

HEADERS = ["县/区代码", "县/区", "乡镇/街道代码", "乡镇/街道", "村/社区代码", "村/社区", "点位名称",
           "摄像机名称", "国标编码", "IP地址", "RTSP端口", "RTSP路径", "用户名", "密码", "状态"]
# "=+-@": names a spreadsheet would run, neutralised by the export and restored by the import
NAMES = st.text(alphabet="东西南北村镇乡庄口路学池abc䶮=+-@", min_size=1, max_size=6)
LIFECYCLES = ["", "在用", "维护", "active"]

_template: dict[str, Path] = {}


def fresh_db(tmp: Path) -> str:
    """A migrated SQLite file, copied from one migrated once per run (migrations are slow-ish)."""
    if "db" not in _template:
        d = Path(tempfile.mkdtemp(prefix="cw-hyp-"))
        migrated(f"sqlite:///{d / 'template.db'}")
        _template["db"] = d / "template.db"
    target = tmp / "t.db"
    shutil.copy(_template["db"], target)
    return f"sqlite:///{target}"


@st.composite
def inventories(draw: st.DrawFn) -> list[list[str]]:
    n_town = draw(st.integers(1, 3))
    rows: list[list[str]] = []
    cam = 0
    for t in range(1, n_town + 1):
        t_code = f"130123{100 + t:03d}"
        t_name = draw(NAMES)
        for v in range(1, draw(st.integers(1, 3)) + 1):
            with_code = draw(st.booleans())
            v_code = f"{t_code}{200 + v:03d}" if with_code else ""
            v_name = draw(NAMES) + str(v)
            for p in range(draw(st.integers(1, 3))):
                point = draw(NAMES) + str(p)
                for _ in range(draw(st.integers(0, 2))):
                    cam += 1
                    gb = f"1301230000132{draw(st.sampled_from('0123456'))}{cam:06d}" if draw(st.booleans()) else ""
                    rows.append(["130123", "示范县", t_code, t_name, v_code, v_name, point, draw(NAMES),
                                 gb, f"127.30.{cam // 250}.{cam % 250 + 1}", draw(st.sampled_from(["", "554", "8554"])),
                                 draw(st.sampled_from(["", "/live", "/Streaming/Channels/101"])),
                                 draw(st.sampled_from(["", "admin"])), draw(st.sampled_from(["", "pw-1", "密码#2"])),
                                 draw(st.sampled_from(LIFECYCLES))])
                if not any(r[4] == v_code and r[5] == v_name and r[6] == point for r in rows):
                    rows.append(["130123", "示范县", t_code, t_name, v_code, v_name, point] + [""] * 8)
    return rows


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=inventories(), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_random_inventory_imports_exactly_and_round_trips(tmp_path_factory, rows, encoding) -> None:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("p")
    url = fresh_db(tmp)
    path = write_csv(tmp / "in.csv", HEADERS, rows, encoding)
    out = do_import(url, path)
    assert out.plan.ok, [i.render("en") for i in out.plan.errors]
    snap = snapshot(url)
    cams = [r for r in rows if r[9]]
    assert len(snap["cameras"]) == len(cams)
    for r in cams:
        key = (r[9], int(r[10] or 554), r[11] or "/")
        stored = snap["cameras"][key]
        assert stored[1] == r[7] and stored[2] == (r[8] or None) and stored[5] == (r[13] or None)
    assert len(snap["points"]) == len({(r[2], r[4] or r[5], r[6]) for r in rows})
    assert do_import(url, path).plan.empty
    exported = tmp / "out.csv"
    do_export(url, exported, include_secrets=True)
    (tmp / "second").mkdir()
    url2 = fresh_db(tmp / "second")
    assert do_import(url2, exported).plan.ok
    assert snapshot(url2) == snap


BAD_CELLS = {
    9: ["999.0.0.1", "host name", "", "-x-"],          # IP地址 (empty host with a camera name: error)
    10: ["0", "65536", "abc", "1.5"],                   # RTSP端口
    8: ["123", "1301230000132000000x", "99012300001320000001"],  # 国标编码
    4: ["130124101201", "12345", "13012310120a"],       # 村/社区代码
    14: ["也许", "broken"],                             # 状态
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=inventories(), data=st.data())
def test_malformed_rows_fail_cleanly(tmp_path_factory, rows, data) -> None:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("m")
    url = fresh_db(tmp)
    good = write_csv(tmp / "good.csv", HEADERS, rows)
    assert do_import(url, good).plan.ok
    before = snapshot(url)
    bad_rows = [list(r) for r in rows]
    camera_rows = [i for i, r in enumerate(bad_rows) if r[9]]
    targets = data.draw(st.lists(st.sampled_from(camera_rows or [0]), min_size=1, max_size=3, unique=True))
    for i in targets:
        col = data.draw(st.sampled_from(sorted(BAD_CELLS)))
        bad_rows[i][col] = data.draw(st.sampled_from(BAD_CELLS[col]))
        if col == 9 and bad_rows[i][9] == "" and not bad_rows[i][7]:
            bad_rows[i][7] = "named"
    out = do_import(url, write_csv(tmp / "bad.csv", HEADERS, bad_rows))
    if out.plan.ok:
        return  # the change happened to be valid (e.g. an empty GB ID): then it imported exactly
    assert not out.written
    assert snapshot(url) == before
    bad_numbers = {i + 2 for i in targets}
    for err in out.plan.errors:
        # every error is located; row errors point at a corrupted row (or one it collides with)
        assert err.row is not None and err.column
        assert err.row in bad_numbers or any(str(n) in err.message("en") for n in bad_numbers) or err.code.startswith("region")
    assert bad_numbers & {e.row for e in out.plan.errors}
