"""OutMessages → Lark message bodies: rich text for words, interactive cards for buttons. Pure."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.outbound import Button, ButtonStyle, OutMessage

_BOLD = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")
_BUTTON_TYPES = {
    ButtonStyle.PRIMARY: "primary",
    ButtonStyle.DANGER: "danger",
    ButtonStyle.DEFAULT: "default",
}


def markdown(text: str) -> str:
    """The core writes Slack-style `*bold*`; Lark's markdown wants `**bold**`."""
    return _BOLD.sub(r"**\1**", text)


def message(out: OutMessage) -> tuple[str, str]:
    """(msg_type, content) for the create/reply APIs: a card when there are buttons."""
    if out.buttons:
        return "interactive", card(out.text, out.buttons)
    return "post", post(out.text)


def post(text: str) -> str:
    return json.dumps(
        {"zh_cn": {"title": "", "content": [[{"tag": "md", "text": markdown(text)}]]}},
        ensure_ascii=False,
    )


def card(text: str, buttons: tuple[Button, ...] = ()) -> str:
    """An interactive card; each button's value carries our action id and value back."""
    elements: list[dict[str, Any]] = [{"tag": "markdown", "content": markdown(text)}]
    if buttons:
        elements.append({"tag": "action", "actions": [_button(b) for b in buttons]})
    # update_multi: the card can later be updated in place (the consent result replaces it).
    body = {"config": {"wide_screen_mode": True, "update_multi": True}, "elements": elements}
    return json.dumps(body, ensure_ascii=False)


def attachment_text(name: str, content: str) -> str:
    """The fallback when a file cannot be uploaded: the content as a code block."""
    return post(f"{name}:\n```\n{content}\n```")


def file_message(file_key: str) -> str:
    return json.dumps({"file_key": file_key})


def _button(button: Button) -> dict[str, Any]:
    return {
        "tag": "button",
        "text": {"tag": "plain_text", "content": button.label},
        "type": _BUTTON_TYPES.get(button.style, "default"),
        "value": {"action_id": button.action_id, "value": button.value},
    }
