"""LARK_DOMAIN: Feishu by default, Lark international or a test server, for every call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.lark.config import (
    FEISHU_DOMAIN,
    LARK_DOMAIN,
    LarkConfig,
    LarkConfigError,
    resolve_domain,
)
from bot.app import Application
from tests.conftest import make_settings
from tests.fakes.lark import FakeLark, lark_settings, message_payload, settle


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeLark, FakeLark]]:
    first, second = FakeLark(), FakeLark()
    await first.start()
    await second.start()
    try:
        yield first, second
    finally:
        await first.stop()
        await second.stop()


async def test_switching_the_domain_moves_every_call_and_the_discovery(
    tmp_path: Path, fakes: tuple[FakeLark, FakeLark]
) -> None:
    unused, chosen = fakes
    app = Application(lark_settings(tmp_path / "data", chosen))
    await app.start(serve_web=False)
    try:
        await chosen.wait_connected()
        await chosen.push(message_payload("ou_alice", "oc_team", "/skill optin"))
        await settle(app)
    finally:
        await app.stop()
    paths = {call.path for call in chosen.calls}
    assert {
        "/open-apis/auth/v3/tenant_access_token/internal",
        "/callback/ws/endpoint",
        "/ws",
        "/open-apis/bot/v3/info",
        "/open-apis/im/v1/messages",
    } <= paths
    assert unused.calls == []


def test_feishu_is_the_default_domain(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, lark_app_id="cli_x", lark_app_secret="s")
    assert LarkConfig.from_settings(settings).domain == FEISHU_DOMAIN


@pytest.mark.parametrize(
    ("typed", "domain"),
    [
        ("lark", LARK_DOMAIN),
        ("feishu", FEISHU_DOMAIN),
        ("https://open.larksuite.com/", LARK_DOMAIN),
    ],
)
def test_domain_names_and_origins_are_accepted(typed: str, domain: str) -> None:
    assert resolve_domain(typed) == domain


@pytest.mark.parametrize(
    "typed", ["http://open.feishu.cn", "https://open.feishu.cn/open-apis", "open.feishu.cn"]
)
def test_an_unusable_domain_says_what_to_set(typed: str) -> None:
    with pytest.raises(LarkConfigError, match="LARK_DOMAIN"):
        resolve_domain(typed)


def test_webhook_mode_needs_the_encrypt_key_and_the_token(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, lark_app_id="cli_x", lark_app_secret="s", lark_mode="webhook"
    )
    with pytest.raises(LarkConfigError, match="LARK_ENCRYPT_KEY and LARK_VERIFICATION_TOKEN"):
        LarkConfig.from_settings(settings)


def test_the_config_never_shows_its_secrets(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        lark_app_id="cli_x",
        lark_app_secret="very-secret",
        lark_encrypt_key="enc-secret",
        lark_verification_token="tok-secret",
    )
    shown = repr(LarkConfig.from_settings(settings))
    assert "very-secret" not in shown and "enc-secret" not in shown and "tok-secret" not in shown
