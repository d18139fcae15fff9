"""OutMessage → Slack message fields: mrkdwn text, Block Kit sections and buttons."""

from __future__ import annotations

from typing import Any

from bot.outbound import Button, ButtonStyle

SECTION_CHARS = 3000  # Block Kit's limit for one section's text
MAX_BLOCKS = 50
BUTTONS_PER_BLOCK = 25
LABEL_CHARS = 75
VALUE_CHARS = 2000
TEXT_CHARS = 40_000  # chat.postMessage truncates longer text


def blocks(text: str, buttons: tuple[Button, ...] = ()) -> list[dict[str, Any]]:
    """Sections holding the text, then the buttons; empty text gets no section."""
    rendered: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": chunk}}
        for chunk in _chunks(text, SECTION_CHARS)
    ]
    rendered.extend(_action_blocks(buttons))
    return rendered[:MAX_BLOCKS]


def fallback_text(text: str) -> str:
    """The notification text Slack shows where blocks cannot be (and in push alerts)."""
    return text[:TEXT_CHARS] if text else " "


def button(spec: Button) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": spec.label[:LABEL_CHARS], "emoji": True},
        "action_id": spec.action_id,
        "value": spec.value[:VALUE_CHARS],
    }
    if spec.style is not ButtonStyle.DEFAULT:
        element["style"] = spec.style.value
    return element


def code_block(name: str, content: str, limit: int = TEXT_CHARS - 200) -> str:
    """A file's content as a message, for when the file cannot be uploaded."""
    body = content.replace("```", "ˋˋˋ")
    if len(body) > limit:
        return (
            f"*{name}* is too large to show here ({len(content)} characters) and could not be "
            "attached as a file. Ask an admin to add the `files:write` scope to the Slack app."
        )
    return f"*{name}*\n```{body}```"


def _action_blocks(buttons: tuple[Button, ...]) -> list[dict[str, Any]]:
    # action_id must be unique within a block: a repeated one starts a new block.
    result: list[dict[str, Any]] = []
    current: list[dict[str, Any]] = []
    for spec in buttons:
        if len(current) == BUTTONS_PER_BLOCK or any(
            element["action_id"] == spec.action_id for element in current
        ):
            result.append({"type": "actions", "elements": current})
            current = []
        current.append(button(spec))
    if current:
        result.append({"type": "actions", "elements": current})
    return result


def _chunks(text: str, size: int) -> list[str]:
    """Split at line breaks where possible, so formatting survives the cut."""
    chunks: list[str] = []
    rest = text.strip("\n")
    while rest:
        if len(rest) <= size:
            chunks.append(rest)
            break
        cut = rest.rfind("\n", 0, size)
        if cut <= 0:
            cut = size
        chunks.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    return chunks
