"""What the Redis bus writes to Redis: AES-GCM ciphertext under a key of the bus's own.

Redis keeps what it is given longer than it seems: XDEL only marks an entry, RDB/AOF files and
replicas copy it. So a stream entry is one sealed field and a dedupe key is a keyed hash; no
text, user id or channel id is ever readable in Redis. The bus key is derived from the master
key for this one purpose (HKDF, info "apprentice-bus"): it opens nothing else, and nothing
else opens the bus.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.settings import Settings
from bot.storage.vault import load_master_key

BUS_KEY_INFO = b"apprentice-bus"
NONCE_BYTES = 12


class UnsealableEntry(ValueError):
    """An entry that is not one this bus sealed, or was sealed for another stream or key."""


def bus_key(settings: Settings) -> bytes:
    """The bus's own key: HKDF-SHA256 of the master key, for the bus and nothing else."""
    master = load_master_key(settings)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=BUS_KEY_INFO).derive(master)


class EntrySeal:
    """Seals stream entries (bound to their stream by the AAD) and names dedupe keys."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)
        self._mac_key = hmac.new(key, b"dedupe names", hashlib.sha256).digest()

    def seal(self, stream: str, payload: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        blob = nonce + self._aead.encrypt(nonce, payload, stream.encode())
        return base64.b64encode(blob).decode("ascii")

    def open(self, stream: str, sealed: str) -> bytes:
        try:
            blob = base64.b64decode(sealed, validate=True)
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], stream.encode())
        except (binascii.Error, ValueError, InvalidTag):
            raise UnsealableEntry(
                "a bus entry failed its integrity check: it was altered, moved to another "
                "stream, or sealed under another master key (every process needs the same "
                "APPRENTICE_MASTER_KEY)"
            ) from None

    def name(self, value: str) -> str:
        """A stable name for a value (an event's dedupe key) that does not reveal it."""
        return hmac.new(self._mac_key, value.encode(), hashlib.sha256).hexdigest()[:32]
