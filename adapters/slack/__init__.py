"""Slack: Socket Mode when SLACK_APP_TOKEN is set, else HTTP at /slack/events."""

from __future__ import annotations

from aiohttp import web

from adapters.slack.adapter import SlackAdapter
from bot.settings import Settings

__all__ = ["SlackAdapter", "build"]


def build(settings: Settings, web_app: web.Application) -> SlackAdapter:
    """The composition root's hook: make the adapter, mount its HTTP route in HTTP mode."""
    adapter = SlackAdapter(settings)
    if not adapter.socket_mode:
        from adapters.slack.web import add_routes  # noqa: PLC0415 - HTTP mode only

        add_routes(web_app, adapter.app)
    return adapter
