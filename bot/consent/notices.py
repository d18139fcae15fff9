"""Consent notices: versioned texts, English and Simplified Chinese, with their SHA-256.

A notice's version is its words' version plus a digest of the texts as rendered with this
install's terms (retention days, model provider): changing the words, the retention or the
provider is a new version that asks everyone again. Every grant records the SHA-256 of the
exact text shown (carried by the button, not re-rendered at click time), and is in force
only while the notice shown today in its language hashes the same. Each notice says how to
answer it by typing (for clients that show no buttons); replying 同意 / 不同意 in a direct
message answers the notice shown last.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings


class Purpose(StrEnum):
    OBSERVE = "observe"  # learn skills from my messages in observed channels
    MODEL = "model"  # send my redacted messages to the configured model provider
    BACKFILL = "backfill"  # import my past messages from a platform export


LANGUAGES = ("en", "zh")

_TEXTS: dict[Purpose, tuple[str, dict[str, str]]] = {
    Purpose.OBSERVE: (
        "2026-12-02.1",
        {
            "en": (
                "*Apprentice would like to learn from your messages.*\n"
                "Apprentice learns this team's recurring work (weekly reports, code review "
                "standards, meeting memos) so anyone can ask for it with /skill.\n"
                "If you agree, it keeps the text of the messages you write in channels an "
                "admin has marked as observed — nothing else: never your direct messages, "
                "files, images or reactions. E-mail addresses, phone numbers, ID and card "
                "numbers, IP addresses and secrets are removed first; the rest is encrypted "
                "with a key of your own and deleted after {retention} days.\n"
                "Every skill lists the people it learned from. No skill imitates or rates "
                "anyone.\n"
                "Any time: /skill mydata shows what is held, /skill optout stops, "
                "/skill forget erases everything and sends you a receipt.\n"
                "To agree, press Agree or type /skill optin yes. "
                "To say no, press No thanks or type /skill optin no."
            ),
            "zh": (
                "*Apprentice 希望从你的消息中学习。*\n"
                "Apprentice 学习团队的日常工作（周报、代码评审规范、会议纪要），"
                "任何人都可以用 /skill 调用。\n"
                "如果你同意，它只保存你在管理员标记为“观察中”的频道里发送的消息文本，"
                "不会读取你的私聊、文件、图片或表情回应。邮箱、电话号码、身份证号、"
                "银行卡号、IP 地址和密钥会先被删除；其余内容用你专属的密钥加密，"
                "并在 {retention} 天后删除。\n"
                "每个技能都会列出它向谁学习。技能不会模仿或评价任何人。\n"
                "随时可用：/skill mydata 查看保存的数据，/skill optout 停止，"
                "/skill forget 删除全部数据并给你回执。\n"
                "同意请点 Agree，或回复：同意（也可输入 /skill optin yes）。"
                "不同意请点 No thanks，或回复：不同意（也可输入 /skill optin no）。"
            ),
        },
    ),
    Purpose.MODEL: (
        "2026-12-02.1",
        {
            "en": (
                "*Send your messages to a model provider?*\n"
                "This workspace has connected an AI model provider ({provider}) to write "
                "better reports. If you agree, excerpts of your already-consented messages, "
                "with personal data removed, may be sent to that provider, which may be in "
                "another country. If you say no, skills still run on this server only.\n"
                "Withdraw any time with /skill optout model.\n"
                "To agree, press Agree or type /skill optin model yes. "
                "To say no, press No thanks or type /skill optin model no."
            ),
            "zh": (
                "*是否允许把你的消息发送给模型服务商？*\n"
                "本工作区接入了 AI 模型服务（{provider}）以生成更好的报告。如果你同意，"
                "你已同意收集的消息会在删除个人信息后，以摘录形式发送给该服务商，"
                "服务商可能位于境外。如果不同意，技能仍只在本服务器上运行。\n"
                "随时可用 /skill optout model 撤回。\n"
                "同意请点 Agree，或回复：同意（也可输入 /skill optin model yes）。"
                "不同意请点 No thanks，或回复：不同意（也可输入 /skill optin model no）。"
            ),
        },
    ),
    Purpose.BACKFILL: (
        "2026-12-02.1",
        {
            "en": (
                "*Import your past messages?*\n"
                "An admin may import this workspace's message history. If you agree, your "
                "past messages in observed channels (last {retention} days) are treated as "
                "if Apprentice had observed them, with the same redaction, encryption and "
                "rights. Withdraw any time with /skill optout history.\n"
                "To agree, press Agree or type /skill optin history yes. "
                "To say no, press No thanks or type /skill optin history no."
            ),
            "zh": (
                "*导入你过去的消息？*\n"
                "管理员可能会导入本工作区的历史消息。如果你同意，你在观察频道中过去 "
                "{retention} 天的消息将按同样的脱敏、加密和权利规则保存。"
                "随时可用 /skill optout history 撤回。\n"
                "同意请点 Agree，或回复：同意（也可输入 /skill optin history yes）。"
                "不同意请点 No thanks，或回复：不同意（也可输入 /skill optin history no）。"
            ),
        },
    ),
}

PURPOSE_WORDS = {"": Purpose.OBSERVE, "model": Purpose.MODEL, "history": Purpose.BACKFILL}


@dataclass(frozen=True, slots=True)
class Notice:
    purpose: Purpose
    version: str
    language: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Terms:
    """What a notice says besides its fixed words: how long text is kept, who gets it."""

    retention_days: int
    provider: str = ""

    @classmethod
    def of(cls, settings: Settings) -> Terms:
        provider = settings.openai_base_url or ("OpenAI" if settings.openai_api_key else "")
        return cls(retention_days=settings.retention_days, provider=provider)


def current_version(purpose: Purpose) -> str:
    """The version of the words alone; `notice_version` is the one grants are held to."""
    return _TEXTS[purpose][0]


def notice_version(purpose: Purpose, terms: Terms) -> str:
    """The words' version plus a digest of every language's text rendered with `terms`."""
    version, texts = _TEXTS[purpose]
    rendered = "\x00".join(_render(texts[language], terms) for language in LANGUAGES)
    return f"{version}+{hashlib.sha256(rendered.encode()).hexdigest()[:12]}"


def _render(text: str, terms: Terms) -> str:
    return text.format(retention=terms.retention_days, provider=terms.provider or "-")


def pick_language(locale: str | None, default: str) -> str:
    """`zh`, `zh-CN`, `zh_Hans` → zh; anything else we have → itself; else the default."""
    for candidate in (locale, default):
        if candidate:
            short = candidate.replace("_", "-").split("-")[0].lower()
            if short in LANGUAGES:
                return short
    return "en"


def notice(purpose: Purpose, language: str, *, retention_days: int, provider: str = "") -> Notice:
    terms = Terms(retention_days, provider)
    text = _render(_TEXTS[purpose][1][language], terms)
    return Notice(
        purpose=purpose, version=notice_version(purpose, terms), language=language, text=text
    )


def notice_with(purpose: Purpose, language: str, terms: Terms) -> Notice:
    return notice(purpose, language, retention_days=terms.retention_days, provider=terms.provider)
