"""Signing in without passwords: one-time links sent in chat, and the sessions they open.

A link (`/skill admin web`, `/skill mydata`, `apprentice admin-link`) is a random token that
works once, within LINK_SECONDS; opening it starts a session. Both live in the database, so
every worker process honours them, and only their SHA-256 is stored: someone who reads the
database cannot sign in with what they find there.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum, StrEnum

from bot.settings import Settings
from bot.storage.models import Tenant, WebLink, WebSession

LINK_SECONDS = 10 * 60
SESSION_SECONDS = {"admin": 8 * 3600, "person": 3600}


class Kind(StrEnum):
    ADMIN = "admin"  # the admin pages of one workspace
    PERSON = "person"  # one person's "my data" page

    @property
    def path(self) -> str:
        return "/admin" if self is Kind.ADMIN else "/mydata"


class LinkState(Enum):
    VALID = "valid"
    USED = "used"
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # forged, mistyped, or for the other kind of page


async def may_administer(settings: Settings, platform: str, tenant: str, user_id: str) -> bool:
    """Whether someone is an admin of this workspace: the one place the web reads the
    admin list. `platform:tenant:user_id` counts in that workspace; the older
    `platform:user_id` only in the platform's first workspace, as in chat (bot/context.py).
    Checked when a link is made and again on every request of the session."""
    first = await Tenant.filter(platform=platform).order_by("id").first()
    is_first = first is not None and first.external_id == tenant
    return settings.is_admin(platform, tenant, user_id, first_workspace=is_first)


def base_url(settings: Settings) -> str:
    """Where people reach the web pages: APPRENTICE_PUBLIC_URL, else this server."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = settings.web_host if settings.web_host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.web_port}"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def make_link(settings: Settings, tenant: Tenant, user_id: str, kind: Kind) -> str:
    """A new one-time link for this person and page; its token is never stored."""
    now = _now()
    await WebLink.filter(expires_at__lt=now - timedelta(days=1)).delete()
    await WebSession.filter(expires_at__lt=now).delete()
    token = secrets.token_urlsafe(32)
    await WebLink.create(
        token_hash=digest(token),
        kind=kind.value,
        tenant=tenant,
        user_id=user_id,
        expires_at=now + timedelta(seconds=LINK_SECONDS),
    )
    return f"{base_url(settings)}{kind.path}/signin/{token}"


async def _find_link(token: str, kind: Kind) -> WebLink | None:
    if not token or len(token) > 100:
        return None
    return await WebLink.get_or_none(token_hash=digest(token), kind=kind.value)


def _state(link: WebLink | None, now: datetime) -> LinkState:
    if link is None:
        return LinkState.UNKNOWN
    if link.used_at is not None:
        return LinkState.USED
    if _aware(link.expires_at) <= now:
        return LinkState.EXPIRED
    return LinkState.VALID


async def look_at_link(token: str, kind: Kind) -> tuple[LinkState, WebLink | None]:
    """What a link is, without using it (a chat's link preview must not spend it)."""
    link = await _find_link(token, kind)
    return _state(link, _now()), link


async def redeem_link(token: str, kind: Kind) -> tuple[LinkState, WebLink | None]:
    """Use a link: VALID once, USED for every later try (across processes: one UPDATE)."""
    now = _now()
    link = await _find_link(token, kind)
    state = _state(link, now)
    if state is not LinkState.VALID or link is None:
        return state, link
    taken = await WebLink.filter(id=link.id, used_at__isnull=True).update(used_at=now)
    return (LinkState.VALID if taken else LinkState.USED), link


@dataclass(frozen=True, slots=True)
class Session:
    kind: Kind
    tenant: Tenant
    user_id: str
    csrf: str
    token_hash: str


async def open_session(link: WebLink, replacing: str | None) -> tuple[str, Session]:
    """A fresh session for a redeemed link; the browser's old one (if any) ends: signing in
    always gets a new token, so a token planted before sign-in is worth nothing after."""
    if replacing:
        await end_session(replacing)
    kind = Kind(link.kind)
    token = secrets.token_urlsafe(32)
    row = await WebSession.create(
        token_hash=digest(token),
        kind=kind.value,
        tenant_id=link.tenant_id,
        user_id=link.user_id,
        csrf=secrets.token_urlsafe(24),
        expires_at=_now() + timedelta(seconds=SESSION_SECONDS[kind.value]),
    )
    await row.fetch_related("tenant")
    return token, _session(row)


def _session(row: WebSession) -> Session:
    return Session(Kind(row.kind), row.tenant, row.user_id, row.csrf, row.token_hash)


async def find_session(token: str | None, kind: Kind) -> Session | None:
    if not token or len(token) > 100:
        return None
    row = await WebSession.get_or_none(token_hash=digest(token), kind=kind.value)
    if row is None:
        return None
    if _aware(row.expires_at) <= _now():
        await row.delete()
        return None
    await row.fetch_related("tenant")
    return _session(row)


async def end_session(token: str) -> None:
    await WebSession.filter(token_hash=digest(token)).delete()


async def end_sessions_of(tenant: Tenant, user_id: str) -> None:
    """After an erasure: nothing signed in as that person stays (nor their unused links)."""
    await WebSession.filter(tenant=tenant, user_id=user_id).delete()
    await WebLink.filter(tenant=tenant, user_id=user_id).delete()
