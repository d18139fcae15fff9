"""Who may open the web pages: a signed-in session, or (for scripts reading the admin pages)
the admin token. Never the peer address: a reverse proxy on the same host makes every
request look local.

- People sign in with a one-time link from chat (bot/web/signin.py); the session cookie is
  HttpOnly, SameSite=Lax, Secure when the pages are served over HTTPS, and scoped to its
  pages (/admin or /mydata).
- `Authorization: Bearer <APPRENTICE_ADMIN_TOKEN>` reads every admin page (scripts). Acting
  needs a signed-in person, so every change is attributable to someone.
- Every form carries its session's CSRF token, and a POST from another origin is refused
  before its token is even looked at.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import SecretStr

from bot.settings import Settings
from bot.web.signin import SESSION_SECONDS, Kind, base_url

COOKIES = {Kind.ADMIN: "apprentice_admin", Kind.PERSON: "apprentice_me"}
CSRF_FIELD = "csrf"


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def token_matches(expected: SecretStr | None, candidate: str | None) -> bool:
    """Constant-time: both sides are hashed to the same length before comparing."""
    secret = expected.get_secret_value().strip() if expected is not None else ""
    if not secret or not candidate:  # APPRENTICE_ADMIN_TOKEN= (empty) counts as unset
        return False
    return hmac.compare_digest(_digest(candidate), _digest(secret))


def bearer(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def session_token(request: web.Request, kind: Kind) -> str | None:
    return request.cookies.get(COOKIES[kind])


def set_session_cookie(
    response: web.StreamResponse, kind: Kind, token: str, request: web.Request, settings: Settings
) -> None:
    response.set_cookie(
        COOKIES[kind],
        token,
        max_age=SESSION_SECONDS[kind.value],
        path=kind.path,
        httponly=True,
        samesite="Lax",
        secure=request.secure or base_url(settings).startswith("https://"),
    )


def clear_session_cookie(response: web.StreamResponse, kind: Kind) -> None:
    response.del_cookie(COOKIES[kind], path=kind.path)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def cross_site(request: web.Request, settings: Settings) -> bool:
    """Whether a POST came from a page of another origin (what a CSRF attack looks like).

    Browsers send `Sec-Fetch-Site` and `Origin` with every form post; a script that sends
    neither still needs the session's CSRF token."""
    fetch_site = request.headers.get("Sec-Fetch-Site", "").lower()
    if fetch_site and fetch_site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    ours = {_origin(f"{request.scheme}://{request.host}"), _origin(base_url(settings))}
    return origin.lower() not in ours


def csrf_ok(form: Mapping[str, object], expected: str) -> bool:
    given = form.get(CSRF_FIELD)
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())
