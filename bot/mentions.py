"""Channel and person references as people type them on each platform."""

from __future__ import annotations

import re

_SLACK_CHANNEL = re.compile(r"^<#(?P<id>[A-Z0-9]+)(?:\|[^>]*)?>$")
_SLACK_USER = re.compile(r"^<@(?P<id>[A-Z0-9]+)(?:\|[^>]*)?>$")


def channel_ref(word: str) -> str:
    """`#team`, `<#C123|team>` or `C123` → the id or name to look up."""
    match = _SLACK_CHANNEL.match(word)
    if match:
        return match["id"]
    return word.strip().lstrip("#")


def user_ref(word: str) -> str:
    """`@alice`, `<@U123>` or `U123` → the user id to look up."""
    match = _SLACK_USER.match(word)
    if match:
        return match["id"]
    return word.strip().lstrip("@")
