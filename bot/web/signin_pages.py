"""The routes of signing in with a one-time link, for the admin pages and "my data" alike.

Opening a link shows a button; pressing it spends the link. A chat's link preview (Slack
unfurls links) only GETs, so it cannot use up the link meant for the person.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.settings import Settings
from bot.web.admin_auth import (
    clear_session_cookie,
    cross_site,
    session_token,
    set_session_cookie,
)
from bot.web.responses import html_response, see_other
from bot.web.signin import (
    Kind,
    LinkState,
    end_session,
    look_at_link,
    open_session,
    redeem_link,
)
from bot.web.signin_render import ask_to_sign_in, confirm_link, refuse_link, refuse_post

# Whether the person a link names may still use its pages (an admin may have been removed).
StillAllowed = Callable[[str, str, str], Awaitable[bool]]


class SignInPages:
    def __init__(
        self, settings: Settings, kind: Kind, still_allowed: StillAllowed | None = None
    ) -> None:
        self.settings = settings
        self.kind = kind
        self.still_allowed = still_allowed

    def add_routes(self, router: web.UrlDispatcher) -> None:
        base = self.kind.path
        router.add_get(f"{base}/signin", self.ask)
        router.add_get(f"{base}/signin/{{token}}", self.confirm)
        router.add_post(f"{base}/signin/{{token}}", self.redeem)
        router.add_post(f"{base}/signout", self.sign_out)

    async def ask(self, request: web.Request) -> web.StreamResponse:
        return html_response(ask_to_sign_in(self.kind), 401)

    async def confirm(self, request: web.Request) -> web.StreamResponse:
        state, link = await look_at_link(request.match_info["token"], self.kind)
        if state is not LinkState.VALID or link is None:
            return html_response(refuse_link(self.kind, state), 403)
        await link.fetch_related("tenant")
        workspace = f"{link.tenant.platform}:{link.tenant.external_id}"
        return html_response(confirm_link(self.kind, request.path, link.user_id, workspace))

    async def redeem(self, request: web.Request) -> web.StreamResponse:
        if cross_site(request, self.settings):
            return html_response(refuse_post("It came from another site."), 403)
        state, link = await redeem_link(request.match_info["token"], self.kind)
        if state is not LinkState.VALID or link is None:
            return html_response(refuse_link(self.kind, state), 403)
        await link.fetch_related("tenant")
        if self.still_allowed and not await self.still_allowed(
            link.tenant.platform, link.tenant.external_id, link.user_id
        ):
            return html_response(refuse_link(self.kind, LinkState.UNKNOWN), 403)
        token, _ = await open_session(link, session_token(request, self.kind))
        response = see_other(self.kind.path)
        set_session_cookie(response, self.kind, token, request, self.settings)
        return response

    async def sign_out(self, request: web.Request) -> web.StreamResponse:
        if cross_site(request, self.settings):
            return html_response(refuse_post("It came from another site."), 403)
        token = session_token(request, self.kind)
        if token:
            await end_session(token)
        response = see_other(f"{self.kind.path}/signin")
        clear_session_cookie(response, self.kind)
        return response
