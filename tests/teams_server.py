"""The Teams bot's aiohttp app on a free port, with a local stand-in for Bot Service's
connector API as every activity's `serviceUrl`: it records the replies the bot posts
(`POST /v3/conversations/{id}/activities[/{replyToId}]`, `PUT .../activities/{id}`)
and serves shared files' download URLs."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.conftest import free_port, wait_until

BOT_ID = "28:learnloop-bot"
TENANT = "tenant-1"
FILE_INFO = "application/vnd.microsoft.teams.file.download.info"
CONVERSATIONS = {
    "personal": "a:1personal-chat",
    "channel": "19:general@thread.tacv2;messageid=1700000000001",
    "groupChat": "19:group@thread.v2",
}


@dataclass
class Sent:
    method: str
    conversation: str
    activity_id: str  # the replyToId of a POST, the edited activity of a PUT
    body: dict[str, Any]

    @property
    def stream(self) -> dict[str, Any]:
        return next((e for e in self.body.get("entities") or [] if e["type"] == "streaminfo"), {})

    @property
    def cards(self) -> list[dict[str, Any]]:
        return [a["content"] for a in self.body.get("attachments") or []]


@dataclass
class Capture:
    sent: list[Sent] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    downloads: list[str] = field(default_factory=list)
    refuse_streaming: bool = False  # answer streaming updates as Teams' Stop button does
    hold_final: asyncio.Event | None = None  # a stream's final message answered once set
    refuse_final: bool = False  # a stream's final message refused (the stream timed out)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3/conversations/{conversation}/activities", self._post)
        app.router.add_post("/v3/conversations/{conversation}/activities/{id}", self._post)
        app.router.add_put("/v3/conversations/{conversation}/activities/{id}", self._put)
        app.router.add_get("/files/{name}", self._file)
        return app

    async def _post(self, request: web.Request) -> web.Response:
        body = await request.json()
        info = next((e for e in body.get("entities") or [] if e["type"] == "streaminfo"), {})
        refused = {"streaming"} if self.refuse_streaming else set()
        refused |= {"final"} if self.refuse_final else set()
        if info.get("streamType") in refused:
            error = {"code": "ContentStreamNotAllowed", "message": "Content stream was cancelled"}
            return web.json_response({"error": error}, status=403)
        self.sent.append(
            Sent("POST", request.match_info["conversation"], request.match_info.get("id", ""), body)
        )
        if self.hold_final is not None and info.get("streamType") == "final":
            await self.hold_final.wait()
        return web.json_response({"id": f"reply-{next(self._ids)}"}, status=201)

    async def _put(self, request: web.Request) -> web.Response:
        activity_id = request.match_info["id"]
        body = await request.json()
        self.sent.append(Sent("PUT", request.match_info["conversation"], activity_id, body))
        return web.json_response({"id": activity_id})

    async def _file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.downloads.append(name)
        if name not in self.files:
            raise web.HTTPNotFound()
        return web.Response(body=self.files[name])

    def wait_for(self, check: Callable[[list[Sent]], Any], what: str, timeout: float = 15) -> Any:
        return wait_until(lambda: check(list(self.sent)), timeout, what, interval=0.02)


class TeamsHarness:
    """Runs the bot app and the capture server on one event loop in a thread."""

    def __init__(self, make_app: Callable[[], web.Application]) -> None:
        self.make_app = make_app
        self.capture = Capture()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.port = free_port()
        self.capture_url = ""
        self._runners: list[web.AppRunner] = []

    def __enter__(self) -> TeamsHarness:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(30)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    async def _start(self) -> None:
        capture = web.AppRunner(self.capture.app())
        await capture.setup()
        site = web.TCPSite(capture, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.capture_url = f"http://127.0.0.1:{port}/"
        bot = web.AppRunner(self.make_app())
        await bot.setup()
        await web.TCPSite(bot, "127.0.0.1", self.port).start()
        self._runners = [bot, capture]

    async def _stop(self) -> None:
        for runner in self._runners:
            await runner.cleanup()

    def run(self, coro: Any, timeout: float = 60) -> Any:
        """Run a coroutine on the bot's loop (e.g. to close a client used there)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def post(
        self, activity: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """POST an activity as Bot Service does; the status and the JSON body, if any."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/messages",
            data=json.dumps(activity).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            return exc.code, None

    def activity(
        self,
        text: str = "",
        *,
        kind: str = "personal",
        user: str = "aad-alice",
        mention: bool = False,
        **extra: Any,
    ) -> dict[str, Any]:
        """A message activity as Teams sends it (channel posts carry the bot's mention)."""
        return message_activity(
            self.capture_url, text, kind=kind, user=user, mention=mention, **extra
        )

    def invoke(
        self,
        data: dict[str, Any],
        *,
        kind: str = "channel",
        user: str = "aad-alice",
        verb: str = "feedback",
    ):
        """An `Action.Execute` press (inputs merged into `data`, as Teams does)."""
        activity = self.activity(kind=kind, user=user)
        activity.update(
            type="invoke",
            name="adaptiveCard/action",
            text=None,
            value={
                "action": {"type": "Action.Execute", "verb": verb, "data": data},
                "trigger": "manual",
            },
        )
        return activity

    def file(self, name: str, *, user: str) -> dict[str, Any]:
        """A file shared in a 1:1 chat, downloadable from the capture server."""
        return self.activity(
            user=user,
            attachments=[
                {
                    "contentType": FILE_INFO,
                    "contentUrl": f"https://contoso.sharepoint.com/personal/{name}",
                    "name": name,
                    "content": {
                        "downloadUrl": f"{self.capture_url}files/{name}",
                        "uniqueId": uuid.uuid4().hex,
                        "fileType": name.rsplit(".", 1)[-1],
                    },
                }
            ],
        )


def message_activity(
    service_url: str,
    text: str = "",
    *,
    kind: str = "personal",
    user: str = "aad-alice",
    mention: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """A message activity as Teams sends it (channel posts carry the bot's mention)."""
    conversation = CONVERSATIONS[kind]
    message_id = conversation.rsplit("=", 1)[-1] if kind == "channel" else uuid.uuid4().hex[:12]
    activity: dict[str, Any] = {
        "type": "message",
        "id": message_id,
        "timestamp": "2026-11-28T20:00:00.000Z",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": f"29:{user}", "name": user.title(), "aadObjectId": user},
        "conversation": {
            "id": conversation,
            "conversationType": kind,
            "tenantId": TENANT,
            "isGroup": kind != "personal",
        },
        "recipient": {"id": BOT_ID, "name": "LearnLoop"},
        "text": text,
        "textFormat": "plain",
        "locale": "en-US",
        "channelData": {"tenant": {"id": TENANT}},
    }
    if mention:
        activity["text"] = f"<at>LearnLoop</at> {text}"
        activity["entities"] = [
            {
                "type": "mention",
                "mentioned": {"id": BOT_ID, "name": "LearnLoop"},
                "text": "<at>LearnLoop</at>",
            }
        ]
    activity.update(extra)
    return activity
