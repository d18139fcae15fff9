"""Envelope encryption: one AES-GCM data key per person, wrapped by the master key.

Deleting a person's wrapped key (their `people` row) crypto-shreds everything written
under it, backups included. The AAD binds each ciphertext to its tenant, person and row,
so a ciphertext copied to another row or person does not decrypt.

The audit chain, pseudonym, admin cookie and checkpoint signing keys are random keys of
their own (`service_keys`, wrapped by the master key), not derivations of it: rotating the
master key (bot/storage/key_rotation.py) re-wraps them and every person's data key, and
the audit chain still verifies afterwards.
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
from tortoise.exceptions import IntegrityError

from bot.settings import Settings
from bot.storage.models import AuditEntry, ServiceKey

log = structlog.get_logger(__name__)

NONCE_BYTES = 12
KEY_BYTES = 32
MAKE_KEY_COMMAND = 'python -c "import base64,os;print(base64.b64encode(os.urandom(32)).decode())"'


class VaultError(Exception):
    """A key or ciphertext could not be used; the message says what to do, never the data."""


AUDIT = "audit"  # the audit chain's HMAC key
PSEUDONYM = "pseudonym"  # the audit log's pseudonymous ids
COOKIE = "cookie"  # the admin sign-in cookie's HMAC key
AUDIT_SIGNING = "audit-signing"  # the Ed25519 seed that signs audit checkpoints
SERVICE_KEYS = (AUDIT, PSEUDONYM, COOKIE, AUDIT_SIGNING)
# What the audit and pseudonym keys were before they had keys of their own: an install that
# already has an audit log keeps these values, so its chain and pseudonyms stay valid.
_LEGACY_DERIVATIONS = {AUDIT: b"apprentice audit chain", PSEUDONYM: b"apprentice pseudonyms"}


class Vault:
    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != KEY_BYTES:
            raise VaultError("the master key must be 32 bytes (44 characters of base64)")
        self._master = AESGCM(master_key)
        self._legacy = {
            name: _derive(master_key, info) for name, info in _LEGACY_DERIVATIONS.items()
        }
        self._service: dict[str, bytes] = {}
        self.created_service_keys: tuple[str, ...] = ()  # made by this process's load

    async def load_service_keys(self) -> None:
        """Read (on first start: make) the service keys; call after opening the database."""
        rows = {row.name: row for row in await ServiceKey.all()}
        missing = [name for name in SERVICE_KEYS if name not in rows]
        if missing:
            upgrading = await AuditEntry.exists()
            made = []
            for name in missing:
                if upgrading and name in self._legacy:
                    key = self._legacy[name]
                else:
                    key = secrets.token_bytes(KEY_BYTES)
                try:
                    await ServiceKey.create(name=name, wrapped=self.wrap_service_key(name, key))
                except IntegrityError:
                    continue  # another process made it first: theirs is read below
                made.append(name)
            self.created_service_keys = tuple(made)
            rows = {row.name: row for row in await ServiceKey.all()}
        self._service = {
            name: self.unwrap_service_key(name, rows[name].wrapped) for name in SERVICE_KEYS
        }

    def wrap_service_key(self, name: str, key: bytes) -> bytes:
        return _seal(self._master, key, _service_aad(name))

    def unwrap_service_key(self, name: str, wrapped: bytes) -> bytes:
        return _open(self._master, wrapped, _service_aad(name))

    def service_key(self, name: str) -> bytes:
        try:
            return self._service[name]
        except KeyError:
            raise VaultError(
                "the service keys are not loaded: call load_service_keys() after the "
                "database is open"
            ) from None

    @property
    def audit_key(self) -> bytes:
        return self.service_key(AUDIT)

    @property
    def pseudonym_key(self) -> bytes:
        return self.service_key(PSEUDONYM)

    @property
    def cookie_key(self) -> bytes:
        return self.service_key(COOKIE)

    @property
    def audit_signing_seed(self) -> bytes:
        return self.service_key(AUDIT_SIGNING)

    def new_wrapped_key(self, person_ref: str) -> bytes:
        """A fresh data key for a person, wrapped for storage."""
        return self.wrap(AESGCM.generate_key(bit_length=256), person_ref)

    def wrap(self, data_key: bytes, person_ref: str) -> bytes:
        return _seal(self._master, data_key, _wrap_aad(person_ref))

    def unwrap(self, wrapped: bytes, person_ref: str) -> bytes:
        return _open(self._master, wrapped, _wrap_aad(person_ref))

    def encrypt(self, data_key: bytes, plaintext: str, aad: str) -> bytes:
        return _seal(AESGCM(data_key), plaintext.encode(), aad.encode())

    def decrypt(self, data_key: bytes, blob: bytes, aad: str) -> str:
        return _open(AESGCM(data_key), blob, aad.encode()).decode()


def _wrap_aad(person_ref: str) -> bytes:
    return f"data-key|{person_ref}".encode()


def _service_aad(name: str) -> bytes:
    return f"service-key|{name}".encode()


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
    if path.with_name(path.name + ".next").exists():
        raise VaultError(
            f"an interrupted key rotation left {path.name}.next beside {path}: run "
            "`apprentice keys rotate` again to finish it before starting Apprentice"
        )
    if path.exists():
        return read_key_file(path)
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


def read_key_file(path: Path) -> bytes:
    return _decode_key(path.read_text().strip(), str(path))


def write_key_file(path: Path, key: bytes) -> None:
    """Write a new key file (0600, never over an existing one) and flush it to disk."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(key).decode() + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _create_key_file(path: Path) -> bytes:
    key = secrets.token_bytes(KEY_BYTES)
    write_key_file(path, key)
    log.warning(
        "vault.key_file_created",
        path=str(path),
        advice="back this file up apart from the database, or set APPRENTICE_MASTER_KEY",
    )
    return key
