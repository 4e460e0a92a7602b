"""Channel settings: validation, secret references, redaction."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from collector.alerting.delivery.config import NotifySettings, SecretError, resolve_secret
from collector.alerting.delivery.redact import Redactor


def test_secrets_are_hidden_in_repr_and_dump() -> None:
    s = NotifySettings.model_validate({"channels": [
        {"name": "dt", "kind": "dingtalk", "token": "tok123456789", "secret": "SECabcdef123"},
        {"name": "mail", "kind": "email", "url": "mailtos://u@smtp.example.org?to=a@b.org", "password": "pw-XYZ-123"}]})
    text = repr(s) + str(s.model_dump()) + s.model_dump_json()
    for secret in ("tok123456789", "SECabcdef123", "pw-XYZ-123", "smtp.example.org"):
        assert secret not in text
    assert s.channel("dt").limits() == ((20, 60.0),)
    assert s.channel("mail").limits() == ()


@pytest.mark.parametrize("bad", [
    {"channels": [{"name": "a", "kind": "dingtalk"}]},  # no token
    {"channels": [{"name": "a", "kind": "webhook"}]},  # no url
    {"channels": [{"name": "a", "kind": "wecom", "token": "k", "secret": "s"}]},  # secret is DingTalk's
    {"channels": [{"name": "a", "kind": "wecom", "token": "k"}, {"name": "a", "kind": "feishu", "token": "t"}]},
    {"channels": [{"name": "a", "kind": "pager", "url": "x"}]},
    {"channels": [{"name": "a", "kind": "wecom", "token": "k", "typo": 1}]},
])
def test_invalid_settings(bad: dict) -> None:
    with pytest.raises(ValidationError):
        NotifySettings.model_validate(bad)


def test_secret_references(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = NotifySettings.model_validate({"channels": [
        {"name": "a", "kind": "dingtalk", "token": "env:DT_TOKEN", "secret": f"file:{tmp_path / 'sec'}"}]}).channels[0]
    (tmp_path / "sec").write_text("SECfromfile\n")
    assert resolve_secret(s.token, {"DT_TOKEN": "abc"}) == "abc"
    assert resolve_secret(s.secret, {}) == "SECfromfile"
    with pytest.raises(SecretError, match="DT_TOKEN is not set"):
        resolve_secret(s.token, {})


def test_redactor() -> None:
    r = Redactor(["s3cr3t-token"])
    r.add_url("json://user:pw0rd@host/hook/ABCDEFGHIJKLMNOPQRST?key=verysecretvalue", user_is_secret=False)
    out = r("GET json://user:pw0rd@host/hook/ABCDEFGHIJKLMNOPQRST?key=verysecretvalue s3cr3t-token s3cr3t%2Dtoken")
    for s in ("pw0rd", "ABCDEFGHIJKLMNOPQRST", "verysecretvalue", "s3cr3t-token"):
        assert s not in out
    assert "user" in out and "host" in out
