"""What the API and the console's forms accept: request bodies as pydantic models (``extra="forbid"``),
validated in one place (:func:`validate`), their errors naming the field.

One model serves the API's JSON body and the page's form: JSON is validated strictly (``"7"`` is
not an integer), a form leniently (every value arrives as text; an empty field is a field not
given). Times are read as the CLI reads them (:mod:`collector.accounting.timeparse`), in the zone
given as the validation context ``{"tz": ...}``, and lie between :data:`EARLIEST` and :data:`LATEST`;
an id is a positive 64-bit integer; free text (reasons, approvers, notes, comments) holds no control
character but tab and newline (a report's workbook cannot hold them; a form's CRLF is read as LF). The OpenAPI document's request schemas are made from
these models (:func:`collector.web.spec.schema_of`), so what is documented is what is checked.

An error is English on the API (as documented) and in the reader's language on a page
(:meth:`InvalidBody.words`): pydantic's usual error types in the configuration's Chinese words
(:mod:`collector.settings_input`), camwatch's own checks saying both (:class:`Said`), a time that
cannot be read in the CLI's words (:mod:`collector.accounting.timeparse`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from collector.accounting.timeparse import FORMATS, TimeParseError, parse_time
from collector.settings_input import _ZH_ERRORS
from collector.web.common import ApiError, bad_param

M = TypeVar("M", bound="Input")
MAX_TEXT = 2000
MAX_NAME = 128
MAX_BODY = 64 * 1024
MAX_ID = 2**63 - 1  # ids are 64-bit integers in every database camwatch runs on
# the times a body may name (local days, accounting.timezone): a later or earlier one is a typo
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2099, 12, 31)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # tab (\x09) and newline (\x0a) kept
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # a one-line field: no tab or newline either


# pydantic's error types in Chinese: the configuration's words, a form's own where they differ
_ZH_FORM_ERRORS = {**_ZH_ERRORS, "missing": "必填", "extra_forbidden": "未知的字段", "json_type": "应为 JSON",
                   "string_too_short": "至少 {min_length} 个字符", "string_too_long": "太长（至多 {max_length} 个字符）"}


class Said(ValueError):
    """A check's error in both languages (``str()``: the English, which the API answers)."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.zh = zh


class InvalidBody(Exception):
    """A body that does not validate: *field* (``body`` for the whole) and what is wrong
    (*message*: English, as the API says it; *zh*: the same in Chinese, when known)."""

    def __init__(self, field: str, message: str, zh: str | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.zh = zh

    def words(self, lang: str) -> str:
        """What is wrong, in *lang* (``zh`` or ``en``), without the field (the page names it)."""
        return self.message if lang == "en" or self.zh is None else self.zh


def _when(value: object, info: ValidationInfo) -> dt.datetime:
    """A typed time; a day alone as an ``end`` or ``until`` is the end of that day."""
    if not isinstance(value, str) or not value.strip():
        raise Said(f"required: {FORMATS[1]}", f"必填：{FORMATS[0]}")
    context = info.context if isinstance(info.context, Mapping) else {}
    name = info.field_name or "time"
    tz = str(context.get("tz", "UTC"))
    try:
        at = parse_time(value.strip(), tz, option=name, end=name in ("end", "until"))
    except TimeParseError as exc:
        raise Said(exc.detail("en"), exc.detail("zh")) from None
    return within_bounds(at, tz)


def within_bounds(at: dt.datetime, tz: str) -> dt.datetime:
    """*at* when it lies from :data:`FIRST_DAY` to the end of :data:`LAST_DAY` (local, *tz*)."""
    zone = ZoneInfo(tz)
    lo = dt.datetime.combine(FIRST_DAY, dt.time(), zone)
    hi = dt.datetime.combine(LAST_DAY + dt.timedelta(days=1), dt.time(), zone)
    if not lo <= at <= hi:
        raise Said(f"must lie between {FIRST_DAY} and {LAST_DAY} (got {at.astimezone(zone).date()})",
                   f"应在 {FIRST_DAY} 至 {LAST_DAY} 之间（收到 {at.astimezone(zone).date()}）")
    return at


def _crlf(value: object) -> object:
    """A form's line breaks (CRLF, CR) as newlines."""
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


def _refuse(value: str, pattern: re.Pattern[str]) -> str:
    found = pattern.search(value)
    if found is not None:
        code, at = f"U+{ord(found.group()):04X}", found.start() + 1
        raise Said(f"must not contain control characters ({code} at character {at})",
                   f"不能含控制字符（第 {at} 个字符为 {code}）")
    return value


def _plain(value: str) -> str:
    return _refuse(value, _CONTROL)


def _one_line(value: str) -> str:
    return _refuse(value, _LINE_CONTROL)


When = Annotated[dt.datetime, BeforeValidator(_when), Field(description="ISO 8601, or a local date and time; "
                                                                        "without an offset: accounting.timezone")]
# (the constraints before the BeforeValidator: after it, pydantic strips without checking the length)
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT), BeforeValidator(_crlf),
                 AfterValidator(_plain)]
OptText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT), BeforeValidator(_crlf),
                    AfterValidator(_plain)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME), AfterValidator(_one_line)]
RegionCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32), AfterValidator(_one_line)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scoped(Input):
    """exactly one of camera_id and region_code"""

    region_code: RegionCode | None = Field(default=None, description="a village, township or county code")
    camera_id: Id | None = Field(default=None, validate_default=True, description="a camera id")

    @field_validator("camera_id")
    @classmethod
    def _one_scope(cls, value: int | None, info: ValidationInfo) -> int | None:
        if "region_code" not in info.data:
            return value  # region_code itself failed: named there
        if (value is None) == (info.data["region_code"] is None):
            raise Said("give exactly one of camera_id and region_code", "摄像机编号和区划代码须填写其中一项（只填一项）")
        return value


class Period(Scoped):
    start: When
    end: When

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: dt.datetime, info: ValidationInfo) -> dt.datetime:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise Said("must be after start", "应晚于开始时间")
        return value


class NewExclusion(Period):
    """an exclusion in force at once (approved by whoever adds it): exactly one of camera_id and region_code"""

    reason: Text
    approver: Name


class NewProposal(Period):
    """a contractor's proposal (报备申请): counts only once approved; exactly one of camera_id and region_code"""

    reason: Text


class Decision(Input):
    """approving: an optional note"""

    note: OptText = ""


class Rejection(Input):
    """rejecting: why (required)"""

    note: Text


class CloseWorkOrder(Input):
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), BeforeValidator(_crlf),
                    AfterValidator(_plain), Field(description="what was done (kept to 2000 characters)")]


class NewSilence(Scoped):
    until: When
    reason: Annotated[str, BeforeValidator(_crlf), AfterValidator(_plain),
                      Field(description="kept to 2000 characters")] = ""


def _zh(err: Mapping[str, object]) -> str | None:
    """An error's words in Chinese: camwatch's own check's, else its type's (None when unknown)."""
    ctx = err.get("ctx")
    ctx = ctx if isinstance(ctx, Mapping) else {}
    said = ctx.get("error")
    if isinstance(said, Said):
        return said.zh
    words = _ZH_FORM_ERRORS.get(str(err.get("type")))
    if err.get("type") == "string_too_short" and ctx.get("min_length") == 1:
        words = "不能为空"
    if words is None:
        return None
    try:
        return words.format(**{k: str(v).replace("' or '", "'、'") for k, v in ctx.items()})
    except (KeyError, IndexError):
        return None


def first_error(exc: ValidationError) -> InvalidBody:
    """The first error, named by its field (``body`` when the whole body is wrong)."""
    err = exc.errors(include_url=False)[0]
    loc = [str(p) for p in err.get("loc", ())]
    message = str(err.get("msg", "invalid"))
    message = message.removeprefix("Value error, ")
    if err.get("type") == "extra_forbidden":
        message = "unknown field"
    return InvalidBody(".".join(loc) if loc else "body", message, _zh(err))


def validate(model: type[M], data: object, *, tz: str, form: bool = False) -> M:
    """*data* (a JSON value, or a form's fields) as *model*; :class:`InvalidBody` otherwise."""
    if form and isinstance(data, Mapping):
        data = {k: v for k, v in data.items() if not (isinstance(v, str) and v.strip() == "")}
    elif not isinstance(data, dict):
        raise InvalidBody("body", "a JSON object is expected", "应为 JSON 对象")
    try:
        return model.model_validate(data, strict=not form, context={"tz": tz})
    except ValidationError as exc:
        raise first_error(exc) from None


async def json_body(request: web.Request, model: type[M], *, tz: str, max_bytes: int = MAX_BODY) -> M:
    """The request's JSON body as *model*: 413 over *max_bytes*, else 400 naming the field (or
    ``body``) as the API's errors do; an empty body is an empty object."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiError(413, "too_large", f"request body larger than {max_bytes} bytes")
    raw = await request.read()
    if len(raw) > max_bytes:
        raise ApiError(413, "too_large", f"request body larger than {max_bytes} bytes")
    try:
        data = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise bad_param("body", "not valid JSON") from None
    try:
        return validate(model, data, tz=tz)
    except InvalidBody as exc:
        raise bad_param(exc.field, exc.message) from None


async def form_body(request: web.Request, model: type[M], *, tz: str, defaults: Mapping[str, str] | None = None) -> M:
    """A posted form's fields named by *model* (an empty one: not given; *defaults* fill those) as
    *model*; :class:`InvalidBody` otherwise."""
    form = await request.post()
    data = {k: str(form.get(k) or "") for k in model.model_fields if k in form}
    for k, v in (defaults or {}).items():
        if not data.get(k, "").strip():
            data[k] = v
    return validate(model, data, tz=tz, form=True)


__all__ = ["MAX_ID", "CloseWorkOrder", "Decision", "InvalidBody", "NewExclusion", "NewProposal", "NewSilence", "Rejection",
           "Said", "first_error", "form_body", "json_body", "validate", "within_bounds"]
