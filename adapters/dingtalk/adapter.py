"""The DingTalk adapter: Stream mode in, session webhooks and robot APIs out."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections import OrderedDict
from types import ModuleType
from typing import TYPE_CHECKING, Any

import structlog

from adapters.base import Capabilities, ChannelInfo, Emit, SendError
from adapters.dingtalk import render
from adapters.dingtalk.conversations import (
    GroupDirectory,
    SessionWebhooks,
    WebhookKey,
    dm_key,
    group_key,
)
from adapters.dingtalk.normalize import PLATFORM, ChatMessage, card_action, chat_message
from adapters.dingtalk.openapi import OpenApi, WebhookGone
from adapters.dingtalk.replies import PendingButtons
from bot.events import ConversationKind, Event
from bot.logging import where
from bot.outbound import Destination, OutMessage, SentRef
from bot.settings import Settings

if TYPE_CHECKING:  # the module itself loads the SDK, so only in run()
    from adapters.dingtalk.stream import StreamConnection

log = structlog.get_logger(__name__)

BATCH_SEND = "/v1.0/robot/oToMessages/batchSend"
GROUP_SEND = "/v1.0/robot/groupMessages/send"
CARD_CREATE = "/v1.0/card/instances/createAndDeliver"
CARD_UPDATE = "/v1.0/card/instances"
INBOX_SIZE = 1000  # acked events waiting for the bus; when full, the next ack waits (backpressure)
REMEMBERED_IDS = 20_000  # DingTalk redelivers within minutes
REMEMBERED_CARDS = 10_000
ENDPOINT_VARIABLE = "DINGTALK_OPENAPI_ENDPOINT"


class DingTalkAdapter:
    name = PLATFORM

    def __init__(self, settings: Settings) -> None:
        if not settings.dingtalk_client_id or settings.dingtalk_client_secret is None:
            raise ValueError("set DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET")
        self._client_id = settings.dingtalk_client_id
        self._client_secret = settings.dingtalk_client_secret.get_secret_value()
        self._endpoint = settings.dingtalk_openapi_endpoint.rstrip("/")
        self._card_template = settings.dingtalk_card_template_id or None
        self.capabilities = Capabilities(
            buttons=True, threads=False, ephemeral=False, edit=self._card_template is not None
        )
        self._robot_code = self._client_id  # an internal app's robot code is its Client ID
        self._api = OpenApi(self._endpoint, self._client_id, self._client_secret)
        self._webhooks = SessionWebhooks()
        self._groups = GroupDirectory()
        self._pending = PendingButtons()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._cards: OrderedDict[str, None] = OrderedDict()
        self._inbox: asyncio.Queue[Event] = asyncio.Queue(maxsize=INBOX_SIZE)
        self._stream: StreamConnection | None = None

    # -- Adapter protocol --------------------------------------------------------------

    async def run(self, emit: Emit) -> None:
        stream = load_stream(self._endpoint)
        self._stream = stream.StreamConnection(
            self._client_id, self._client_secret, on_chat=self._on_chat, on_card=self._on_card
        )
        forwarder = asyncio.create_task(self._forward(emit), name="dingtalk-forward")
        try:
            await self._stream.run()
        finally:
            forwarder.cancel()
            await asyncio.gather(forwarder, return_exceptions=True)

    async def send(self, out: OutMessage) -> SentRef:
        if out.replace_ref is not None and out.replace_ref in self._cards:
            await self._api.call("PUT", CARD_UPDATE, render.card_update(out.replace_ref, out))
            return SentRef(PLATFORM, out.replace_ref, out.to.channel_id)
        sent = await self._send_card(out) if out.buttons and self._card_template else None
        if sent is None:
            body = render.webhook_action_card(out) if out.buttons else render.webhook_text(out.text)
            robot = render.robot_action_card(out) if out.buttons else render.robot_text(out.text)
            sent = await self._deliver(out.tenant, out.to, body, robot)
        if out.buttons and out.to.dm_user_id is not None:
            self._pending.remember(out.tenant, out.to.dm_user_id, out.buttons, sent.message_id)
        if out.attachment_name and out.attachment is not None:
            for part in render.attachment_parts(out.attachment_name, out.attachment):
                await self._deliver(
                    out.tenant, out.to, render.webhook_text(part), render.robot_text(part)
                )
        return sent

    async def find_channel(self, tenant: str, ref: str) -> ChannelInfo | None:
        group = self._groups.find(tenant, ref)
        return ChannelInfo(id=group.id, name=group.title or group.id) if group else None

    async def aclose(self) -> None:
        if self._stream is not None:
            await self._stream.close()
        await self._api.aclose()

    # -- receiving: called by the Stream handlers before they ack ------------------------

    async def _on_chat(self, data: dict[str, Any]) -> None:
        message = chat_message(data)
        if message is None:
            log.debug("dingtalk.message_skipped", msgtype=str(data.get("msgtype"))[:32])
            return
        if not self._first_time(f"msg:{message.event.id}"):
            log.info("dingtalk.duplicate", msg_id=message.event.id)
            return
        self._learn(message)
        await self._inbox.put(self._pending.resolve(message.event))

    async def _on_card(self, data: dict[str, Any], frame_id: str) -> None:
        event = card_action(data, frame_id)
        if event is None:
            log.debug("dingtalk.card_callback_skipped")
            return
        if not self._first_time(f"frame:{frame_id}"):
            log.info("dingtalk.duplicate", frame_id=frame_id)
            return
        await self._inbox.put(event)

    async def _forward(self, emit: Emit) -> None:
        """Hand acked events to the bus in arrival order; do not wait for their handling."""
        while True:
            event = await self._inbox.get()
            try:
                await emit(event)
            except Exception as exc:  # one bad event must not stop the others
                log.error(
                    "dingtalk.emit_failed",
                    event_id=event.id,
                    error=type(exc).__name__,
                    where=where(exc),
                )

    def _first_time(self, key: str) -> bool:
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > REMEMBERED_IDS:
            self._seen.popitem(last=False)
        return True

    def _learn(self, message: ChatMessage) -> None:
        event = message.event
        in_group = event.conversation.kind is ConversationKind.CHANNEL
        if in_group:
            self._groups.seen(event.tenant, event.conversation.id, message.group_title)
        if message.session_webhook and message.webhook_expires_at:
            key = (
                group_key(event.tenant, event.conversation.id)
                if in_group
                else dm_key(event.tenant, event.actor.id)
            )
            self._webhooks.remember(key, message.session_webhook, message.webhook_expires_at)

    # -- sending -----------------------------------------------------------------------

    async def _deliver(
        self,
        tenant: str,
        to: Destination,
        webhook_body: dict[str, Any],
        robot_message: tuple[str, dict[str, str]],
    ) -> SentRef:
        """Through the conversation's live session webhook, else the robot API."""
        key = self._webhook_key(tenant, to)
        url = self._webhooks.live(key)
        if url is not None:
            try:
                await self._api.post_webhook(url, webhook_body)
                return SentRef(PLATFORM, uuid.uuid4().hex, to.channel_id)
            except WebhookGone as gone:
                self._webhooks.forget(key)
                log.info("dingtalk.webhook_gone", detail=str(gone))
        msg_key, msg_param = robot_message
        common = {
            "robotCode": self._robot_code,
            "msgKey": msg_key,
            "msgParam": json.dumps(msg_param, ensure_ascii=False),
        }
        if to.dm_user_id is not None:
            answer = await self._api.call(
                "POST", BATCH_SEND, {**common, "userIds": [to.dm_user_id]}
            )
            _check_batch(answer, to.dm_user_id)
        else:
            answer = await self._api.call(
                "POST", GROUP_SEND, {**common, "openConversationId": to.channel_id}
            )
        ref = answer.get("processQueryKey")
        return SentRef(PLATFORM, ref if isinstance(ref, str) else uuid.uuid4().hex, to.channel_id)

    async def _send_card(self, out: OutMessage) -> SentRef | None:
        """An interactive card; None (fall back to an ActionCard) when DingTalk refuses it."""
        assert self._card_template is not None
        out_track_id = uuid.uuid4().hex
        body = render.card_delivery(
            self._card_template, out_track_id, self._robot_code, out.to, render.card_params(out)
        )
        try:
            await self._api.call("POST", CARD_CREATE, body)
        except SendError as exc:
            if exc.retry_after is not None:
                raise
            log.warning("dingtalk.card_refused", reason=str(exc), fallback="action_card")
            return None
        self._cards[out_track_id] = None
        if len(self._cards) > REMEMBERED_CARDS:
            self._cards.popitem(last=False)
        return SentRef(PLATFORM, out_track_id, out.to.channel_id)

    @staticmethod
    def _webhook_key(tenant: str, to: Destination) -> WebhookKey:
        if to.dm_user_id is not None:
            return dm_key(tenant, to.dm_user_id)
        return group_key(tenant, str(to.channel_id))


def _check_batch(answer: dict[str, Any], user_id: str) -> None:
    if user_id in (answer.get("flowControlledStaffIdList") or []):
        raise SendError("DingTalk throttled messages to this person", retry_after=1.0)
    if user_id in (answer.get("invalidStaffIdList") or []):
        raise SendError(
            f"DingTalk does not know user {user_id} in this organization: people outside it "
            "cannot get direct messages from the robot"
        )


def load_stream(endpoint: str) -> ModuleType:
    """Import dingtalk-stream (through our Stream module) pointed at `endpoint`.

    The SDK reads DINGTALK_OPENAPI_ENDPOINT once, when first imported, so the variable is
    set around that import (and put back after, so nothing else sees a changed environment);
    if the SDK was imported earlier with another endpoint, it is re-pointed.
    """
    previous = os.environ.get(ENDPOINT_VARIABLE)
    os.environ[ENDPOINT_VARIABLE] = endpoint
    try:
        from adapters.dingtalk import stream  # noqa: PLC0415 - the SDK must see the endpoint
    finally:
        if previous is None:
            os.environ.pop(ENDPOINT_VARIABLE, None)
        else:
            os.environ[ENDPOINT_VARIABLE] = previous
    stream.point_sdk_at(endpoint)
    return stream
