"""Socket Mode acknowledges an event only once it is in the inbox (the real SQLite store):
the websocket is a stand-in that records each acknowledgement and what the inbox held
at that moment; the answer goes to the local Slack server."""

from __future__ import annotations

import asyncio
import json
import logging

from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.adapters.slack.settings import SlackSettings
from bot.adapters.store.inbox import InboxRepository
from bot.domain.ports import Findings
from bot.surfaces.slack.app import build_slack_app
from bot.surfaces.slack.inbox import DurableAck, InboxOnce
from bot.surfaces.slack.once import MemoryOnce
from bot.surfaces.slack.server import EVENTS_PATH
from bot.surfaces.slack.socket_mode import DurableSocketMode
from tests.fakes import FakeChatModel, FakeRetriever
from tests.slack_server import TOKEN, FakeSlack, event_body, mention
from tests.unit.test_slack_app import REPLY, SOURCES

APP_TOKEN = "xapp-test"  # noqa: S105 - known to this test only


class Socket:
    """The websocket's side: acknowledgements sent, with the inbox's unanswered count."""

    logger = logging.getLogger("socket-mode")

    def __init__(self, inbox: InboxRepository) -> None:
        self.inbox = inbox
        self.acks: list[tuple[str, int]] = []

    async def send_socket_mode_response(self, response: SocketModeResponse) -> None:
        self.acks.append((response.envelope_id, await asyncio.to_thread(self.inbox.pending)))


class FailingInbox(InboxRepository):
    down = True

    def add(self, *args, **kwargs) -> bool:
        if self.down:
            raise ConnectionError("database down")
        return super().add(*args, **kwargs)


def envelope(event_id: str, envelope_id: str) -> SocketModeRequest:
    payload = json.loads(event_body(mention("How long is leave?", "100.1"), event_id))
    return SocketModeRequest(type="events_api", envelope_id=envelope_id, payload=payload)


def run(make_app, scenario):
    app = make_app(retriever=FakeRetriever(Findings(True, SOURCES, ())), model=FakeChatModel(REPLY))
    inbox = FailingInbox(app.sessions)

    async def main() -> None:
        slack = await FakeSlack().start()
        settings = SlackSettings(bot_token=TOKEN, app_token=APP_TOKEN, api_url=slack.api_url)
        once = InboxOnce(MemoryOnce(60))
        bolt = build_slack_app(app.chat, settings, once)
        durable = DurableAck(bolt, "", EVENTS_PATH, inbox, lease_seconds=60)
        handler = DurableSocketMode(bolt, APP_TOKEN, durable)
        try:
            await scenario(handler, Socket(inbox), slack, inbox)
        finally:
            await durable.aclose()
            await handler.close_async()
            await slack.stop()
            await once.aclose()

    asyncio.run(main())


def test_an_event_is_acknowledged_only_once_it_is_in_the_inbox(make_app):
    async def scenario(handler, socket, slack, inbox):
        inbox.down = False
        await handler.handle(socket, envelope("Ev1", "env-1"))
        assert socket.acks == [("env-1", 1)]  # kept (unanswered) when the ack went out
        await slack.wait_for(lambda: slack.named("chat.stopStream"), what="the answer")
        await slack.wait_for(lambda: inbox.pending() == 0, what="the event marked answered")

    run(make_app, scenario)


def test_an_event_the_inbox_could_not_keep_is_not_acknowledged_and_comes_again(make_app):
    async def scenario(handler, socket, slack, inbox):
        await handler.handle(socket, envelope("Ev1", "env-1"))
        assert socket.acks == []  # Slack sends it again
        assert not slack.calls  # and it was not answered meanwhile
        inbox.down = False
        await handler.handle(socket, envelope("Ev1", "env-2"))  # Slack's retry
        await handler.handle(socket, envelope("Ev1", "env-3"))  # and one more
        assert socket.acks == [("env-2", 1), ("env-3", 1)]
        await slack.wait_for(lambda: inbox.pending() == 0, what="the event marked answered")
        assert len(slack.named("chat.startStream")) == 1  # answered once

    run(make_app, scenario)
