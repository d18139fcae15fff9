"""DingTalk: a Stream-mode robot (no public URL). `build` is the composition root's hook.

Layout: normalize.py (payloads → Events, pure), render.py (OutMessages → DingTalk bodies,
pure), replies.py (typed replies that stand for button clicks), conversations.py (session
webhooks and group names learned from messages), openapi.py (HTTP APIs over aiohttp),
stream.py (the dingtalk-stream connection; imported only once the endpoint is set),
adapter.py (the Adapter itself).
"""

from __future__ import annotations

from aiohttp import web

from adapters.dingtalk.adapter import DingTalkAdapter
from bot.settings import Settings


def build(settings: Settings, web_app: web.Application) -> DingTalkAdapter:
    """The DingTalk adapter; Stream mode needs no HTTP routes on the bot's web server."""
    return DingTalkAdapter(settings)
