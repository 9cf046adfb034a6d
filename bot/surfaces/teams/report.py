"""Admins' report in a Teams personal chat: the summary as text, the chart as an inline
image (a base64 data URI: Teams renders it in the message, nothing to host)."""

from __future__ import annotations

import base64

from botbuilder.schema import Activity, ActivityTypes, Attachment

from bot.services.reports import CHART_NAME, AdminReport

REPORT_PERSONAL = "Reports are for admins' eyes: write *report* to me in a personal chat."


def report_activity(shown: AdminReport) -> Activity:
    # text from people (unanswered questions) must not open a Markdown link
    text = shown.text.replace("[", "(").replace("]", ")").replace("\n", "\n\n")
    attachments = []
    if shown.chart is not None:
        data = base64.b64encode(shown.chart).decode("ascii")
        attachments.append(
            Attachment(
                content_type="image/png",
                content_url=f"data:image/png;base64,{data}",
                name=CHART_NAME,
            )
        )
    return Activity(type=ActivityTypes.message, text=text, attachments=attachments or None)
