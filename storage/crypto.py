"""Field-level encryption: sensitive values are Fernet tokens before they reach a database.

``FieldCipher`` holds every configured key, newest first (``MultiFernet``): it encrypts
with the newest and decrypts with any, so keys can rotate without downtime. Rows written
with an older key stay readable until ``rotate`` rewrites them with the newest.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

# Every Fernet token starts with its version byte 0x80, which base64 spells "gAAAAA".
_TOKEN_PREFIX = b"gAAAAA"


class DecryptionError(Exception):
    """A stored value could not be decrypted with any configured key."""


@contextlib.contextmanager
def _refused_as_decryption_error() -> Iterator[None]:
    try:
        yield
    except InvalidToken as exc:
        raise DecryptionError("no configured key decrypts this value") from exc


class FieldCipher:
    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernets = [Fernet(key) for key in keys]
        self._multi = MultiFernet(self._fernets)

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode("ascii")

    def encrypt(self, data: bytes) -> bytes:
        return self._multi.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        with _refused_as_decryption_error():
            return self._multi.decrypt(token)

    def encrypt_text(self, text: str) -> str:
        return self.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt_text(self, token: str) -> str:
        return self.decrypt(token.encode("ascii")).decode("utf-8")

    def encrypt_json(self, value: Any) -> str:
        return self.encrypt_text(json.dumps(value, separators=(",", ":")))

    def decrypt_json(self, token: str) -> Any:
        return json.loads(self.decrypt_text(token))

    def rotate(self, token: bytes) -> bytes:
        """``token`` re-encrypted with the newest key (a no-op in meaning, not in bytes)."""
        with _refused_as_decryption_error():
            return self._multi.rotate(token)

    def is_current(self, token: bytes) -> bool:
        """Whether ``token`` was written with the newest key (so ``rotate`` can skip it)."""
        try:
            self._fernets[0].decrypt(token)
        except InvalidToken:
            return False
        return True

    def is_token(self, value: bytes | str) -> bool:
        """Whether ``value`` looks like a Fernet token (so is not plaintext from an older
        release, written before field encryption)."""
        raw = value.encode("ascii", "replace") if isinstance(value, str) else bytes(value)
        return raw.startswith(_TOKEN_PREFIX)

    # Reading stored values. A value that is not a token is plaintext written before field
    # encryption existed: it is returned as it is (``keys rotate`` encrypts it).

    def open_text(self, value: str) -> str:
        return self.decrypt_text(value) if self.is_token(value) else value

    def open_json(self, value: str) -> Any:
        return json.loads(self.open_text(value))

    def open_bytes(self, value: bytes) -> bytes:
        value = bytes(value)
        return self.decrypt(value) if self.is_token(value) else value


def load_key_file(path: Path) -> tuple[list[str], bool]:
    """The keys in ``path`` (one per line, newest first), creating it with one new key and
    mode 0600 when it does not exist. Returns the keys and whether the file was created."""
    if path.exists():
        keys = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        if not keys:
            raise ValueError(f"encryption key file {path} holds no key")
        return keys, False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = FieldCipher.generate_key()
    # O_EXCL: two processes starting at once cannot both create (and disagree on) the key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_key_file(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return [key], True
