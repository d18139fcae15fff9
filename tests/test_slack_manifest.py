"""The app manifest people paste at "Create app from manifest"."""

from __future__ import annotations

import re
from pathlib import Path

MANIFEST = Path(__file__).parent.parent / "deploy" / "slack-manifest.yml"


def _list_after(key: str, text: str) -> set[str]:
    """The `- item` lines of one YAML list (the manifest is plain enough to read so)."""
    block = re.search(rf"^(\s*){key}:\n((?:\1\s+- .*\n)+)", text, re.MULTILINE)
    assert block, f"{key} is missing"
    return {re.sub(r"\s+#.*", "", line.strip()[2:]) for line in block[2].splitlines()}


def test_the_manifest_asks_only_for_the_scopes_the_adapter_uses() -> None:
    assert _list_after("bot", MANIFEST.read_text()) == {
        "app_mentions:read",
        "channels:history",
        "channels:join",
        "channels:read",
        "chat:write",
        "commands",
        "files:write",
        "groups:history",
        "groups:read",
        "im:history",
        "im:write",
        "users:read",
    }


def test_the_manifest_subscribes_to_messages_but_never_to_group_dms() -> None:
    events = _list_after("bot_events", MANIFEST.read_text())
    assert events == {"app_mention", "message.channels", "message.groups", "message.im"}


def test_the_manifest_has_the_slash_command_interactivity_and_socket_mode() -> None:
    text = MANIFEST.read_text()
    assert "- command: /skill" in text and "should_escape: true" in text
    assert re.search(r"interactivity:\n\s+is_enabled: true", text)
    assert "socket_mode_enabled: true" in text
