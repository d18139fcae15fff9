"""Lark settings, checked once: the domain (Feishu, Lark or a test server) and the mode."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bot.settings import Settings

FEISHU_DOMAIN = "https://open.feishu.cn"
LARK_DOMAIN = "https://open.larksuite.com"
DOMAIN_ALIASES = {"feishu": FEISHU_DOMAIN, "lark": LARK_DOMAIN, "larksuite": LARK_DOMAIN}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class LarkConfigError(ValueError):
    """A Lark setting is wrong; the message says which and what to set instead."""


@dataclass(frozen=True, slots=True)
class LarkConfig:
    app_id: str
    app_secret: str = field(repr=False)
    domain: str = FEISHU_DOMAIN
    mode: str = "ws"
    encrypt_key: str = field(default="", repr=False)
    verification_token: str = field(default="", repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> LarkConfig:
        if not settings.lark_app_id or settings.lark_app_secret is None:
            raise LarkConfigError(
                "Set LARK_APP_ID and LARK_APP_SECRET to the app's credentials "
                "(developer console → Credentials & Basic Info)."
            )
        config = cls(
            app_id=settings.lark_app_id,
            app_secret=settings.lark_app_secret.get_secret_value(),
            domain=resolve_domain(settings.lark_domain),
            mode=settings.lark_mode,
            encrypt_key=_secret(settings.lark_encrypt_key),
            verification_token=_secret(settings.lark_verification_token),
        )
        if config.mode == "webhook" and not (config.encrypt_key and config.verification_token):
            raise LarkConfigError(
                "LARK_MODE=webhook needs LARK_ENCRYPT_KEY and LARK_VERIFICATION_TOKEN (developer "
                "console → Events & Callbacks → Encryption Strategy), so forged requests are "
                "refused; or use LARK_MODE=ws, which needs no public URL."
            )
        return config


def resolve_domain(value: str) -> str:
    """`feishu`, `lark` or an origin such as `https://open.feishu.cn` → the API origin."""
    domain = DOMAIN_ALIASES.get(value.strip().lower(), value.strip()).rstrip("/")
    parts = urlsplit(domain)
    loopback = parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS
    if not (parts.scheme == "https" or loopback) or not parts.hostname:
        raise LarkConfigError(
            f"LARK_DOMAIN={value!r} is not usable: set it to `feishu` ({FEISHU_DOMAIN}), "
            f"`lark` ({LARK_DOMAIN}) or an https origin (http only for 127.0.0.1)."
        )
    if parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        raise LarkConfigError(
            f"LARK_DOMAIN={value!r} must be an origin only, such as {FEISHU_DOMAIN} "
            "(no path, query or credentials)."
        )
    return domain


def _secret(value: object) -> str:
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if getter else ""
