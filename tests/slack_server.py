"""A local stand-in for Slack: the Web API methods the app calls, file downloads and
response URLs, recording every request; plus real signed requests to the app."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import ClientSession, web
from slack_sdk.signature import SignatureVerifier

BOT_USER, BOT_ID, TEAM = "UBOT", "BBOT", "T1"
# test credentials, known to the fake Slack and the app under test only
SECRET = "test-signing-secret"  # noqa: S105
TOKEN = "xoxb-test-token"  # noqa: S105


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    result: dict[str, Any] = field(default_factory=dict)  # what the fake answered


@dataclass
class FakeSlack:
    """Answers Slack's Web API on a free port; `calls` is what the app sent."""

    calls: list[Call] = field(default_factory=list)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    downloads: dict[str, bytes] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)  # file id -> bytes posted
    refuse: set[str] = field(default_factory=set)  # methods answered ok=false
    hold: dict[str, asyncio.Event] = field(default_factory=dict)  # answered once set
    timezones: dict[str, str] = field(default_factory=dict)  # users.info tz per user
    admins: set[str] = field(default_factory=set)  # users.info is_admin
    owners: set[str] = field(default_factory=set)  # users.info is_owner
    # bot token -> its workspace (auth.test answers for it; downloads accept it)
    tokens: dict[str, str] = field(default_factory=lambda: {TOKEN: TEAM})
    # OAuth codes oauth.v2.access exchanges: code -> the workspace installing the app
    grants: dict[str, str] = field(default_factory=dict)
    dms: dict[str, str] = field(default_factory=lambda: {"U1": "D1"})  # user -> DM channel
    port: int = 0  # 0: any free port, known once started
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # users.info and others are GETs
        app.router.add_get("/files/{file_id}", self._download)
        app.router.add_post("/upload/{file_id}", self._upload)  # files.getUploadURLExternal's
        app.router.add_post("/response/{hook}", self._response)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def add_file(self, file_id: str, name: str, data: bytes, channel: str = "D1") -> dict:
        self.downloads[file_id] = data
        self.files[file_id] = {
            "id": file_id,
            "name": name,
            "size": len(data),
            "mimetype": "text/markdown",
            "url_private_download": f"{self.url}/files/{file_id}",
            "shares": {"private": {channel: [{"ts": "500.1"}]}},
        }
        return self.files[file_id]

    def named(self, *methods: str) -> list[Call]:
        return [c for c in self.calls if c.method in methods]

    def texts(self, channel: str = "") -> list[str]:
        """Texts of posted and ephemeral messages (and response_url replies)."""
        return [
            str(c.params.get("text", ""))
            for c in self.calls
            if c.method in ("chat.postMessage", "chat.postEphemeral", "response_url")
            and (not channel or c.params.get("channel") == channel)
        ]

    async def wait_for(self, check, within: float = 10.0, what: str = "slack calls"):
        """Poll `check` until truthy (returned) or fail after `within` seconds."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            await asyncio.sleep(0.02)
        raise AssertionError(f"{what} not seen in {within}s; calls: {self.calls}")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        call = Call(method, params, dict(request.headers))
        self.calls.append(call)
        if method in self.hold:
            await self.hold[method].wait()
        if method in self.refuse:
            return web.json_response({"ok": False, "error": "method_not_supported"})
        ts = f"{1000 + next(self._ts)}.000100"
        body: dict[str, Any] = {"ok": True}
        if method == "auth.test":
            team = self.tokens.get(_bearer(request), TEAM)
            body |= {"user_id": BOT_USER, "bot_id": BOT_ID, "team_id": team, "user": "learnloop"}
        elif method == "oauth.v2.access":
            body = self._oauth_access(params)
        elif method in ("chat.postMessage", "chat.startStream", "chat.update"):
            body |= {"ts": params.get("ts") or ts, "channel": params.get("channel")}
        elif method == "chat.postEphemeral":
            body |= {"message_ts": ts}
        elif method == "files.info":
            file = self.files.get(str(params.get("file")))
            body = {"ok": True, "file": file} if file else {"ok": False, "error": "file_not_found"}
        elif method == "users.info":
            user = str(params.get("user"))
            zone = self.timezones.get(user, "")
            body |= {
                "user": {
                    "id": user,
                    "tz": zone,
                    "is_admin": user in self.admins or user in self.owners,
                    "is_owner": user in self.owners,
                }
            }
        elif method == "conversations.open":
            user = str(params.get("users", ""))
            body |= {"channel": {"id": self.dms.get(user, f"D{user}")}}
        elif method == "views.open":
            body |= {"view": {"id": "V1", **params.get("view", {})}}
        elif method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts)}"
            body |= {"file_id": file_id, "upload_url": f"{self.url}/upload/{file_id}"}
        elif method == "files.completeUploadExternal":
            shared = params.get("files") or []
            body |= {"files": [{"id": f["id"], "title": f.get("title", "")} for f in shared]}
        call.result = body
        return web.json_response(body)

    async def _download(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        self.calls.append(Call("download", {"file": file_id}, dict(request.headers)))
        if _bearer(request) not in self.tokens:
            return web.Response(status=403, text="<html>login</html>")
        if file_id not in self.downloads:
            return web.Response(status=404)
        return web.Response(body=self.downloads[file_id])

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload URL: the file's bytes as the raw body, as files_upload_v2 sends them."""
        file_id = request.match_info["file_id"]
        data = await request.read()
        self.calls.append(Call("upload", {"file": file_id}, dict(request.headers)))
        self.uploads[file_id] = data
        return web.Response(text=f"OK - {len(data)}")

    def _oauth_access(self, params: dict[str, Any]) -> dict[str, Any]:
        """oauth.v2.access: a code from an install → the workspace's bot token."""
        team = self.grants.pop(str(params.get("code")), "")
        if not team:
            return {"ok": False, "error": "invalid_code"}
        token = installed_token(team)
        self.tokens[token] = team
        return {
            "ok": True,
            "app_id": "A1",
            "authed_user": {"id": "UINSTALLER", "scope": "", "token_type": "user"},
            "scope": "app_mentions:read,chat:write,im:history,files:read,commands,users:read",
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": BOT_USER,
            "team": {"id": team, "name": f"Workspace {team}"},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    async def _response(self, request: web.Request) -> web.Response:
        self.calls.append(Call("response_url", await request.json(), dict(request.headers)))
        return web.Response(text="ok")


def installed_token(team: str) -> str:
    return f"xoxb-installed-{team}"


def _bearer(request: web.Request) -> str:
    return request.headers.get("Authorization", "").removeprefix("Bearer ")


async def _params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        params = dict(await request.json())
    else:
        params = dict(parse_qsl(await request.text()))
    params = dict(request.query) | params  # some methods send their arguments in the URL
    for key in ("blocks", "chunks", "view", "files"):  # form posts carry these as JSON
        if isinstance(params.get(key), str):
            params[key] = json.loads(params[key])
    return params


def signed_headers(
    body: str, *, secret: str = SECRET, timestamp: int | None = None, content_type: str = ""
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {
        "x-slack-request-timestamp": ts,
        "x-slack-signature": signature,
        "content-type": content_type or "application/json",
    }


def event_body(event: dict[str, Any], event_id: str = "", team: str = TEAM) -> str:
    """An Events API `event_callback` envelope around `event`."""
    return json.dumps(
        {
            "token": "legacy",
            "team_id": team,
            "api_app_id": "A1",
            "event": {"event_ts": event.get("ts", "1.0"), **event},
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10]}",
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": team, "user_id": BOT_USER, "is_bot": True, "enterprise_id": None}
            ],
            "is_ext_shared_channel": False,
        }
    )


def mention(
    text: str, ts: str, channel: str = "C1", user: str = "U1", thread: str = "", team: str = TEAM
) -> dict:
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{BOT_USER}> {text}",
        "ts": ts,
        "channel": channel,
        "team": team,
    }
    return event | ({"thread_ts": thread} if thread else {})


def message(
    text: str, ts: str, channel: str = "D1", user: str = "U1", thread: str = "", **extra: Any
) -> dict:
    event = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "channel_type": "im" if channel.startswith("D") else "channel",
        "team": TEAM,
        **extra,
    }
    return event | ({"thread_ts": thread} if thread else {})


def action_body(
    action_id: str,
    value: str,
    *,
    user: str = "U1",
    channel: str = "C1",
    block_id: str = "feedback",
    message_ts: str = "2000.1",
    blocks: list[dict[str, Any]] | None = None,
) -> str:
    """A `block_actions` click, form-encoded as `payload=<json>` like Slack sends it."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "team_id": TEAM, "username": "alice"},
        "api_app_id": "A1",
        "token": "legacy",
        "team": {"id": TEAM, "domain": "acme"},
        "trigger_id": "trigger-1",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "channel": {"id": channel, "name": "general"},
        "message": {
            "type": "message",
            "ts": message_ts,
            "thread_ts": "100.1",
            "text": "answer",
            **({"blocks": blocks} if blocks is not None else {}),
        },
        "response_url": "https://hooks.invalid/actions",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "action_ts": str(time.time()),
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def view_submission_body(private_metadata: str, text: str, *, user: str = "U1") -> str:
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "acme"},
        "user": {"id": user, "team_id": TEAM},
        "api_app_id": "A1",
        "token": "legacy",
        "trigger_id": "trigger-2",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": "learnloop_correction",
            "private_metadata": private_metadata,
            "state": {
                "values": {"correction": {"text": {"type": "plain_text_input", "value": text}}}
            },
        },
    }
    return urlencode({"payload": json.dumps(payload)})


def command_body(text: str, response_url: str, *, user: str = "U1", channel: str = "C1") -> str:
    return urlencode(
        {
            "token": "legacy",
            "team_id": TEAM,
            "team_domain": "acme",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": "alice",
            "command": "/learn",
            "text": text,
            "api_app_id": "A1",
            "response_url": response_url,
            "trigger_id": "trigger-3",
        }
    )


async def post(
    session: ClientSession,
    url: str,
    body: str,
    *,
    form: bool = False,
    secret: str = SECRET,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    """A signed POST to the running app, as Slack sends it."""
    content_type = "application/x-www-form-urlencoded" if form else "application/json"
    sent = signed_headers(body, secret=secret, timestamp=timestamp, content_type=content_type)
    sent |= headers or {}
    async with session.post(url, data=body.encode(), headers=sent) as response:
        return response.status, await response.text()
