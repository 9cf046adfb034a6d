"""Admins add material by sharing a file with the bot in a direct message."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.conversation import Actor, Place
from bot.domain.errors import UnsupportedUpload
from bot.surfaces.slack.context import PLATFORM, SlackDeps, actor_of, is_direct, place_of, team_of
from bot.surfaces.slack.errors import guarded

log = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=120)


def _shared_ts(file: dict[str, Any], channel: str) -> str:
    """The ts of the message that shared `file` in `channel` (its thread for replies)."""
    for scope in ("private", "public"):
        for share in (file.get("shares") or {}).get(scope, {}).get(channel, []):
            return str(share.get("thread_ts") or share.get("ts") or "")
    return ""


def token_of(context: AsyncBoltContext, client: AsyncWebClient) -> str:
    """The bot token of the workspace the event came from: the installation's in
    multi-workspace mode, SLACK_BOT_TOKEN in single-workspace mode."""
    return context.bot_token or client.token or ""


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def download(file: dict[str, Any], name: str, token: str) -> bytes:
        url = str(file.get("url_private_download") or file.get("url_private") or "")
        if not url:
            raise UnsupportedUpload(f"Slack gave no download link for {name}.")
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with (
                aiohttp.ClientSession(timeout=DOWNLOAD_TIMEOUT) as session,
                session.get(url, headers=headers) as response,
            ):
                if response.status != 200:
                    raise UnsupportedUpload(
                        f"I couldn't download {name} from Slack (HTTP {response.status})."
                    )
                return await response.read()
        except aiohttp.ClientError as exc:
            raise UnsupportedUpload(f"I couldn't download {name} from Slack.") from exc

    async def share(
        client: AsyncWebClient, file: dict[str, Any], actor: Actor, place: Place, token: str
    ) -> None:
        file_id = str(file.get("id", ""))
        if not await deps.once.claim(f"file:{file_id}"):
            return

        async def tell(text: str) -> None:
            await client.chat_postMessage(
                channel=place.channel, thread_ts=place.thread or None, text=text
            )

        async def work() -> None:
            info = file
            nonlocal place
            if not (info.get("name") and "size" in info and info.get("url_private_download")):
                info = (await client.files_info(file=file_id))["file"]
            if not place.thread:  # file_shared names no message: reply under the share
                place = replace(place, thread=_shared_ts(info, place.channel))
            name = str(info.get("name") or file_id)
            uploader = await deps.workspace_admins.vouch(client, actor, deps.chat.admins)
            deps.chat.check_upload(uploader, name, int(info.get("size") or 0))
            data = await download(info, name, token)
            job = await deps.chat.upload(uploader, place, name, data)
            log.info("upload queued job=%s file=%s bytes=%d", job.id, file_id, len(data))
            await tell(
                f"Got *{name}*: it is queued for adding to the material (job `{job.id}`). "
                "I'll post progress and a summary here."
            )

        await guarded(work(), tell, "slack upload")

    @app.event({"type": "message", "subtype": "file_share"})
    async def on_file_share(
        event: dict[str, Any],
        body: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        if not is_direct(event) or event.get("bot_id"):
            return  # files shared in channels are people's business, not uploads
        actor = actor_of(str(event.get("user", "")), team_of(body, event))
        place = place_of(event)
        for file in event.get("files") or []:
            await share(client, file, actor, place, token_of(context, client))

    @app.event("file_shared")
    async def on_file_shared(
        event: dict[str, Any],
        body: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        channel = str(event.get("channel_id", ""))
        if not channel.startswith("D"):
            return
        file_id = str(event.get("file_id") or (event.get("file") or {}).get("id", ""))
        actor = actor_of(str(event.get("user_id", "")), team_of(body, event))
        place = Place(PLATFORM, channel, direct=True)
        await share(client, {"id": file_id}, actor, place, token_of(context, client))
