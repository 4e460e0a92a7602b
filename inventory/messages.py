"""User-facing messages about inventory data, in Simplified Chinese (default) and English."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from inventory.fields import FIELDS
from probes.redact import MASK, redact_url

MESSAGES: dict[str, tuple[str, str]] = {
    # file level
    "file_not_found": ("找不到文件 {path}", "file not found: {path}"),
    "file_format": ("不支持的文件类型 {path}（应为 .csv 或 .xlsx，或以逗号、制表符、分号分隔的文本 .txt、.tsv）",
                    "unsupported file type {path} (use .csv or .xlsx, or .txt or .tsv text separated by commas, tabs or semicolons)"),
    "file_format_old": ("不支持旧版表格文件 {path}：请在 Excel 或 WPS 中另存为 .xlsx（Excel 工作簿）或 CSV 后再导入",
                        "old spreadsheet file {path} is not supported: save it as .xlsx (Excel Workbook) or CSV in Excel or WPS, then import that"),
    "file_encoding": ("无法识别文件 {path} 的编码（已尝试 UTF-8、带 BOM 的 UTF-8、带 BOM 的 UTF-16、GB18030/GBK；"
                      "不带 BOM 的 UTF-16 无法识别）：请在 Excel 或 WPS 中另存为“CSV UTF-8（逗号分隔）”或 .xlsx（Excel 工作簿）后再导入",
                      "cannot decode {path} (tried UTF-8, UTF-8 with BOM, UTF-16 with BOM and GB18030/GBK; UTF-16 "
                      "without a BOM is not recognised): save it as 'CSV UTF-8 (Comma delimited)' or .xlsx "
                      "(Excel Workbook) in Excel or WPS, then import that"),
    "rtsp_path_space": ("RTSP 路径不能含空格或换行（摄像机的路径中确有空格时请写成 %20）",
                        "an RTSP path cannot hold spaces or line breaks (write a space the camera's path really has as %20)"),
    "password_env_name": ("以 env: 开头的密码应引用环境变量（env:变量名，变量名由字母、数字、下划线组成，不以数字开头），"
                          "此处 env: 之后不是有效的变量名：请改正变量名，或填写密码本身",
                          "a password starting with env: refers to an environment variable (env:NAME: letters, digits and "
                          "underscores, not starting with a digit); what follows env: here is not a valid name: correct the "
                          "name, or give the password itself"),
    "cells_beyond_header": ("第 {rows} 行（共 {count} 行）在最后一个表头的右边还有内容，已忽略：表头是否少写了一列？",
                            "row(s) {rows} ({count} in all) hold cells right of the last header, ignored: is a header missing?"),
    "file_unreadable": ("无法读取文件 {path}：{reason}", "cannot read {path}: {reason}"),
    "csv_quote_unclosed": (
        "文件 {path} 第 {line} 行：某个单元格以英文双引号 \" 开头，引号没有在该格结束处闭合，其后 {lines} 行（其中有别的行）"
        "都被读成了这一格的内容，无法导入：请删去该引号或补上闭合的引号（单元格内的引号须写成两个 \"\"）后再导入",
        "{path} line {line}: a cell opens with a double quote \" not closed where the cell ends, so the {lines} line(s) "
        "after it (other rows among them) were read as that cell's text; cannot import: remove the quote or close it "
        "(a quote inside a cell is written as two: \"\"), then import again"),
    "xlsx_merged_header": (
        "合并单元格 {ref}（第 {rows} 行，{columns} 列）从表头行（第 {header_row} 行）延伸到了下面的行，无法导入："
        "表头须是单独的一行（不能分两行写，其上若有标题行请删去），请在 Excel 或 WPS 中取消该处合并后再导入",
        "merged cells {ref} (rows {rows}, column(s) {columns}) reach from the header row (row {header_row}) into "
        "the rows below and cannot be imported: the header must be one row of its own (not two; delete a title "
        "row above it); unmerge those cells in Excel or WPS, then import again"),
    "xlsx_broken": ("无法读取文件 {path}：不是有效的 Excel 工作簿（.xlsx），可能已损坏，或是改了扩展名的其他格式（.xls 请另存为 .xlsx）",
                    "cannot read {path}: not a valid Excel workbook (.xlsx): damaged, or another format renamed (save an .xls as .xlsx)"),
    "file_empty": ("文件 {path} 是空的：没有表头行，也没有数据行", "{path} is empty: no header row and no data rows"),
    "file_no_rows": ("文件 {path} 只有表头，没有数据行（XLSX 只读第一个工作表）",
                     "{path} has a header row but no data rows (an XLSX is read from its first sheet only)"),
    "header_unknown": ("未识别的列“{column}”，已忽略", "unknown column '{column}', ignored"),
    "header_duplicate": ("列“{column}”重复出现", "column '{column}' appears twice"),
    # (a title row above the header, 某某县摄像机台账, is the usual cause when every column is "missing")
    "header_missing": ("缺少必需的列：{columns}（表头须在第 1 行：其上若有标题行请删去；XLSX 只读第一个工作表）",
                       "required column(s) missing: {columns} (the header must be row 1: delete a title row "
                       "above it; an XLSX is read from its first sheet only)"),
    "header_none_known": ("表头中没有一个认得的列名：若表头显示为乱码，文件可能是其他编码（如繁体 Big5、日文 Shift-JIS）保存的，"
                          "camwatch 按 UTF-8 或 GB18030/GBK 读取；请在 Excel 或 WPS 中另存为“CSV UTF-8（逗号分隔）”或 .xlsx 后再导入",
                          "no column of the header is known: if the header shows as mojibake, the file may be in another "
                          "encoding (Big5, Shift-JIS) while camwatch reads UTF-8 or GB18030/GBK; save it as 'CSV UTF-8 "
                          "(Comma delimited)' or .xlsx in Excel or WPS, then import that"),
    "header_no_address": ("缺少摄像机地址列：需要“IP地址”或“RTSP地址”（仅国标接入的摄像机可不填，但须有“接入方式”列）",
                          "no camera address column: need 'host' or 'rtsp_url' (GB28181-only cameras need none, "
                          "but then the file needs the 'access' column)"),
    # cell level
    "required": ("不能为空", "must not be empty"),
    "too_long": ("过长（最多 {max} 个字符）", "too long (at most {max} characters)"),
    "bad_int": ("“{value}”不是整数", "'{value}' is not a whole number"),
    "bad_port": ("端口 {value} 超出范围 1-65535", "port {value} is outside 1-65535"),
    "bad_float": ("“{value}”不是数字", "'{value}' is not a number"),
    "bad_lon": ("经度 {value} 超出范围 -180..180", "longitude {value} is outside -180..180"),
    "bad_lat": ("纬度 {value} 超出范围 -90..90", "latitude {value} is outside -90..90"),
    "lonlat_outside_china": ("坐标 ({lon}, {lat}) 不在中国境内，请检查经纬度是否写反", "coordinates ({lon}, {lat}) are outside China; are longitude and latitude swapped?"),
    "lonlat_pair": ("经度和纬度须同时填写", "give both longitude and latitude, or neither"),
    "bad_bool": ("“{value}”不是 是/否", "'{value}' is not yes/no"),
    "bad_lifecycle": ("状态“{value}”无效（在用/维护/退役）", "status '{value}' is invalid (active/maintenance/retired)"),
    "bad_access": ("接入方式“{value}”无效（直连/国标/两者）", "access '{value}' is invalid (direct/GB28181/both)"),
    "access_needs_gb_id": ("接入方式为国标或两者时须填写国标编码", "access GB28181 or both needs the GB/T 28181 ID (gb_id)"),
    "bad_date": ("日期“{value}”无法识别（例如 2024-05-01）", "date '{value}' is not recognised (e.g. 2024-05-01)"),
    "bad_host": ("“{value}”不是有效的 IP 地址或主机名", "'{value}' is not a valid IP address or host name"),
    "bad_rtsp_url": ("“{value}”不是有效的 RTSP 地址（rtsp://主机[:端口]/路径）", "'{value}' is not a valid RTSP URL (rtsp://host[:port]/path)"),
    "masked_path": ("RTSP路径“{value}”中的密码已在导出时隐去（***）：只能原样用于导出它的已有摄像机（保留其已存路径），"
                    "不能用于新增摄像机或改动过的路径；请填写含真实密码的路径",
                    "RTSP path '{value}' has its password hidden by an export (***): it stands only, unchanged, for the "
                    "existing camera it was exported from (which keeps its stored path), not for a new camera or a "
                    "changed path; give the path with the real password"),
    "masked_path_ambiguous": ("RTSP路径“{value}”中的密码已在导出时隐去（***），与多台已有摄像机（编号 {cameras}）相符，"
                              "无法确定是哪一台：请填写国标编码，或含真实密码的路径",
                              "RTSP path '{value}' has its password hidden by an export (***) and fits several existing "
                              "cameras (ids {cameras}): give the GB ID, or the path with the real password"),
    "masked_path_unchecked": ("RTSP路径“{value}”中的密码已在导出时隐去（***）：导入时只对导出它的已有摄像机有效（保留其已存路径），"
                              "其他情况报错",
                              "RTSP path '{value}' has its password hidden by an export (***): an import takes it only for "
                              "the existing camera it was exported from (keeping its stored path) and refuses it otherwise"),
    "rtsp_url_conflict": ("RTSP地址与“{column}”列不一致", "the RTSP URL disagrees with column '{column}'"),
    "bad_mac": ("“{value}”不是有效的 MAC 地址", "'{value}' is not a valid MAC address"),
    "bad_parent": ("上联设备“{value}”格式应为 名称@IP 或 IP", "upstream device '{value}' must be name@address or address"),
    "number_gb_id": ("国标编码在 Excel 中被存为数字，已丢失精度；请将该列设为文本格式", "the GB ID was stored as a number by Excel and lost digits; format the column as text"),
    "camera_without_point": ("有摄像机信息但缺少点位名称", "camera data given without a point name"),
    "camera_without_address": ("有摄像机信息但缺少 IP地址/RTSP地址（接入方式为直连或两者时必填；仅国标接入的摄像机可不填，须填国标编码）",
                               "camera data given without an address (host or rtsp_url is required when access is direct "
                               "or both; a GB28181-only camera needs none, its gb_id instead)"),
    # region codes
    "region_code_length": ("区划代码“{value}”应为 {want} 位或 12 位数字", "region code '{value}' must have {want} or 12 digits"),
    "region_code_county_zero": ("区划代码“{value}”的县级部分为 0", "region code '{value}' has a zero county part"),
    "region_code_level": ("区划代码“{value}”是{actual}级代码，不是{level}级", "region code '{value}' is a {actual} code, not a {level} code"),
    "region_code_invalid": ("区划代码“{value}”无效（12 位数字，或以字母开头、由字母数字-_组成的自定义代码）", "region code '{value}' is invalid (12 digits, or a custom code starting with a letter: letters, digits, - and _)"),
    "region_parent_mismatch": ("区划代码 {code} 不属于上级 {parent}", "region code {code} does not belong to its parent {parent}"),
    "region_name_conflict": ("区划代码 {code} 已在第 {other_row} 行对应“{other}”，此处为“{name}”", "region code {code} is '{other}' on row {other_row} but '{name}' here"),
    "region_parent_conflict": ("“{name}”（{code}）在第 {other_row} 行属于另一上级", "'{name}' ({code}) has another parent on row {other_row}"),
    "region_ambiguous": ("“{name}”在同一上级下对应多个区划代码（{codes}），请填写代码", "'{name}' maps to several codes under one parent ({codes}); give the code"),
    "region_not_found": ("找不到区划“{value}”：请给出区划代码，或名称路径如 乡镇/村（inventory summary 列出乡镇）", "no region '{value}': give a region code or a path of names such as township/village (inventory summary lists the townships)"),
    "region_not_found_near": ("找不到区划“{value}”；相近的有：{near}", "no region '{value}'; near: {near}"),
    "region_path_ambiguous": ("“{value}”对应 {count} 个区划：{matches}；请写出上级（如 乡镇/村）或使用代码", "'{value}' names {count} regions: {matches}; add the parent (township/village) or give the code"),
    "region_level_conflict": ("区划代码 {code} 在数据库中是{actual}级", "region code {code} is a {actual} in the database"),
    # GB ids
    "gb_not_digits": ("国标编码“{value}”应只含数字", "GB ID '{value}' must contain digits only"),
    "gb_length": ("国标编码“{value}”应为 20 位，实为 {length} 位", "GB ID '{value}' must have 20 digits, not {length}"),
    "gb_province": ("国标编码“{value}”的省级代码 {province} 不存在", "GB ID '{value}' has no such province code {province}"),
    "gb_type": ("国标编码“{value}”的类型码 {type_code} 不是前端设备（111-199）", "GB ID '{value}' has type {type_code}, not a front-end device (111-199)"),
    "gb_county_mismatch": ("国标编码 {value} 的中心编码 {gb_county} 与所属县 {county} 不符", "GB ID {value}: centre code {gb_county} contradicts the camera's county {county}"),
    "gb_not_video": ("国标编码 {value} 的类型 {type_code}（{type_name}）不是视频设备", "GB ID {value}: type {type_code} ({type_name}) is not a video device"),
    # cross-row
    "duplicate_gb_id": ("国标编码 {value} 与第 {other_row} 行重复", "GB ID {value} repeats row {other_row}"),
    "duplicate_address": ("摄像机地址 {value} 与第 {other_row} 行重复", "camera address {value} repeats row {other_row}"),
    "point_conflict": ("点位“{point}”的{field}与第 {other_row} 行不一致", "point '{point}': {field} disagrees with row {other_row}"),
    "db_gb_conflict": ("国标编码 {value} 已属于另一台摄像机（编号 {camera_id}）", "GB ID {value} already belongs to another camera (id {camera_id})"),
    "db_address_conflict": ("地址 {value} 已属于另一台摄像机（编号 {camera_id}）", "address {value} already belongs to another camera (id {camera_id})"),
    "parent_conflict": ("上联设备地址 {value} 在第 {other_row} 行名称不同", "upstream device {value} has another name on row {other_row}"),
    "password_env_missing": ("密码引用的环境变量 {name} 未设置", "password refers to environment variable {name}, which is not set"),
    "mass_retire": ("导入将使{county}的 {retire}/{active} 台在用摄像机退役（{share}，上限 inventory.retire_guard = {guard}），未写入任何数据：文件只含部分摄像机时请加 --no-retire；确需退役请加 --allow-mass-retire",
                    "the import would retire {retire} of {active} cameras in use in {county} ({share}, more than inventory.retire_guard = {guard}); nothing was written: add --no-retire when the file lists only some cameras, or --allow-mass-retire to retire them"),
    "no_secret_key": ("文件含密码，但没有加密密钥：设置 CAMWATCH_SECRET_KEY 或配置 secrets.key_file（camwatch init 会生成）", "the file has passwords but no encryption key is set: set CAMWATCH_SECRET_KEY or secrets.key_file (camwatch init makes one)"),
}

# What to do about an unknown column that is near one of ours (inventory.columns.NEAR_MISS),
# said after header_unknown. {column}: the file's header; {<key>} / {<key>_en}: our headers.
HEADER_HINTS: dict[str, tuple[str, str]] = {
    "port": ("RTSP 端口请用“{rtsp_port}”列，ONVIF 端口请用“{onvif_port}”列（台账里的“{column}”常是设备的 HTTP 或 SDK 端口，"
             "如 80、8000，而不是 RTSP 的 554）",
             "put the RTSP port in a column headed '{rtsp_port}' (or '{rtsp_port_en}') and the ONVIF port in "
             "'{onvif_port}' (or '{onvif_port_en}'); a ledger's '{column}' is often the device's HTTP or SDK port "
             "(80, 8000), not RTSP's 554"),
    "device_port": ("RTSP 端口请用“{rtsp_port}”列，ONVIF 端口请用“{onvif_port}”列；camwatch 不使用设备的 HTTP、SDK 端口"
                    "（但海康、大华等摄像机的 ONVIF 端口常与 HTTP 端口相同）",
                    "put the RTSP port in a column headed '{rtsp_port}' (or '{rtsp_port_en}') and the ONVIF port in "
                    "'{onvif_port}' (or '{onvif_port_en}'); camwatch does not use a device's HTTP or SDK port (though "
                    "Hikvision, Dahua and others often serve ONVIF on the HTTP port)"),
    "user": ("如果这一列是登录摄像机的用户名（如 admin），请把列名改为“{username}”",
             "if it holds the login name for the camera (admin, say), head the column '{username}' (or '{username_en}')"),
    "lonlat": ("经度和纬度请分成两列：“{lon}”和“{lat}”", "put longitude and latitude in two columns, '{lon}' (or '{lon_en}') and '{lat}' (or '{lat_en}')"),
}
_HEADERS = {**{f.key: f.zh for f in FIELDS}, **{f"{f.key}_en": f.en for f in FIELDS}}

FIELD_NAMES: dict[str, tuple[str, str]] = {
    "kind": ("点位类型", "point kind"),
    "lon": ("经度", "longitude"),
    "lat": ("纬度", "latitude"),
    "planned": ("是否规划", "planned"),
}


# Longest echo of a value (a cell, a header) in a message; longer ones are cut, ending in "…".
ECHO_MAX = 80
# Parameters that are ours, not the file's: never cut.
_WHOLE = frozenset({"path", "columns", "reason", "near", "matches"})


def cut(text: str, limit: int = ECHO_MAX) -> str:
    """*text*, or its first ``limit - 1`` characters and "…" when it is longer than *limit*."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ``user:pass@`` with no ``scheme://`` before it (redact_url's case): a host cell
# ``admin:pw@10.0.0.1``, a mistyped ``rtsp:/admin:pw@...``. The user starts after a delimiter.
_BARE_USERINFO = re.compile(r"(?<![^:@/\s])(?P<user>[^:@/\s]*):[^/\s]*@")
# Characters looked at beyond the echoed part for a password to mask (bounds the regexes' work).
_MASK_LOOKAHEAD = 256


def echo(text: str) -> str:
    """A cell or header as a message shows it: every password of a ``user:pass@`` masked (with a
    scheme or without one), then cut to :data:`ECHO_MAX` (masked first: a cut never leaves part of
    a password behind)."""
    if "@" in text or "=" in text:
        head = redact_url(text[: ECHO_MAX + _MASK_LOOKAHEAD])
        text = _BARE_USERINFO.sub(lambda m: f"{m['user']}:{MASK}@", head) + ("…" if len(text) > len(head) else "")
    return cut(text)


class CodedError(ValueError):
    """A value that cannot be accepted; ``code`` names its message in :data:`MESSAGES`, ``params`` fill it."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Issue:
    """A problem with the input, located by row (1 = header row) and column header."""

    severity: Severity
    code: str
    row: int | None = None
    column: str | None = None
    params: dict[str, object] = field(default_factory=dict)

    def message(self, lang: str = "zh") -> str:
        zh, en = MESSAGES.get(self.code, (self.code, self.code))
        template = en if lang == "en" else zh
        params = {k: echo(v) if isinstance(v, str) and k not in _WHOLE else v for k, v in self.params.items()}
        if "field" in params:
            names = FIELD_NAMES.get(str(params["field"]))
            if names:
                params["field"] = names[1] if lang == "en" else names[0]
        try:
            text = template.format(**params)
        except (KeyError, IndexError):
            text = template
        hint = HEADER_HINTS.get(str(self.params.get("hint")))
        if hint is not None:
            text += (": " if lang == "en" else "：") + hint[1 if lang == "en" else 0].format(
                column=params.get("column", ""), **_HEADERS)
        return text

    def render(self, lang: str = "zh") -> str:
        where = []
        if lang == "en":
            sev = "error" if self.severity is Severity.ERROR else "warning"
            if self.row is not None:
                where.append(f"row {self.row}")
            if self.column:
                where.append(f"column '{echo(self.column)}'")
        else:
            sev = "错误" if self.severity is Severity.ERROR else "警告"
            if self.row is not None:
                where.append(f"第 {self.row} 行")
            if self.column:
                where.append(f"列“{echo(self.column)}”")
        loc = ", ".join(where) if lang == "en" else "，".join(where)
        sep = ": " if lang == "en" else "："
        return f"{sev}{sep}{loc}{sep if loc else ''}{self.message(lang)}"

    def as_dict(self, lang: str = "zh") -> dict[str, object]:
        return {
            "severity": self.severity.value,
            "code": self.code,
            "row": self.row,
            "column": None if self.column is None else echo(self.column),
            "message": self.message(lang),
        }
