"""👍 / 👎 / "Suggest a correction" on an answer, and the correction modal."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.surfaces.slack.context import SlackDeps, actor_of, team_of
from bot.surfaces.slack.errors import Tell, guarded
from bot.surfaces.slack.render import (
    CORRECT,
    CORRECTION_BLOCK,
    CORRECTION_INPUT,
    CORRECTION_VIEW,
    DOWN,
    UP,
    correction_modal,
)

Payload = dict[str, Any]

THANKS = {
    "up": "Thanks for the 👍, noted.",
    "down": "Thanks for the 👎, noted: it helps me improve.",
    "correction": "Thanks for the correction: an admin will review it.",
}


def _where(body: dict[str, Any]) -> dict[str, str]:
    """The channel and thread of the message whose button was clicked."""
    message = body.get("message") or {}
    container = body.get("container") or {}
    return {
        "channel": str((body.get("channel") or {}).get("id") or container.get("channel_id", "")),
        "thread": str(
            message.get("thread_ts") or container.get("thread_ts") or message.get("ts") or ""
        ),
    }


def register(app: AsyncApp, deps: SlackDeps) -> None:
    def teller(client: AsyncWebClient, user: str, where: dict[str, str]) -> Tell:
        async def tell(text: str) -> None:
            if not where.get("channel"):
                return  # a modal opened from nowhere: nothing to reply to
            await client.chat_postEphemeral(
                channel=where["channel"],
                user=user,
                thread_ts=where.get("thread") or None,
                text=text,
            )

        return tell

    async def rate(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        rating: str,
    ) -> None:
        await ack()
        user = str(body["user"]["id"])
        actor = actor_of(user, team_of(body))
        tell = teller(client, user, _where(body))

        async def work() -> None:
            await deps.chat.feedback(actor, str(action.get("value", "")), rating)
            await tell(THANKS[rating])

        await guarded(work(), tell, f"slack feedback {rating}")

    @app.action(UP)
    async def on_up(ack: AsyncAck, body: Payload, action: Payload, client: AsyncWebClient) -> None:
        await rate(ack, body, action, client, "up")

    @app.action(DOWN)
    async def on_down(
        ack: AsyncAck, body: Payload, action: Payload, client: AsyncWebClient
    ) -> None:
        await rate(ack, body, action, client, "down")

    @app.action(CORRECT)
    async def on_correct(
        ack: AsyncAck, body: Payload, action: Payload, client: AsyncWebClient
    ) -> None:
        await ack()
        user = str(body["user"]["id"])
        where = _where(body)
        metadata = json.dumps({"answer": str(action.get("value", "")), **where})

        async def work() -> None:
            await client.views_open(trigger_id=body["trigger_id"], view=correction_modal(metadata))

        await guarded(work(), teller(client, user, where), "slack correction modal")

    @app.view(CORRECTION_VIEW)
    async def on_correction(
        ack: AsyncAck, body: Payload, view: Payload, client: AsyncWebClient
    ) -> None:
        await ack()
        user = str(body["user"]["id"])
        meta = json.loads(view.get("private_metadata") or "{}")
        values = view.get("state", {}).get("values", {})
        text = str(values.get(CORRECTION_BLOCK, {}).get(CORRECTION_INPUT, {}).get("value") or "")
        tell = teller(client, user, meta)

        async def work() -> None:
            actor = actor_of(user, team_of(body))
            await deps.chat.feedback(actor, str(meta.get("answer", "")), "correction", text)
            await tell(THANKS["correction"])

        await guarded(work(), tell, "slack correction")
