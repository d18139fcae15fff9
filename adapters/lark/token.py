"""The tenant access token: fetched with the SDK's blocking call in a worker thread, cached."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

REFRESH_EARLY_SECONDS = 600  # Lark tokens live 2 hours; renew 10 minutes before the end
MIN_LIFETIME_SECONDS = 30


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    expires_in: int  # seconds, as Lark reports it


class TokenRefused(Exception):
    """Lark refused to issue a token; `code`/`msg` are Lark's (they never echo the secret)."""

    def __init__(self, code: int | None, msg: str) -> None:
        super().__init__(f"code={code} msg={msg}")
        self.code = code
        self.msg = msg


class TenantToken:
    """One cached token per adapter (the SDK's own cache is process-wide and keyed by app only)."""

    def __init__(self, fetch: Callable[[], Token], clock: Callable[[], float] = time.monotonic):
        self._fetch = fetch
        self._clock = clock
        self._value: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        if self._value is not None and self._clock() < self._renew_at:
            return self._value
        async with self._lock:
            if self._value is None or self._clock() >= self._renew_at:
                token = await asyncio.to_thread(self._fetch)  # the SDK blocks on `requests`
                lifetime = max(token.expires_in - REFRESH_EARLY_SECONDS, MIN_LIFETIME_SECONDS)
                self._value, self._renew_at = token.value, self._clock() + lifetime
            return self._value

    def invalidate(self) -> None:
        """Forget the token (Lark said it is no longer valid); the next call fetches anew."""
        self._value = None
