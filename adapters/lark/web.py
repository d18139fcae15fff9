"""Webhook mode: `POST /lark/events` on the bot's web server.

Checked here before the SDK sees anything, each failure answered with a 4xx and nothing
passed on: body size, JSON, decryption (LARK_ENCRYPT_KEY), the verification token,
`X-Lark-Signature` and a timestamp window of our own (the SDK checks no time at all).
Then lark-oapi decrypts, verifies and dispatches the request as usual.

These checks and url_verification need no SDK, so they are answered from the moment the
port is open. An event that passes them while lark-oapi is still loading (it takes seconds)
is acked and held, then dispatched as soon as the adapter is ready.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import structlog
from aiohttp import web
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from adapters.lark.adapter import WEBHOOK_PATH, LarkAdapter
from adapters.lark.config import LarkConfig
from adapters.lark.normalize import EVENT_TYPES

log = structlog.get_logger(__name__)

PATH = WEBHOOK_PATH
MAX_BODY_BYTES = 1024 * 1024
TIMESTAMP_WINDOW_SECONDS = 300
TIMESTAMP, NONCE, SIGNATURE = "X-Lark-Request-Timestamp", "X-Lark-Request-Nonce", "X-Lark-Signature"
SIGNED_HEADERS = (TIMESTAMP, NONCE, SIGNATURE)


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def add_routes(app: web.Application, adapter: LarkAdapter) -> None:
    app.router.add_post(PATH, Webhook(adapter).handle)


class Webhook:
    def __init__(self, adapter: LarkAdapter, clock: Any = time.time) -> None:
        self._adapter = adapter
        self._config: LarkConfig = adapter.config
        self._clock = clock

    async def handle(self, request: web.Request) -> web.Response:
        """Answer at once, from the moment the port is open: every check here is our own code
        (no SDK), and an event that passes them while the SDK still loads is held, not refused."""
        try:
            body = await _read(request)
            payload = self._plaintext(body)
            if payload.get("type") == "url_verification":
                self._check_token(payload.get("token"))
                return web.json_response({"challenge": payload.get("challenge", "")})
            self._check_signature(request, body)
            header = payload.get("header") if isinstance(payload.get("header"), dict) else None
            if payload.get("schema") != "2.0" or header is None:
                raise Refused(400, "only 2.0 events are handled: choose the 2.0 event format")
            self._check_token(header.get("token"))
        except Refused as refused:
            log.warning("lark.webhook_refused", status=refused.status, reason=refused.reason)
            return _answer(refused.status, refused.reason)
        if header.get("event_type") not in EVENT_TYPES:
            return _answer(200, "ignored")  # subscribed to more than we read: ack, do nothing
        signed = {name: request.headers.get(name, "") for name in SIGNED_HEADERS}
        if not self._adapter.ready.is_set():
            if not self._adapter.hold_webhook(body, signed):
                return _answer(503, "too many events while the bot starts; Lark will retry")
            return web.json_response({})  # what the SDK answers too: the bot acts later
        status, content = await self._adapter.receive_webhook(body, signed)
        if status != 200:
            log.warning("lark.webhook_not_dispatched", status=status)
            return _answer(400, "the event could not be read")
        return web.Response(body=content or b"{}", status=200, content_type="application/json")

    def _plaintext(self, body: bytes) -> dict[str, Any]:
        outer = _json(body)
        encrypted = outer.get("encrypt")
        if encrypted is None:
            raise Refused(400, "the body is not encrypted: set an Encrypt Key in the console")
        try:
            return _json(decrypt(self._config.encrypt_key, str(encrypted)))
        except (ValueError, UnicodeDecodeError):
            raise Refused(400, "cannot decrypt: is LARK_ENCRYPT_KEY the console's?") from None

    def _check_token(self, token: object) -> None:
        expected = self._config.verification_token.encode()
        if not isinstance(token, str) or not hmac.compare_digest(token.encode(), expected):
            raise Refused(401, "wrong verification token")

    def _check_signature(self, request: web.Request, body: bytes) -> None:
        timestamp, nonce = request.headers.get(TIMESTAMP, ""), request.headers.get(NONCE, "")
        signature = request.headers.get(SIGNATURE, "")
        try:
            age = abs(self._clock() - int(timestamp))
        except ValueError:
            raise Refused(401, "missing or malformed request timestamp") from None
        if age > TIMESTAMP_WINDOW_SECONDS:
            raise Refused(401, "request timestamp outside the 5-minute window")
        expected = sign(timestamp, nonce, self._config.encrypt_key, body)
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise Refused(401, "bad signature")


def decrypt(encrypt_key: str, encrypted: str) -> bytes:
    """Lark's scheme: base64(IV + AES-256-CBC(PKCS7(plaintext))), key = sha256(encrypt key)."""
    data = base64.b64decode(encrypted, validate=True)
    if len(data) < 32 or len(data) % 16:
        raise ValueError("not an AES-CBC message")
    key = hashlib.sha256(encrypt_key.encode()).digest()
    decryptor = Cipher(algorithms.AES(key), modes.CBC(data[:16])).decryptor()
    padded = decryptor.update(data[16:]) + decryptor.finalize()
    unpadder = padding.PKCS7(algorithms.AES.block_size).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def sign(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    """Lark's X-Lark-Signature: sha256 hex of timestamp + nonce + encrypt key + body."""
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode() + body).hexdigest()


async def _read(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise Refused(413, "the body is too large")
    body = await request.content.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise Refused(413, "the body is too large")
    return body


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "the body is not JSON") from None
    if not isinstance(value, dict):
        raise Refused(400, "the body is not a JSON object")
    return value


def _answer(status: int, msg: str) -> web.Response:
    return web.json_response({"msg": msg}, status=status)
