"""Lark delivers an event again on timeouts and retries: remember recent event and message ids."""

from __future__ import annotations

import threading
from collections import OrderedDict

from bot.events import Event

REMEMBERED = 50_000


class RecentEvents:
    """Thread-safe (the long connection runs in its own thread), bounded, oldest forgotten first."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self._size = size
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, event: Event) -> bool:
        """True the first time an event (by `header.event_id` or its message id) is seen."""
        keys = [f"event:{event.id}"]
        if event.message_id:
            keys.append(f"{'recall' if event.deleted else 'received'}:{event.message_id}")
        with self._lock:
            if any(key in self._seen for key in keys):
                return False
            for key in keys:
                self._seen[key] = None
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
            return True
