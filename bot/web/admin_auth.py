"""Who may open the admin pages: they show who consented to what, so they are never open.

With `APPRENTICE_ADMIN_TOKEN` set, every request needs the token: as `Authorization: Bearer
<token>`, or as the cookie the login form sets. The cookie holds an expiry and an HMAC of
the token under a key derived from the master key, never the token itself.
Without a token, only requests from a loopback address are answered, and only while the web
server itself listens on loopback.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
from enum import Enum

from aiohttp import web
from pydantic import SecretStr

COOKIE = "apprentice_admin"
COOKIE_PATH = "/admin"
SESSION_SECONDS = 12 * 3600
_KEY_LABEL = b"apprentice admin session"


class Access(Enum):
    ALLOWED = "allowed"
    LOGIN = "login"  # a token is set and the request did not carry it: 401 with the form
    FORBIDDEN = "forbidden"  # no token set and not loopback: 403, set APPRENTICE_ADMIN_TOKEN


def is_loopback(host: str | None) -> bool:
    """Whether a host name or address is this machine only (an empty host is every address)."""
    if not host:
        return False
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


class AdminAuth:
    def __init__(self, token: SecretStr | None, web_host: str, key_material: bytes) -> None:
        secret = token.get_secret_value().strip() if token is not None else ""
        self._token = secret or None  # APPRENTICE_ADMIN_TOKEN= (empty) counts as unset
        self._web_host = web_host
        self._key = hmac.new(key_material, _KEY_LABEL, hashlib.sha256).digest()

    @property
    def token_required(self) -> bool:
        return self._token is not None

    def access(self, request: web.Request) -> Access:
        if self._token is None:
            local = is_loopback(self._web_host) and is_loopback(request.remote)
            return Access.ALLOWED if local else Access.FORBIDDEN
        if self.token_matches(_bearer(request)) or self.cookie_valid(request.cookies.get(COOKIE)):
            return Access.ALLOWED
        return Access.LOGIN

    def token_matches(self, candidate: str | None) -> bool:
        """Constant-time: both sides are hashed to the same length before comparing."""
        if self._token is None or not candidate:
            return False
        return hmac.compare_digest(_digest(candidate), _digest(self._token))

    def cookie_value(self, now: float | None = None) -> str:
        expires = int(now if now is not None else time.time()) + SESSION_SECONDS
        return f"{expires}.{self._mac(expires)}"

    def cookie_valid(self, value: str | None, now: float | None = None) -> bool:
        if self._token is None or not value:
            return False
        expires_text, _, mac = value.partition(".")
        if not expires_text.isdigit():
            return False
        expires = int(expires_text)
        fresh = expires > (now if now is not None else time.time())
        return hmac.compare_digest(mac.encode(), self._mac(expires).encode()) and fresh

    def _mac(self, expires: int) -> str:
        assert self._token is not None
        message = f"{expires}|".encode() + _digest(self._token)
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


def _bearer(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def set_cookie(response: web.StreamResponse, auth: AdminAuth, request: web.Request) -> None:
    response.set_cookie(
        COOKIE,
        auth.cookie_value(),
        max_age=SESSION_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )


def clear_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path=COOKIE_PATH)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: an admin page of this server, nowhere else."""
    if (
        not target
        or not target.startswith(COOKIE_PATH)
        or target.startswith("//")
        or any(c in target for c in "\\\r\n")
    ):
        return COOKIE_PATH
    return target
