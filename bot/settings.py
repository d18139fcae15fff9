"""Settings: environment variables (the platforms' usual names) and an optional TOML file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _env(*names: str) -> Any:
    """Accept an environment variable under its usual name, or the field name in TOML."""
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Everything Apprentice can be configured with; see README 'Configuration'."""

    model_config = SettingsConfigDict(
        populate_by_name=True, extra="ignore", case_sensitive=False, env_file=None
    )

    data_dir: Path = Field(Path("./data"), validation_alias=_env("APPRENTICE_DATA_DIR", "data_dir"))
    database_url: str | None = Field(None, validation_alias=_env("DATABASE_URL", "database_url"))
    master_key: SecretStr | None = Field(
        None, validation_alias=_env("APPRENTICE_MASTER_KEY", "master_key")
    )
    web_host: str = Field("127.0.0.1", validation_alias=_env("APPRENTICE_WEB_HOST", "web_host"))
    web_port: int = Field(8765, validation_alias=_env("APPRENTICE_WEB_PORT", "web_port"))
    # For scripts reading the admin pages (Authorization: Bearer); people sign in from chat.
    admin_token: SecretStr | None = Field(
        None, validation_alias=_env("APPRENTICE_ADMIN_TOKEN", "admin_token")
    )
    # Where people reach the web pages (the sign-in links in chat point here), e.g.
    # https://apprentice.example.com behind a TLS proxy. Unset: http://WEB_HOST:WEB_PORT.
    public_url: str | None = Field(
        None, validation_alias=_env("APPRENTICE_PUBLIC_URL", "public_url")
    )
    admins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["console:admin"],
        validation_alias=_env("APPRENTICE_ADMINS", "admins"),
    )
    demo: bool | None = Field(None, validation_alias=_env("APPRENTICE_DEMO", "demo"))
    # Unset: the console runs when the web server listens on loopback only. Anyone who can
    # reach the console can act as any console user, so it is never exposed by default.
    console: bool | None = Field(None, validation_alias=_env("APPRENTICE_CONSOLE", "console"))
    locale: str = Field("en", validation_alias=_env("APPRENTICE_LOCALE", "locale"))
    # Signed audit checkpoints (README "Audit log"); unset: audit-checkpoints.jsonl in data_dir.
    audit_checkpoint_file: Path | None = Field(
        None, validation_alias=_env("APPRENTICE_AUDIT_CHECKPOINT_FILE", "audit_checkpoint_file")
    )
    audit_checkpoint_every: int = Field(
        100,
        ge=0,
        validation_alias=_env("APPRENTICE_AUDIT_CHECKPOINT_EVERY", "audit_checkpoint_every"),
    )
    retention_days: int = Field(
        90, ge=1, validation_alias=_env("APPRENTICE_RETENTION_DAYS", "retention_days")
    )
    bus_workers: int = Field(
        4, ge=1, validation_alias=_env("APPRENTICE_BUS_WORKERS", "bus_workers")
    )
    bus_queue_size: int = Field(
        1000, ge=1, validation_alias=_env("APPRENTICE_BUS_QUEUE_SIZE", "bus_queue_size")
    )
    # "redis": Redis Streams, shared by several worker processes (README "Several workers").
    bus: Literal["memory", "redis"] = Field(
        "memory", validation_alias=_env("APPRENTICE_BUS", "bus")
    )
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0", validation_alias=_env("REDIS_URL", "redis_url")
    )
    # Several installations can share one Redis: each needs a prefix of its own.
    bus_prefix: str | None = Field(
        None, validation_alias=_env("APPRENTICE_BUS_PREFIX", "bus_prefix")
    )
    # How soon a dead worker's shards move to the live ones.
    bus_lease_seconds: float = Field(
        5.0, gt=0, validation_alias=_env("APPRENTICE_BUS_LEASE_SECONDS", "bus_lease_seconds")
    )
    bus_max_deliveries: int = Field(
        5, ge=1, validation_alias=_env("APPRENTICE_BUS_MAX_DELIVERIES", "bus_max_deliveries")
    )
    handler_timeout: float = Field(
        30.0, gt=0, validation_alias=_env("APPRENTICE_HANDLER_TIMEOUT", "handler_timeout")
    )
    log_level: str = Field("INFO", validation_alias=_env("APPRENTICE_LOG_LEVEL", "log_level"))
    log_format: Literal["console", "json"] = Field(
        "console", validation_alias=_env("APPRENTICE_LOG_FORMAT", "log_format")
    )

    slack_bot_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_BOT_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=_env("SLACK_SIGNING_SECRET")
    )
    slack_app_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_APP_TOKEN"))
    slack_api_url: str = Field("https://slack.com/api/", validation_alias=_env("SLACK_API_URL"))

    lark_app_id: str | None = Field(None, validation_alias=_env("LARK_APP_ID"))
    lark_app_secret: SecretStr | None = Field(None, validation_alias=_env("LARK_APP_SECRET"))
    lark_encrypt_key: SecretStr | None = Field(None, validation_alias=_env("LARK_ENCRYPT_KEY"))
    lark_verification_token: SecretStr | None = Field(
        None, validation_alias=_env("LARK_VERIFICATION_TOKEN")
    )
    lark_domain: str = Field("https://open.feishu.cn", validation_alias=_env("LARK_DOMAIN"))
    lark_mode: Literal["ws", "webhook"] = Field("ws", validation_alias=_env("LARK_MODE"))

    dingtalk_client_id: str | None = Field(None, validation_alias=_env("DINGTALK_CLIENT_ID"))
    dingtalk_client_secret: SecretStr | None = Field(
        None, validation_alias=_env("DINGTALK_CLIENT_SECRET")
    )
    dingtalk_openapi_endpoint: str = Field(
        "https://api.dingtalk.com", validation_alias=_env("DINGTALK_OPENAPI_ENDPOINT")
    )
    # An interactive-card template with request buttons (README "DingTalk"); unset: ActionCards.
    dingtalk_card_template_id: str | None = Field(
        None, validation_alias=_env("DINGTALK_CARD_TEMPLATE_ID")
    )

    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=_env("OPENAI_BASE_URL"))
    openai_model: str = Field(
        "gpt-4o-mini", validation_alias=_env("APPRENTICE_OPENAI_MODEL", "openai_model")
    )
    openai_timeout: float = Field(
        20.0, gt=0, validation_alias=_env("APPRENTICE_OPENAI_TIMEOUT", "openai_timeout")
    )
    openai_max_tokens: int = Field(
        800, gt=0, validation_alias=_env("APPRENTICE_OPENAI_MAX_TOKENS", "openai_max_tokens")
    )
    schedule_timezone: str = Field(
        "UTC", validation_alias=_env("APPRENTICE_TIMEZONE", "schedule_timezone")
    )

    @field_validator("admins", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("admins")
    @classmethod
    def _admins_name_a_platform(cls, value: list[str]) -> list[str]:
        for item in value:
            if not 1 <= item.count(":") <= 2 or "" in item.split(":"):
                raise ValueError(
                    f"admin {item!r} must be written platform:workspace:user_id, e.g. "
                    "slack:T012AB:U012ABCDEF (the Slack team, Lark tenant_key or DingTalk corpId)"
                )
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("APPRENTICE_CONFIG", "apprentice.toml"))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )

    # -- derived values ---------------------------------------------------------------

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "apprentice.db"

    @property
    def db_url(self) -> str:
        """The database URL in tortoise-orm's form."""
        url = self.database_url or f"sqlite://{self.sqlite_path}"
        if url.startswith("postgresql://"):
            url = "postgres://" + url.removeprefix("postgresql://")
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite://")

    @property
    def key_file(self) -> Path:
        return self.data_dir / "master.key"

    @property
    def checkpoint_file(self) -> Path:
        return self.audit_checkpoint_file or self.data_dir / "audit-checkpoints.jsonl"

    @property
    def console_enabled(self) -> bool:
        if self.console is not None:
            return self.console
        return self.web_host in ("127.0.0.1", "localhost", "::1")

    @property
    def demo_enabled(self) -> bool:
        return self.console_enabled if self.demo is None else self.demo

    def is_admin(
        self, platform: str, tenant: str, user_id: str, *, first_workspace: bool = False
    ) -> bool:
        """`platform:tenant:user_id` is admin in that workspace only.

        The older `platform:user_id` (no workspace) counts only in the platform's first
        workspace (`first_workspace`): on a single-workspace install, that one. User ids
        are per workspace (DingTalk staff ids are per corp), so the same id elsewhere is
        someone else.
        """
        if f"{platform}:{tenant}:{user_id}" in self.admins:
            return True
        return first_workspace and f"{platform}:{user_id}" in self.admins

    def admins_without_workspace(self) -> list[str]:
        """`platform:user_id` entries (the console has one workspace: not listed)."""
        return [a for a in self.admins if a.count(":") == 1 and not a.startswith("console:")]

    def enabled_adapters(self) -> list[str]:
        """Adapters whose credentials are present, in start order."""
        names = []
        if self.console_enabled:
            names.append("console")
        if self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token):
            names.append("slack")
        if self.lark_app_id and self.lark_app_secret:
            names.append("lark")
        if self.dingtalk_client_id and self.dingtalk_client_secret:
            names.append("dingtalk")
        return names

    def masked(self) -> dict[str, str]:
        """Effective settings for display, secrets shown only as set/unset."""
        shown: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                shown[name] = "****** (set)"
            elif value is None:
                shown[name] = "(unset)"
            elif name in ("database_url", "redis_url"):
                shown[name] = _mask_url_password(str(value))
            elif isinstance(value, list):
                shown[name] = ",".join(value)
            else:
                shown[name] = str(value)
        return shown


def _mask_url_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not at or ":" not in creds:
        return url
    user = creds.split(":", 1)[0]
    return f"{scheme}{sep}{user}:******@{host}"
