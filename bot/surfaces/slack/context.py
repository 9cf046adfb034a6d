"""What every Slack handler shares, and the payload → Actor / Place translations."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.conversation import Actor, Place
from bot.services.chat import ChatService
from bot.services.learning import LearningService
from bot.services.reports import ReportService
from bot.services.web import WebSignIn
from bot.surfaces.interrupted import StreamMarks
from bot.surfaces.slack.admins import WorkspaceAdmins
from bot.surfaces.slack.once import Once
from bot.surfaces.slack.streaming import Pace, Target

PLATFORM = "slack"
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


@dataclass(frozen=True)
class SlackDeps:
    chat: ChatService
    client: AsyncWebClient
    once: Once
    pace: Pace
    learning: LearningService | None = None  # None (tests): learning words get the help
    reports: ReportService | None = None  # None: "report" points to the CLI
    workspace_admins: WorkspaceAdmins = field(default_factory=WorkspaceAdmins)
    web: WebSignIn | None = None  # None: "web" says the console is not set up
    marks: StreamMarks | None = None  # None: answers are not kept on record as they stream


def actor_of(user_id: str, team_id: str = "") -> Actor:
    return Actor(PLATFORM, user_id, team_id)


def team_of(body: dict[str, Any], event: dict[str, Any] | None = None) -> str:
    event = event or {}
    team = body.get("team_id") or body.get("team") or event.get("team") or ""
    return str(team.get("id", "") if isinstance(team, dict) else team)


def is_direct(event: dict[str, Any]) -> bool:
    return event.get("channel_type") == "im" or str(event.get("channel", "")).startswith("D")


def place_of(event: dict[str, Any]) -> Place:
    """A message's thread: the thread it is in, else the thread it starts."""
    thread = str(event.get("thread_ts") or event.get("ts") or "")
    return Place(PLATFORM, str(event["channel"]), thread, direct=is_direct(event))


def target_of(place: Place, actor: Actor) -> Target:
    return Target(place.channel, place.thread, actor.user_id, actor.team_id, place.direct)


def without_mentions(text: str) -> str:
    return _MENTION.sub("", text).strip()


def mentions(text: str, user_id: str) -> bool:
    return bool(user_id) and f"<@{user_id}" in text
