"""Lark / Feishu: long connection (default) or webhooks, interactive cards, `/skill` in chat.

`build` imports no SDK: lark-oapi is loaded when the adapter starts running.
"""

from __future__ import annotations

from aiohttp import web

from adapters.lark.adapter import LarkAdapter
from adapters.lark.config import LarkConfig
from bot.settings import Settings


def build(settings: Settings, web_app: web.Application) -> LarkAdapter:
    """The Lark adapter for these settings; in webhook mode, `/lark/events` on the web server."""
    adapter = LarkAdapter(LarkConfig.from_settings(settings))
    if adapter.config.mode == "webhook":
        from adapters.lark.web import add_routes  # noqa: PLC0415 - only webhook mode serves it

        add_routes(web_app, adapter)
    return adapter
