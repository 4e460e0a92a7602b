"""``camwatch`` with a camera whose RTSP path holds its password (XiongMai
``/user=admin_password=..._channel=1``): never printed by ``inventory import``, ``inventory
export`` or ``probe``; the export imports back unchanged and the probe still logs in with the
stored path; a masked path for a new camera is refused naming row and column. Console script, real
SQLite, a loopback RTSP server."""

from __future__ import annotations

import json
from pathlib import Path

from tests.collector.test_cli_inventory import camwatch
from tests.probes.rtsp_servers import ServerConfig, serve_in_thread

SECRET = "Xm-Cli-4417"
PASSWORD = "Cred-Cli-8802"
PATH = f"/user=admin_password={SECRET}_channel=1_stream=0.sdp?real_stream"
SHOWN = "/user=admin_password=***"
HEAD = "县/区,乡镇/街道,村/社区,点位名称,IP地址,RTSP端口,RTSP路径,用户名,密码\n"


def test_a_password_in_the_path_is_never_printed_and_survives_the_export(tmp_path: Path) -> None:
    with serve_in_thread(ServerConfig(auth="digest", user="admin", password=PASSWORD)) as srv:
        assert camwatch(tmp_path, "init").returncode == 0
        one = tmp_path / "one.csv"
        one.write_text(HEAD + f"平山县,平山镇,东关村,村口,{srv.host},{srv.port},{PATH},admin,{PASSWORD}\n", encoding="utf-8")
        runs = [camwatch(tmp_path, "inventory", "import", str(one), "-v")]
        assert runs[0].returncode == 0 and SHOWN in runs[0].stdout, runs[0].stderr
        out = tmp_path / "out.csv"
        runs.append(camwatch(tmp_path, "inventory", "export", str(out)))
        text = out.read_text(encoding="utf-8-sig")
        assert SECRET not in text and f"{srv.port},{SHOWN}," in text
        runs.append(camwatch(tmp_path, "inventory", "import", str(out)))
        assert runs[-1].returncode == 0 and "无变化" in runs[-1].stdout, runs[-1].stderr
        runs.append(camwatch(tmp_path, "probe", "1"))
        assert runs[-1].returncode == 0 and f"{srv.port}{SHOWN}" in runs[-1].stdout, runs[-1].stdout + runs[-1].stderr
        runs.append(camwatch(tmp_path, "--lang", "en", "probe", "1", "--json"))
        assert runs[-1].returncode == 0 and json.loads(runs[-1].stdout)["state"] == "online"
        described = [r.url for r in srv.requests if r.method == "DESCRIBE"]
        assert described and all(u.endswith(PATH) for u in described)  # the stored path, password and all
        # the masked path for a new camera: refused, naming row and column, nothing written
        new = tmp_path / "new.csv"
        new.write_text(HEAD + f"平山县,平山镇,东关村,路口,127.20.0.9,554,{SHOWN},admin,\n", encoding="utf-8")
        runs.append(camwatch(tmp_path, "inventory", "import", str(new), "--no-retire"))
        assert runs[-1].returncode == 1 and "错误：第 2 行，列“RTSP路径”：RTSP路径“/user=admin_password=***”中的密码已在导出时隐去" in runs[-1].stderr
        runs.append(camwatch(tmp_path, "--lang", "en", "inventory", "import", str(new), "--no-retire"))
        assert runs[-1].returncode == 1 and "error: row 2, column 'RTSP路径': RTSP path" in runs[-1].stderr
        assert json.loads(camwatch(tmp_path, "inventory", "summary", "--json").stdout)["cameras"] == 1
    for r in runs:
        assert SECRET not in r.stdout + r.stderr and PASSWORD not in r.stdout + r.stderr, r.stdout + r.stderr
