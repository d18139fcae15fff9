"""People's names and locales from `users.info`, cached, and never in the way of an ack."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.normalize import Profile

log = structlog.get_logger(__name__)

CACHE_SECONDS = 3600.0
CACHE_ENTRIES = 20_000
LOOKUP_SECONDS = 2.0  # a slow users.info must not hold up an event


class UserDirectory:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._cache: OrderedDict[str, tuple[float, Profile | None]] = OrderedDict()
        self._pending: dict[str, asyncio.Future[Profile | None]] = {}
        self._paused_until = 0.0  # set by a 429: lookups resume after Retry-After

    async def profile(self, user_id: str) -> Profile | None:
        """The person's name and locale; None when Slack cannot say right now."""
        now = time.monotonic()
        cached = self._cache.get(user_id)
        if cached is not None and cached[0] > now:
            self._cache.move_to_end(user_id)
            return cached[1]
        if now < self._paused_until:
            return cached[1] if cached else None
        pending = self._pending.get(user_id)
        if pending is None:
            pending = asyncio.ensure_future(self._lookup(user_id))
            self._pending[user_id] = pending
            pending.add_done_callback(lambda _: self._pending.pop(user_id, None))
        try:
            return await asyncio.wait_for(asyncio.shield(pending), LOOKUP_SECONDS)
        except TimeoutError:
            return cached[1] if cached else None

    async def _lookup(self, user_id: str) -> Profile | None:
        try:
            response = await self._client.users_info(user=user_id, include_locale=True)
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            if exc.response is not None and exc.response.status_code == 429:
                retry_after = float(exc.response.headers.get("Retry-After", "1") or 1)
                self._paused_until = time.monotonic() + retry_after
                log.warning("slack.users_info_rate_limited", retry_after=retry_after)
                return None
            log.warning("slack.users_info_failed", error=error)
            if error == "user_not_found":
                self._remember(user_id, None)
            return None
        except (TimeoutError, OSError) as exc:
            log.warning("slack.users_info_failed", error=type(exc).__name__)
            return None
        profile = profile_of(response.get("user") or {})
        self._remember(user_id, profile)
        return profile

    def _remember(self, user_id: str, profile: Profile | None) -> None:
        self._cache[user_id] = (time.monotonic() + CACHE_SECONDS, profile)
        self._cache.move_to_end(user_id)
        while len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)


def profile_of(user: dict[str, Any]) -> Profile:
    """A `users.info` (or export `users.json`) user object → Profile."""
    details = user.get("profile") or {}
    name = (
        details.get("display_name")
        or details.get("real_name")
        or user.get("real_name")
        or user.get("name")
        or ""
    )
    locale = user.get("locale")
    return Profile(
        name=str(name),
        locale=str(locale) if isinstance(locale, str) and locale else None,
        is_bot=bool(user.get("is_bot")) or user.get("id") == "USLACKBOT",
    )
