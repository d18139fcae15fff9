"""Pages that anyone reaching them may use as anyone (the console) answer only this machine.

Never the peer address alone: a reverse proxy on the same host connects from 127.0.0.1 on
behalf of the whole network. So a request is local only when the server listens on
loopback, the peer is loopback, the Host it asked for is a loopback name (no DNS
rebinding), and it carries no proxy header.
"""

from __future__ import annotations

import ipaddress

from aiohttp import web

PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP", "Via")
LOCAL_NAMES = ("localhost",)


def is_loopback(host: str | None) -> bool:
    """Whether a host name or address is this machine only (an empty host is every address)."""
    if not host:
        return False
    name = host.strip().strip("[]").lower()
    if name in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    """`127.0.0.1:8765` → 127.0.0.1, `[::1]:8765` → ::1."""
    if host_header.startswith("["):
        return host_header[1 : host_header.find("]")]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def why_not_local(request: web.Request, listening_on: str) -> str | None:
    """None when the request is from this machine directly; else what gave it away."""
    if not is_loopback(listening_on):
        return "the web server listens on a public address"
    if any(name in request.headers for name in PROXY_HEADERS):
        return "it came through a proxy"
    if not is_loopback(request.remote):
        return "it came from another machine"
    if not is_loopback(_host_name(request.headers.get("Host", ""))):
        return "it asked for a host name that is not this machine"
    return None
