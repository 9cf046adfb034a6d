"""Admin analytics in chat: "report [days]" gives an admin a short summary and the chart
(accuracy per topic, weakest first; questions the material could not answer)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from bot.domain.analytics import Report, TopicAccuracy, activity, counted
from bot.domain.conversation import Actor, is_admin
from bot.domain.errors import NotAllowed
from bot.domain.jobs import utcnow
from bot.domain.labels import where
from bot.domain.ports import Analytics, ReportChart

log = logging.getLogger(__name__)

DEFAULT_DAYS, MAX_DAYS = 30, 365
CHART_NAME = "learnloop-report.png"
CHART_ALT = "Bar charts: quiz accuracy per topic, weakest first; unanswered questions"
SHOWN = 3  # weakest topics and gaps named in the text; the chart shows more
_DAYS = re.compile(r"\d{1,4}")


def days_of(text: str) -> int:
    """ "report", "report 7", "report for the last 90 days" → the period, 1 to 365 days."""
    found = _DAYS.search(text)
    return min(max(int(found.group()), 1), MAX_DAYS) if found else DEFAULT_DAYS


def _topic(t: TopicAccuracy) -> str:
    return f"{where(t.source, t.section)} ({t.accuracy:.0%} of {counted(t.attempts, 'answer')})"


def _question(text: str, limit: int = 80) -> str:
    line = " ".join(text.split())
    return f"“{line if len(line) <= limit else line[: limit - 1].rstrip() + '…'}”"


def summary(found: Report, days: int) -> str:
    """The report in a few plain lines (no markup: each adapter escapes it its own way)."""
    lines = [f"LearnLoop report, {activity(found, days)}."]
    if not found.topics and not found.gaps:
        lines.append(
            "No quiz answers or unanswered questions yet, so there is no chart: "
            "reports fill in as people take quizzes and ask questions."
        )
        return "\n".join(lines)
    if found.weakest:
        lines.append("• Weakest topics: " + "; ".join(_topic(t) for t in found.weakest[:SHOWN]))
    elif found.topics:
        lines.append("• Too few quiz answers per topic yet to name the weakest.")
    if found.gaps:
        asked = (f"{_question(q)} ({counted(n, 'time')})" for q, n in found.gaps[:SHOWN])
        lines.append("• Not covered by the material: " + "; ".join(asked))
    else:
        lines.append("• Every question was answered from the material.")
    return "\n".join(lines)


@dataclass(frozen=True)
class AdminReport:
    days: int
    found: Report
    text: str
    chart: bytes | None  # a PNG; None when there is nothing to draw yet


class ReportService:
    """The report for admins only (LEARNLOOP_ADMINS, or a platform admin an adapter
    vouched for); everyone else gets `NotAllowed`."""

    def __init__(
        self,
        analytics: Analytics,
        chart: ReportChart,
        *,
        admins: Collection[str] = (),
        clock: Callable[[], datetime] = utcnow,
        model_status: Callable[[], str] | None = None,
    ) -> None:
        self.analytics = analytics
        self.chart = chart
        self.admins = frozenset(admins)
        self.clock = clock
        self._model_status = model_status

    async def model_status(self, actor: Actor) -> str:
        """An admin's "model status" (bot/services/model_status.py)."""
        if not self.allowed(actor):
            raise NotAllowed(f"{actor.key} is not an admin")
        if self._model_status is None:
            return "Model status is not set up here: run `learnloop adapters list`."
        return await asyncio.to_thread(self._model_status)

    def allowed(self, actor: Actor) -> bool:
        return is_admin(actor, self.admins)

    def operator_report(self, days: int = DEFAULT_DAYS) -> Report:
        """The report for `learnloop report`: whoever runs the command line holds the
        store's keys already, so there is no one to check."""
        return self.analytics.report(self.clock(), days)

    async def report(self, actor: Actor, days: int = DEFAULT_DAYS) -> AdminReport:
        if not self.allowed(actor):
            raise NotAllowed(f"{actor.key} is not an admin")
        found = await asyncio.to_thread(self.analytics.report, self.clock(), days)
        chart = await asyncio.to_thread(self.chart, found, days)
        log.info(
            "report for=%s days=%d topics=%d gaps=%d chart_bytes=%d",
            actor.key,
            days,
            len(found.topics),
            len(found.gaps),
            len(chart or b""),
        )
        return AdminReport(days, found, summary(found, days), chart)
