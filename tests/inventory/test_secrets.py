"""Credentials at rest."""

from __future__ import annotations

import os
import stat

import pytest

from inventory.secrets import SecretBox, SecretError, generate_key, load_key, write_key_file


def test_encrypt_reveal_and_repr_never_leaks() -> None:
    box = SecretBox(generate_key())
    ref = box.store("s3cret!")
    assert ref.startswith("enc:") and "s3cret!" not in ref
    assert box.same(ref, "s3cret!") and not box.same(ref, "other")
    assert SecretBox(generate_key()).same(ref, "s3cret!") is False  # another key cannot read it
    assert "s3cret" not in repr(box)


def test_reveal_with_same_key_in_new_box() -> None:
    key = generate_key()
    ref = SecretBox(key).store("pw")
    assert SecretBox(key).reveal(ref) == "pw"
    with pytest.raises(SecretError):
        SecretBox(generate_key()).reveal(ref)
    with pytest.raises(SecretError):
        SecretBox(None).reveal(ref)


def test_passphrase_keys_and_env_refs() -> None:
    box = SecretBox("a long passphrase", environ={"CAM_PW": "fromenv"})
    ref = box.store("x")
    assert SecretBox("a long passphrase").reveal(ref) == "x"
    assert box.store("env:CAM_PW") == "env:CAM_PW"
    assert box.reveal("env:CAM_PW") == "fromenv"
    with pytest.raises(SecretError):
        box.reveal("env:MISSING_VAR")
    with pytest.raises(SecretError):
        SecretBox(None).store("plain")


def test_key_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "k.key"
    assert write_key_file(path) is True
    assert write_key_file(path) is False
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    key = load_key({}, str(path))
    assert key and SecretBox(key).reveal(SecretBox(key).store("y")) == "y"
    assert load_key({"CAMWATCH_SECRET_KEY": "env-wins"}, str(path)) == "env-wins"
    assert load_key({}, str(tmp_path / "none")) is None
