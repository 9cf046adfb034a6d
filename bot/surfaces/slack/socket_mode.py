"""Socket Mode with durable acknowledgement: an Events API envelope is acknowledged over
the websocket only after its event is written to the inbox (`DurableAck.keep`); if the
write fails it is not acknowledged, so Slack sends it again. Everything else (slash
commands, interactivity) goes through Bolt's handler, which acknowledges with its answer."""

from __future__ import annotations

import json
import logging

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.surfaces.slack.inbox import DurableAck

log = logging.getLogger(__name__)


class DurableSocketMode(AsyncSocketModeHandler):
    def __init__(self, app: AsyncApp, app_token: str, durable: DurableAck) -> None:
        super().__init__(app, app_token)
        self.durable = durable

    async def handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        payload = req.payload if isinstance(req.payload, dict) else {}
        if req.type != "events_api" or payload.get("type") != "event_callback":
            await super().handle(client, req)  # type: ignore[arg-type]
            return
        event_id = str(payload.get("event_id") or "")
        try:
            await self.durable.keep(event_id, json.dumps(payload))
        except Exception as exc:  # not kept: not acknowledged, so Slack sends it again
            log.warning("slack: event=%s not kept (%s); not acknowledged", event_id, exc)
            return
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
