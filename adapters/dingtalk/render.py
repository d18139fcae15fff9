"""OutMessages → DingTalk message bodies (pure): text, ActionCard and interactive card.

Buttons render natively: an interactive card (when a card template is configured) whose
request buttons call back with `action_id` and `value`, or an ActionCard whose buttons send
the button's typed reply as the person (`dtmd://dingtalkclient/sendMessage?content=…`).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from adapters.dingtalk.replies import typed_reply
from bot.outbound import Button, ButtonStyle, Destination, OutMessage

SEND_MESSAGE_LINK = "dtmd://dingtalkclient/sendMessage?content="
MAX_ACTION_CARD_BUTTONS = 5  # sampleActionCard … sampleActionCard5
MAX_TITLE_CHARS = 60
ATTACHMENT_PART_CHARS = 6000  # well inside DingTalk's 20 000-byte text limit, CJK included
COLORS = {ButtonStyle.PRIMARY: "blue", ButtonStyle.DANGER: "red", ButtonStyle.DEFAULT: "gray"}

_SLACK_BOLD = re.compile(r"(?<![*\w])\*([^*\n]+)\*(?![*\w])")


def send_message_link(text: str) -> str:
    """A link that makes the DingTalk client send `text` as the person who taps it."""
    return SEND_MESSAGE_LINK + quote(text, safe="")


def title_of(text: str) -> str:
    """The first line, without markup: shown in the conversation list and notifications."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "Apprentice")
    first = first.replace("*", "").replace("`", "")
    return first if len(first) <= MAX_TITLE_CHARS else first[: MAX_TITLE_CHARS - 1] + "…"


def markdown_of(text: str) -> str:
    """Chat text (Slack-style `*bold*`) as DingTalk markdown, keeping its line breaks."""
    return _SLACK_BOLD.sub(r"**\1**", text).replace("\n", "  \n")


def typed_hint(buttons: tuple[Button, ...]) -> str:
    choices = " · ".join(f"`{typed_reply(b, i)}` ({b.label})" for i, b in enumerate(buttons, 1))
    return f"Or type: {choices}"


def text_with_choices(out: OutMessage) -> str:
    """Plain text for a message with buttons, where buttons cannot be shown."""
    return f"{out.text}\n\n{typed_hint(out.buttons)}" if out.buttons else out.text


# -- session webhook bodies (replies to the conversation a message came from) ------------


def webhook_text(text: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": text}}


def webhook_action_card(out: OutMessage) -> dict[str, Any]:
    buttons = out.buttons[:MAX_ACTION_CARD_BUTTONS]
    return {
        "msgtype": "actionCard",
        "actionCard": {
            "title": title_of(out.text),
            "text": _card_markdown(out),
            "btnOrientation": "0",
            "btns": [
                {"title": b.label, "actionURL": send_message_link(typed_reply(b, i))}
                for i, b in enumerate(buttons, 1)
            ],
        },
    }


# -- robot API messages (msgKey, msgParam): proactive DMs and group posts ----------------


def robot_text(text: str) -> tuple[str, dict[str, str]]:
    return "sampleText", {"content": text}


def robot_action_card(out: OutMessage) -> tuple[str, dict[str, str]]:
    title, text, buttons = title_of(out.text), _card_markdown(out), out.buttons
    if len(buttons) == 1:
        return "sampleActionCard", {
            "title": title,
            "text": text,
            "singleTitle": buttons[0].label,
            "singleURL": send_message_link(typed_reply(buttons[0], 1)),
        }
    if len(buttons) > MAX_ACTION_CARD_BUTTONS:  # no template has more: typed replies only
        return "sampleMarkdown", {"title": title, "text": text}
    param = {"title": title, "text": text}
    for i, button in enumerate(buttons, 1):
        param[f"actionTitle{i}"] = button.label
        param[f"actionURL{i}"] = send_message_link(typed_reply(button, i))
    return f"sampleActionCard{len(buttons)}", param


# -- interactive cards (a configured template with request buttons) ---------------------


def card_params(out: OutMessage) -> dict[str, str]:
    """The template's variables; DingTalk wants every value as a string."""
    buttons = [
        {"text": b.label, "action_id": b.action_id, "value": b.value, "color": COLORS[b.style]}
        for b in out.buttons
    ]
    return {
        "title": title_of(out.text),
        "markdown": markdown_of(out.text),
        "buttons": json.dumps(buttons, ensure_ascii=False),
        "tips": typed_hint(out.buttons) if out.buttons else "",
    }


def card_delivery(
    template_id: str, out_track_id: str, robot_code: str, to: Destination, params: dict[str, str]
) -> dict[str, Any]:
    """Body of `/v1.0/card/instances/createAndDeliver`, with button callbacks over Stream."""
    body: dict[str, Any] = {
        "cardTemplateId": template_id,
        "outTrackId": out_track_id,
        "callbackType": "STREAM",
        "cardData": {"cardParamMap": params},
        "userIdType": 1,
    }
    if to.dm_user_id is not None:
        body["openSpaceId"] = f"dtv1.card//IM_ROBOT.{to.dm_user_id}"
        body["imRobotOpenSpaceModel"] = {"supportForward": False}
        body["imRobotOpenDeliverModel"] = {"spaceType": "IM_ROBOT", "robotCode": robot_code}
    else:
        body["openSpaceId"] = f"dtv1.card//IM_GROUP.{to.channel_id}"
        body["imGroupOpenSpaceModel"] = {"supportForward": False}
        body["imGroupOpenDeliverModel"] = {"robotCode": robot_code}
    return body


def card_update(out_track_id: str, out: OutMessage) -> dict[str, Any]:
    """Body of PUT `/v1.0/card/instances`: the card now shows `out`, without old buttons."""
    return {
        "outTrackId": out_track_id,
        "cardData": {"cardParamMap": card_params(out)},
        "cardUpdateOptions": {"updateCardDataByKey": True},
        "userIdType": 1,
    }


def attachment_parts(name: str, content: str) -> list[str]:
    """An attachment as follow-up text messages (DingTalk robots cannot send a .json file)."""
    size = ATTACHMENT_PART_CHARS
    chunks = [content[i : i + size] for i in range(0, len(content), size)] or [""]
    if len(chunks) == 1:
        return [f"{name}\n{chunks[0]}"]
    return [f"{name} (part {i}/{len(chunks)})\n{chunk}" for i, chunk in enumerate(chunks, 1)]


def _card_markdown(out: OutMessage) -> str:
    return f"{markdown_of(out.text)}  \n  \n{typed_hint(out.buttons)}"
