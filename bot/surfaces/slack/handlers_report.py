"""Admins' report in Slack: "report [days]" in a DM or a mention, or `/learn report`, gets
a short summary and the chart (a PNG uploaded with `files_upload_v2`) in the admin's DM."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.conversation import Actor, Place
from bot.domain.router import Intent
from bot.services.reports import CHART_ALT, CHART_NAME, ReportService, days_of
from bot.surfaces.slack.admins import WorkspaceAdmins
from bot.surfaces.slack.context import actor_of
from bot.surfaces.slack.errors import guarded
from bot.surfaces.slack.handlers_quiz import open_dm
from bot.surfaces.slack.render import escape, notice_blocks

log = logging.getLogger(__name__)

SENT_TO_DM = "Your report is in our direct messages."


class ReportFlow:
    def __init__(
        self, reports: ReportService, admins: WorkspaceAdmins, client: AsyncWebClient
    ) -> None:
        self.reports = reports
        self.admins = admins
        self.client = client

    async def send(self, actor: Actor, text: str, dm: str = "") -> str:
        """The report into the admin's DM (`dm`, else opened); the DM's channel id.
        Refused (`NotAllowed`) before anything is posted."""
        actor = await self.admins.vouch(self.client, actor, self.reports.admins)
        shown = await self.reports.report(actor, days_of(text))
        channel = dm or await open_dm(self.client, actor.user_id)
        summary = escape(shown.text)
        if shown.chart is None:
            await self.client.chat_postMessage(channel=channel, text=summary)
            return channel
        await self.client.files_upload_v2(
            channel=channel,
            file=shown.chart,
            filename=CHART_NAME,
            title=f"LearnLoop report, last {shown.days} days",
            alt_txt=CHART_ALT,
            initial_comment=summary,
        )
        log.info("slack report uploaded bytes=%d", len(shown.chart))
        return channel


async def converse(
    reports: ReportService,
    admins: WorkspaceAdmins,
    client: AsyncWebClient,
    actor: Actor,
    place: Place,
    intent: Intent,
) -> None:
    """A "report" message: answered in the DM; from a channel, a pointer to the DM."""
    await ReportFlow(reports, admins, client).send(
        actor, intent.text, place.channel if place.direct else ""
    )
    if not place.direct:
        await client.chat_postMessage(
            channel=place.channel, thread_ts=place.thread or None, text=SENT_TO_DM
        )


async def slash(
    reports: ReportService,
    admins: WorkspaceAdmins,
    ack: AsyncAck,
    respond: AsyncRespond,
    client: AsyncWebClient,
    command: dict[str, Any],
    intent: Intent,
) -> None:
    """`/learn report [days]`: the report goes to the DM; refusals answer privately."""
    await ack()
    actor = actor_of(str(command["user_id"]), str(command.get("team_id", "")))

    async def tell(message: str) -> None:
        await respond(text=message, blocks=notice_blocks(message), response_type="ephemeral")

    async def work() -> None:
        channel = await ReportFlow(reports, admins, client).send(actor, intent.text)
        if channel != str(command.get("channel_id", "")):
            await tell(SENT_TO_DM)

    await guarded(work(), tell, "slack /learn report")
