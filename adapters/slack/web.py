"""HTTP mode: Slack's events, slash commands and interactivity at `/slack/events`."""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

EVENTS_PATH = "/slack/events"


def add_routes(web_app: web.Application, bolt: AsyncApp) -> None:
    """Mount the Request URL that the app manifest points Slack at."""

    async def slack_events(request: web.Request) -> web.Response:
        # Bolt verifies the signature and timestamp first: a bad one gets 401 and reaches
        # no listener, so nothing reaches the bus.
        response = await bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    web_app.router.add_post(EVENTS_PATH, slack_events)
