"""What every web page answers with: its security headers, HTML, redirects and problems."""

from __future__ import annotations

from aiohttp import web

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # A sign-in link in the address bar is sent to no other site; "no-referrer" would also
    # make Chromium send `Origin: null` with our own forms, which cross_site() refuses.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Problem(Exception):
    """A page that says what went wrong and what to do."""

    def __init__(self, status: int, title: str, text: str) -> None:
        super().__init__(text)
        self.status, self.title, self.text = status, title, text


def html_response(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", headers=HEADERS)


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, **HEADERS})
