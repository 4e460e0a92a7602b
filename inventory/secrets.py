"""Camera credentials at rest: encrypted with a key from CAMWATCH_SECRET_KEY or a key file,
or kept as a reference ``env:NAME`` to an environment variable. Never printed or logged."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

ENC_PREFIX = "enc:"
ENV_PREFIX = "env:"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SecretError(Exception):
    """A credential cannot be stored or read (no key, wrong key, missing variable).

    *kind* says which (``no_key``, ``wrong_key``, ``env_unset``, ``unknown_ref``); the message
    names no secret, at most the variable's name."""

    WORDS = {
        "no_key": ("没有密钥，无法读取已存密码（请设置 CAMWATCH_SECRET_KEY 或 secrets.key_file）",
                   "no encryption key: cannot read stored passwords (set CAMWATCH_SECRET_KEY or secrets.key_file)"),
        "wrong_key": ("已存密码无法用当前密钥解密（密钥不对）", "stored password cannot be decrypted with this key"),
        "env_unset": ("环境变量 {variable} 未设置", "environment variable {variable} is not set"),
        "unknown_ref": ("无法识别的凭据引用", "unknown credential reference"),
    }

    def __init__(self, message: str, kind: str = "", variable: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.variable = variable

    def words(self, lang: str = "zh") -> str:
        """The reason for people: Simplified Chinese unless *lang* is ``"en"``."""
        pair = self.WORDS.get(self.kind)
        if pair is None:
            return str(self)
        return pair[1 if lang == "en" else 0].format(variable=self.variable)


def _fernet_key(material: str) -> bytes:
    text = material.strip()
    try:
        raw = base64.urlsafe_b64decode(text.encode())
        if len(raw) == 32:
            return text.encode()
    except (ValueError, TypeError):
        pass
    # Any other passphrase: stretch it to a Fernet key (deterministic, so it can be re-entered).
    digest = hashlib.pbkdf2_hmac("sha256", text.encode(), b"camwatch-credentials", 200_000)
    return base64.urlsafe_b64encode(digest)


def bad_env_reference(value: str) -> bool:
    """*value* starts like an environment reference (``env:``) but names no valid variable: not a
    reference, and almost surely not a password either (an import refuses it)."""
    return value.startswith(ENV_PREFIX) and not _ENV_NAME.match(value[len(ENV_PREFIX):])


class SecretBox:
    """Encrypts and resolves credential references. Caches so bulk imports stay fast."""

    def __init__(self, key_material: str | None, environ: Mapping[str, str] | None = None) -> None:
        self._fernet = Fernet(_fernet_key(key_material)) if key_material else None
        self._environ = os.environ if environ is None else environ
        self._plain: dict[str, str] = {}
        self._enc_cache: dict[str, str] = {}

    @property
    def can_encrypt(self) -> bool:
        return self._fernet is not None

    def __repr__(self) -> str:
        return f"SecretBox(key={'set' if self._fernet else 'none'})"

    def store(self, password: str) -> str:
        """The reference to keep in the database for *password* (``env:NAME`` is kept as is)."""
        if password.startswith(ENV_PREFIX) and _ENV_NAME.match(password[len(ENV_PREFIX):]):
            return password
        if self._fernet is None:
            raise SecretError("no encryption key: set CAMWATCH_SECRET_KEY or secrets.key_file")
        cached = self._enc_cache.get(password)
        if cached is not None:
            return cached
        ref = ENC_PREFIX + self._fernet.encrypt(password.encode()).decode()
        self._enc_cache[password] = ref
        self._plain[ref] = password
        return ref

    def reveal(self, ref: str | None) -> str | None:
        """The password a reference stands for (None for no reference)."""
        if ref is None:
            return None
        if ref.startswith(ENV_PREFIX):
            name = ref[len(ENV_PREFIX):]
            value = self._environ.get(name)
            if value is None:
                raise SecretError(f"environment variable {name} is not set", "env_unset", name)
            return value
        if ref.startswith(ENC_PREFIX):
            hit = self._plain.get(ref)
            if hit is not None:
                return hit
            if self._fernet is None:
                raise SecretError("no encryption key: cannot read stored passwords", "no_key")
            try:
                plain = self._fernet.decrypt(ref[len(ENC_PREFIX):].encode()).decode()
            except InvalidToken:
                raise SecretError("stored password cannot be decrypted with this key", "wrong_key") from None
            self._plain[ref] = plain
            return plain
        raise SecretError("unknown credential reference", "unknown_ref")

    def same(self, ref: str | None, password: str | None) -> bool:
        """Whether *ref* already stands for *password* (without decrypting env references)."""
        if ref is None or password is None:
            return ref is None and password is None
        if password.startswith(ENV_PREFIX):
            return ref == password
        if ref.startswith(ENV_PREFIX):
            return False
        try:
            return self.reveal(ref) == password
        except SecretError:
            return False


def generate_key() -> str:
    return Fernet.generate_key().decode()


def load_key(environ: Mapping[str, str], key_file: str | None) -> str | None:
    """CAMWATCH_SECRET_KEY wins; else the key file if it exists; else None."""
    env = environ.get("CAMWATCH_SECRET_KEY")
    if env:
        return env
    if key_file:
        path = Path(key_file)
        if path.exists():
            return path.read_text(encoding="utf-8").strip() or None
    return None


def write_key_file(path: str | Path) -> bool:
    """Create a new key file (mode 0600) unless it exists. Returns True when created."""
    p = Path(path)
    if p.exists():
        return False
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(generate_key() + "\n")
    return True
