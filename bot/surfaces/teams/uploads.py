"""An admin's file shared in a 1:1 chat: download it and hand it to the chat service."""

from __future__ import annotations

import logging

import aiohttp

from bot.domain.conversation import Actor, Place
from bot.domain.errors import UnsupportedUpload
from bot.domain.jobs import Job
from bot.services.chat import ChatService
from bot.surfaces.teams.activities import SharedFile

log = logging.getLogger(__name__)
CHUNK = 64 * 1024


async def receive(
    chat: ChatService,
    http: aiohttp.ClientSession,
    actor: Actor,
    place: Place,
    shared: SharedFile,
    download_seconds: float,
) -> Job:
    """Queue the file for ingestion; `NotAllowed` / `UnsupportedUpload` otherwise.

    The service's checks run once the response headers are in and before the body is
    read. Teams' download info carries no size: the Content-Length stands in for it, and
    where there is none the real size is checked by `upload` (the read stops one byte
    past the limit)."""
    if not shared.download_url:
        raise UnsupportedUpload(f"Teams sent no download link for {shared.name}; share it again.")
    try:
        async with http.get(
            shared.download_url, timeout=aiohttp.ClientTimeout(total=download_seconds)
        ) as response:
            declared = response.content_length
            chat.check_upload(actor, shared.name, declared if declared is not None else 1)
            if response.status != 200:
                raise UnsupportedUpload(
                    f"I couldn't download {shared.name} (HTTP {response.status}); "
                    "the link may have expired, so please share it again."
                )
            data = await _read(response, chat.max_upload_bytes + 1)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise UnsupportedUpload(
            f"I couldn't download {shared.name}; please share it again."
        ) from exc
    log.info("teams upload user=%s bytes=%d", actor.user_id, len(data))
    return await chat.upload(actor, place, shared.name, data)


async def _read(response: aiohttp.ClientResponse, cap: int) -> bytes:
    data = bytearray()
    async for chunk in response.content.iter_chunked(CHUNK):
        data.extend(chunk)
        if len(data) >= cap:
            break
    return bytes(data)
