"""OutMessages → DingTalk bodies, and what the adapter remembers about conversations (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

from adapters.dingtalk import render
from adapters.dingtalk.conversations import GroupDirectory, SessionWebhooks, dm_key
from bot.commands.consent import consent_buttons
from bot.consent.notices import Purpose
from bot.outbound import Button, Destination, OutMessage

NOTICE = "*Apprentice would like to learn from your messages.*\nIf you agree, it keeps…"


def notice(to: Destination | None = None, buttons: tuple[Button, ...] | None = None) -> OutMessage:
    return OutMessage(
        platform="dingtalk",
        tenant="dingcorp0001",
        to=to or Destination(dm_user_id="alice001"),
        text=NOTICE,
        buttons=consent_buttons(Purpose.OBSERVE, ["*"]) if buttons is None else buttons,
    )


def link_text(url: str) -> str:
    assert url.startswith(render.SEND_MESSAGE_LINK)
    return unquote(url.removeprefix(render.SEND_MESSAGE_LINK))


def test_action_card_buttons_send_the_typed_replies() -> None:
    card = render.webhook_action_card(notice())["actionCard"]
    assert [(b["title"], link_text(b["actionURL"])) for b in card["btns"]] == [
        ("Agree", "/skill optin yes"),
        ("No thanks", "/skill optin no"),
    ]


def test_action_card_text_is_markdown_and_names_the_typed_replies() -> None:
    card = render.webhook_action_card(notice())["actionCard"]
    assert card["title"] == "Apprentice would like to learn from your messages."
    assert card["text"].startswith("**Apprentice would like")
    assert "`/skill optin no` (No thanks)" in card["text"]


def test_robot_action_card_picks_the_template_for_two_buttons() -> None:
    key, param = render.robot_action_card(notice())
    assert key == "sampleActionCard2"
    assert param["actionTitle1"] == "Agree" and link_text(param["actionURL2"]) == "/skill optin no"


def test_robot_action_card_with_one_button_uses_single_url() -> None:
    key, param = render.robot_action_card(notice(buttons=(Button("Publish", "skill.publish"),)))
    assert key == "sampleActionCard" and link_text(param["singleURL"]) == "/skill choose 1"


def test_more_buttons_than_a_card_holds_fall_back_to_typed_replies() -> None:
    buttons = tuple(Button(f"B{i}", f"b.{i}") for i in range(6))
    key, param = render.robot_action_card(notice(buttons=buttons))
    assert key == "sampleMarkdown" and "`/skill choose 6` (B5)" in param["text"]


def test_interactive_card_carries_each_buttons_action_id_and_value() -> None:
    out = notice()
    params = render.card_params(out)
    assert all(isinstance(value, str) for value in params.values())
    buttons = json.loads(params["buttons"])
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        (b.action_id, b.value) for b in out.buttons
    ]


def test_card_goes_to_the_robot_chat_of_a_person_or_to_a_group() -> None:
    to_person = render.card_delivery("tpl", "t1", "robot", Destination(dm_user_id="alice001"), {})
    to_group = render.card_delivery("tpl", "t2", "robot", Destination(channel_id="cid1"), {})
    assert to_person["openSpaceId"] == "dtv1.card//IM_ROBOT.alice001"
    assert to_group["openSpaceId"] == "dtv1.card//IM_GROUP.cid1"
    assert to_group["imGroupOpenDeliverModel"] == {"robotCode": "robot"}


def test_long_attachment_is_sent_in_numbered_parts() -> None:
    content = "x" * (render.ATTACHMENT_PART_CHARS * 2 + 1)
    parts = render.attachment_parts("mydata.json", content)
    assert [p.split("\n", 1)[0] for p in parts] == [
        "mydata.json (part 1/3)",
        "mydata.json (part 2/3)",
        "mydata.json (part 3/3)",
    ]
    assert "".join(p.split("\n", 1)[1] for p in parts) == content


def test_session_webhook_is_not_used_in_its_last_minute() -> None:
    webhooks = SessionWebhooks()
    now = datetime.now(UTC)
    webhooks.remember(dm_key("corp", "alice"), "https://hook", now + timedelta(seconds=30))
    assert webhooks.live(dm_key("corp", "alice"), now) is None


def test_session_webhook_is_used_while_it_lives() -> None:
    webhooks = SessionWebhooks()
    now = datetime.now(UTC)
    webhooks.remember(dm_key("corp", "alice"), "https://hook", now + timedelta(minutes=30))
    assert webhooks.live(dm_key("corp", "alice"), now) == "https://hook"


def test_groups_are_found_by_title_ignoring_case_and_spaces() -> None:
    groups = GroupDirectory()
    groups.seen("corp", "cid1", "Team Alpha")
    found = groups.find("corp", "teamalpha")
    assert found is not None and found.id == "cid1"
    assert groups.find("other-corp", "teamalpha") is None
