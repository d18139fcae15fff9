"""The one typed Context every handler receives."""

from __future__ import annotations

from dataclasses import dataclass

from bot.events import ConversationKind, Event
from bot.outbound import Button, Destination, OutMessage, SentRef
from bot.services import Services
from bot.storage.models import Tenant


@dataclass(frozen=True, slots=True)
class Args:
    """The words after the command name, and the raw text after it (for pasted content)."""

    words: tuple[str, ...]
    raw: str = ""

    def first(self) -> str:
        return self.words[0].lower() if self.words else ""

    def rest(self) -> Args:
        parts = self.raw.split(None, 1)
        return Args(words=self.words[1:], raw=parts[1] if len(parts) > 1 else "")


@dataclass(frozen=True, slots=True)
class Context:
    event: Event
    tenant: Tenant
    services: Services

    @property
    def user_id(self) -> str:
        return self.event.actor.id

    @property
    def is_admin(self) -> bool:
        return self.services.settings.is_admin(
            self.event.platform,
            self.event.tenant,
            self.event.actor.id,
            first_workspace=self.services.directory.is_first_workspace(self.tenant),
        )

    @property
    def in_dm(self) -> bool:
        return self.event.conversation.kind is ConversationKind.DM

    async def audit(self, action: str, subject: str | None = None, **detail: object) -> None:
        """Record what the acting person did (content-free: ids, counts, names of things)."""
        await self.services.audit.record(
            self.event.platform, self.event.tenant, action, self.user_id, subject, **detail
        )

    async def reply(self, text: str, buttons: tuple[Button, ...] = ()) -> SentRef | None:
        """Answer where the command was given (in its thread, if any)."""
        conversation = self.event.conversation
        if conversation.kind is ConversationKind.DM:
            return await self.dm(text, buttons)
        to = Destination(
            channel_id=conversation.id,
            thread_id=conversation.thread_id,
            reply_token=conversation.reply_token,
        )
        return await self._send(to, text, buttons)

    async def dm(
        self,
        text: str,
        buttons: tuple[Button, ...] = (),
        *,
        personal: bool = False,
        attachment: tuple[str, str] | None = None,
        replace_ref: str | None = None,
    ) -> SentRef | None:
        """DM the person who acted; `personal` marks text holding their own data."""
        return await self._send(
            Destination(dm_user_id=self.user_id),
            text,
            buttons,
            about_user=self.user_id if personal else None,
            attachment=attachment,
            replace_ref=replace_ref,
        )

    async def dm_user(
        self, user_id: str, text: str, buttons: tuple[Button, ...] = ()
    ) -> SentRef | None:
        """DM someone else (an unprompted consent notice, a revocation receipt)."""
        return await self._send(Destination(dm_user_id=user_id), text, buttons)

    async def post(self, channel_id: str, text: str) -> SentRef | None:
        return await self._send(Destination(channel_id=channel_id), text, ())

    async def _send(
        self,
        to: Destination,
        text: str,
        buttons: tuple[Button, ...],
        *,
        about_user: str | None = None,
        attachment: tuple[str, str] | None = None,
        replace_ref: str | None = None,
    ) -> SentRef | None:
        name, body = attachment if attachment else (None, None)
        out = OutMessage(
            platform=self.event.platform,
            tenant=self.event.tenant,
            to=to,
            text=text,
            buttons=buttons,
            in_reply_to=self.event.id,
            about_user=about_user,
            replace_ref=replace_ref,
            attachment_name=name,
            attachment=body,
        )
        return await self.services.outbox.send(out)
