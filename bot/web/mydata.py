"""The "my data" page (/mydata): what is held about the signed-in person, their JSON copy,
and stopping or erasing it with one click and a confirmation.

The person signs in with the one-time link `/skill mydata` sends; the page shows only
their own data. Stopping and erasing run `/skill optout` and `/skill forget` as if they
had typed them (bot/web/as_chat.py): the same ledger entries, receipts and audit.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aiohttp import web

from bot.consent.notices import Purpose, notice
from bot.mydata import export, gather
from bot.services import Publish, Services
from bot.web.admin_auth import cross_site, csrf_ok, session_token
from bot.web.as_chat import run_as_typed
from bot.web.mydata_render import confirm_body, erased_body, my_page, mydata_body
from bot.web.responses import HEADERS, html_response, see_other
from bot.web.signin import Kind, Session, find_session
from bot.web.signin_pages import SignInPages
from bot.web.signin_render import refuse_post

if TYPE_CHECKING:
    from bot.app import Application

OPTOUT_WORDS = {
    Purpose.OBSERVE: "optout",
    Purpose.MODEL: "optout model",
    Purpose.BACKFILL: "optout history",
}


def add_mydata_routes(web_app: web.Application, app: Application) -> None:
    pages = MyDataPages(app)
    router = web_app.router
    router.add_get("/mydata", pages.show)
    router.add_get("/mydata/", pages.show)
    router.add_get("/mydata/export.json", pages.download)
    router.add_get("/mydata/withdraw", pages.confirm_withdraw)
    router.add_get("/mydata/erase", pages.confirm_erase)
    router.add_post("/mydata/withdraw", pages.withdraw)
    router.add_post("/mydata/erase", pages.erase)
    SignInPages(app.settings, Kind.PERSON).add_routes(router)


class MyDataPages:
    def __init__(self, app: Application) -> None:
        self._app = app

    @property
    def services(self) -> Services:
        assert self._app.services is not None  # the web is served only once they exist
        return self._app.services

    @property
    def publish(self) -> Publish:
        assert self._app.bus is not None
        return self._app.bus.publish

    async def _session(self, request: web.Request) -> Session | None:
        return await find_session(session_token(request, Kind.PERSON), Kind.PERSON)

    async def _acting(self, request: web.Request, confirm: str) -> Session | web.Response:
        """The session of a same-origin POST carrying its CSRF token and its confirmation,
        or the refusal."""
        if cross_site(request, self._app.settings):
            return html_response(refuse_post("It came from another site."), 403)
        session = await self._session(request)
        if session is None:
            return see_other("/mydata/signin")
        form = await request.post()
        if not csrf_ok(form, session.csrf):
            return html_response(refuse_post("It did not carry this page's security token."), 403)
        if form.get("confirm") != confirm:
            return html_response(refuse_post("It was not confirmed: use the page's button."), 400)
        return session

    async def show(self, request: web.Request) -> web.StreamResponse:
        session = await self._session(request)
        if session is None:
            return see_other("/mydata/signin")
        settings = self._app.settings
        held = await gather(self.services, session.tenant, session.user_id)
        provider = settings.openai_base_url or ("OpenAI" if settings.openai_api_key else "")
        notices = {
            (e.purpose, e.language): notice(
                Purpose(e.purpose),
                e.language,
                retention_days=settings.retention_days,
                provider=provider,
            )
            for e in held.history
            if e.purpose in Purpose._value2member_map_ and e.language in ("en", "zh")
        }
        done = request.query.get("done", "")
        return html_response(my_page("Your data", [mydata_body(held, notices, session.csrf, done)]))

    async def download(self, request: web.Request) -> web.StreamResponse:
        session = await self._session(request)
        if session is None:
            return see_other("/mydata/signin")
        held = await gather(self.services, session.tenant, session.user_id)
        return web.Response(
            text=json.dumps(export(held), ensure_ascii=False, indent=2),
            content_type="application/json",
            headers={**HEADERS, "Content-Disposition": 'attachment; filename="mydata.json"'},
        )

    async def confirm_withdraw(self, request: web.Request) -> web.StreamResponse:
        session = await self._session(request)
        if session is None:
            return see_other("/mydata/signin")
        return html_response(my_page("Stop", [confirm_body("withdraw", session.csrf)]))

    async def confirm_erase(self, request: web.Request) -> web.StreamResponse:
        session = await self._session(request)
        if session is None:
            return see_other("/mydata/signin")
        return html_response(my_page("Erase", [confirm_body("erase", session.csrf)]))

    async def withdraw(self, request: web.Request) -> web.StreamResponse:
        session = await self._acting(request, "withdraw")
        if isinstance(session, web.Response):
            return session
        tenant = session.tenant
        for purpose, words in OPTOUT_WORDS.items():
            if await self.services.ledger.live_grant(tenant, session.user_id, purpose):
                await run_as_typed(self.publish, tenant, session.user_id, words)
        return see_other("/mydata?done=withdrawn")

    async def erase(self, request: web.Request) -> web.StreamResponse:
        session = await self._acting(request, "erase")
        if isinstance(session, web.Response):
            return session
        await run_as_typed(self.publish, session.tenant, session.user_id, "forget")
        return html_response(my_page("Erased", [erased_body()]))
