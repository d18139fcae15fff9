"""What the adapter learns from incoming messages: live session webhooks and group names.

A DingTalk message carries a `sessionWebhook` that answers into its conversation until it
expires (about 90 minutes); groups have no `#name` syntax, so admins name a group by its
title, which the bot learns when someone @-mentions it there. Both are bounded, in memory.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

WEBHOOK_MARGIN = timedelta(seconds=60)  # do not start a reply on a webhook about to expire
CAPACITY = 10_000

WebhookKey = tuple[str, str, str]  # (tenant, "dm" | "group", user id | conversation id)


def dm_key(tenant: str, user_id: str) -> WebhookKey:
    return (tenant, "dm", user_id)


def group_key(tenant: str, conversation_id: str) -> WebhookKey:
    return (tenant, "group", conversation_id)


class SessionWebhooks:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._urls: OrderedDict[WebhookKey, tuple[str, datetime]] = OrderedDict()
        self._capacity = capacity

    def remember(self, key: WebhookKey, url: str, expires_at: datetime) -> None:
        self._urls.pop(key, None)
        self._urls[key] = (url, expires_at)
        while len(self._urls) > self._capacity:
            self._urls.popitem(last=False)

    def live(self, key: WebhookKey, now: datetime | None = None) -> str | None:
        """The webhook's URL while it still has a minute left, else None."""
        found = self._urls.get(key)
        if found is None:
            return None
        url, expires_at = found
        if (now or datetime.now(UTC)) >= expires_at - WEBHOOK_MARGIN:
            del self._urls[key]
            return None
        return url

    def forget(self, key: WebhookKey) -> None:
        self._urls.pop(key, None)


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    title: str


class GroupDirectory:
    """Groups the bot has heard from, per tenant, most recently active last."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._groups: OrderedDict[tuple[str, str], Group] = OrderedDict()
        self._capacity = capacity

    def seen(self, tenant: str, conversation_id: str, title: str) -> None:
        key = (tenant, conversation_id)
        self._groups.pop(key, None)
        self._groups[key] = Group(conversation_id, title)
        while len(self._groups) > self._capacity:
            self._groups.popitem(last=False)

    def find(self, tenant: str, ref: str) -> Group | None:
        """A group by its conversation id or its title (case and spaces ignored)."""
        by_id = self._groups.get((tenant, ref))
        if by_id is not None:
            return by_id
        wanted = _folded(ref)
        if not wanted:
            return None
        for (group_tenant, _), group in reversed(self._groups.items()):
            if group_tenant == tenant and _folded(group.title) == wanted:
                return group
        return None


def _folded(title: str) -> str:
    return "".join(title.split()).casefold()
