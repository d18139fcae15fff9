"""Envelope encryption: one AES-GCM data key per person, wrapped by the master key.

Deleting a person's wrapped key (their `people` row) crypto-shreds everything written
under it, backups included. The AAD binds each ciphertext to its tenant, person and row,
so a ciphertext copied to another row or person does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.settings import Settings

log = structlog.get_logger(__name__)

NONCE_BYTES = 12
KEY_BYTES = 32
MAKE_KEY_COMMAND = 'python -c "import base64,os;print(base64.b64encode(os.urandom(32)).decode())"'


class VaultError(Exception):
    """A key or ciphertext could not be used; the message says what to do, never the data."""


class Vault:
    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != KEY_BYTES:
            raise VaultError("the master key must be 32 bytes (44 characters of base64)")
        self._master = AESGCM(master_key)
        self._audit_key = _derive(master_key, b"apprentice audit chain")
        self._pseudonym_key = _derive(master_key, b"apprentice pseudonyms")

    @property
    def audit_key(self) -> bytes:
        return self._audit_key

    @property
    def pseudonym_key(self) -> bytes:
        return self._pseudonym_key

    def new_wrapped_key(self, person_ref: str) -> bytes:
        """A fresh data key for a person, wrapped for storage."""
        return _seal(self._master, AESGCM.generate_key(bit_length=256), _wrap_aad(person_ref))

    def unwrap(self, wrapped: bytes, person_ref: str) -> bytes:
        return _open(self._master, wrapped, _wrap_aad(person_ref))

    def encrypt(self, data_key: bytes, plaintext: str, aad: str) -> bytes:
        return _seal(AESGCM(data_key), plaintext.encode(), aad.encode())

    def decrypt(self, data_key: bytes, blob: bytes, aad: str) -> str:
        return _open(AESGCM(data_key), blob, aad.encode()).decode()


def _wrap_aad(person_ref: str) -> bytes:
    return f"data-key|{person_ref}".encode()


def _seal(aead: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + aead.encrypt(nonce, plaintext, aad)


def _open(aead: AESGCM, blob: bytes, aad: bytes) -> bytes:
    try:
        return aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag as exc:
        raise VaultError(
            "a stored value failed its integrity check: it was altered, moved to another "
            "row, or written under another master key"
        ) from exc


def _derive(master_key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master_key)


def load_master_key(settings: Settings) -> bytes:
    """The configured master key, or the key file beside the database (made on first run)."""
    if settings.master_key is not None:
        return _decode_key(settings.master_key.get_secret_value(), "APPRENTICE_MASTER_KEY")
    path = settings.key_file
    if path.exists():
        return _decode_key(path.read_text().strip(), str(path))
    return _create_key_file(path)


def _decode_key(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise VaultError(
            f"{source} is not a valid master key: it must be 32 random bytes in base64; "
            f"make one with: {MAKE_KEY_COMMAND}"
        )
    return key


def _create_key_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(key).decode() + "\n")
    log.warning(
        "vault.key_file_created",
        path=str(path),
        advice="back this file up apart from the database, or set APPRENTICE_MASTER_KEY",
    )
    return key
