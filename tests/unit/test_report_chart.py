"""The admin report: the chart renderer (PNG bytes from a report), its summary text and
the report service's admin rule, on quiz history seeded through the real services over
SQLite."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime

import pytest
from PIL import Image
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from bot.adapters.charts import MAX_TOPICS, report_chart
from bot.adapters.store import FeedbackRepository
from bot.adapters.store.analytics import SqlAnalytics
from bot.adapters.store.analytics import report as build_report
from bot.bootstrap import App
from bot.domain.analytics import Report, TopicAccuracy
from bot.domain.conversation import Actor, Place
from bot.domain.errors import NotAllowed, StoreUnavailable
from bot.domain.ports import Findings
from bot.domain.router import route
from bot.services.learning import LearningService
from bot.services.reports import ReportService, days_of, summary
from tests.fakes import FakeChatModel, FakeRetriever
from tests.unit.test_learning import visible

PNG = b"\x89PNG\r\n\x1a\n"
GAP = "What is the VPN address?"


class Records:
    """The answer-record part of the jobs port, straight into the store."""

    def __init__(self, sessions) -> None:
        self.repo = FeedbackRepository(sessions)

    async def record_answer(self, record) -> None:
        self.repo.record_answer(record)


async def seed(make_app, now: datetime) -> App:
    """Three learners take a four-question quiz (right: 3, 1 and 0 of 4), so every topic
    has three answers; one question the material does not cover is asked twice. Seeded
    through an app of its own over the test's store; returns it."""
    app = make_app(
        retriever=FakeRetriever(Findings(False, (), ("git-clean",))),  # refuses: a gap
        model=FakeChatModel(""),
        jobs=lambda app: Records(app.sessions),
        learning=lambda app: LearningService(
            app.quiz_items, app.access, visible, questions=4, clock=lambda: now
        ),
    )
    learning = app.learning
    for user, right in (("UA", {1, 2, 3}), ("UB", {1}), ("UC", set())):
        actor = Actor("slack", user)
        question = await learning.start(actor)
        while question is not None:
            item = question.item
            pick = item.correct if question.number in right else (item.correct + 1) % 4
            question = (await learning.answer(actor, question.session_id, item.id, pick)).next
    for user in ("UA", "UB"):
        async for _ in app.chat.ask(Actor("slack", user), Place("slack", "D1", "1", True), GAP):
            pass
    return app


@pytest.fixture
def seeded(make_app):
    now = datetime.now(UTC)
    app = asyncio.run(seed(make_app, now))
    return app.sessions, now


def decoded(png: bytes) -> Image.Image:
    assert png.startswith(PNG)
    image = Image.open(io.BytesIO(png))
    image.load()  # a truncated or corrupt file fails here
    return image


def test_the_chart_of_seeded_history_is_a_readable_png(seeded):
    sessions, now = seeded
    found = build_report(sessions, now)
    assert found.attempts == 12 and len(found.topics) == 4 and found.gaps == [(GAP, 2)]
    png = report_chart(found, 30)
    assert png is not None
    image = decoded(png)
    width, height = image.size
    assert width == 1000 and 300 <= height <= 1024  # Teams shows inline images to 1024 px
    assert len(png) < 200_000
    colours = {c for _, c in image.convert("RGB").getcolors(maxcolors=4096) or []}
    assert len(colours) > 8  # bars, text and background, not a blank canvas


def test_many_topics_and_odd_text_stay_within_bounds_and_warn_nothing():
    # filterwarnings=error: a glyph the font lacks or "$...$" read as TeX would fail here
    topics = [
        TopicAccuracy(f"policy-{i}.md", f"Costs in $ and € for 中文 team {i} 🙂", 3 + i, i % 4)
        for i in range(30)
    ]
    gaps = [(f"Where is office {i}? 第{i}号 $x$ " + "very long " * 20, 30 - i) for i in range(20)]
    found = Report(topics, topics[:5], gaps, 9, 7, sum(t.attempts for t in topics), 60)
    image = decoded(report_chart(found, 90) or b"")
    assert image.size[0] == 1000 and image.size[1] <= 1024
    assert MAX_TOPICS < len(topics)


def test_an_empty_report_has_no_chart_and_says_so(store):
    found = build_report(store, datetime.now(UTC))
    assert report_chart(found, 30) is None
    text = summary(found, 30)
    assert "no chart" in text and "0 quiz answers by 0 learners" in text


def test_the_summary_names_the_weakest_topics_and_the_gaps(seeded):
    sessions, now = seeded
    text = summary(build_report(sessions, now), 7)
    lines = text.splitlines()
    assert lines[0] == (
        "LearnLoop report, last 7 days: 12 quiz answers by 3 learners; 2 questions from 2 people."
    )
    assert lines[1].startswith("• Weakest topics: ") and "0% of 3 answers" in lines[1]
    assert lines[2] == f"• Not covered by the material: “{GAP}” (2 times)"


def test_only_admins_get_the_report(seeded):
    sessions, now = seeded
    service = ReportService(
        SqlAnalytics(sessions), report_chart, admins={"slack:UADMIN"}, clock=lambda: now
    )
    with pytest.raises(NotAllowed):
        asyncio.run(service.report(Actor("slack", "UA")))
    shown = asyncio.run(service.report(Actor("slack", "UADMIN"), days=14))
    assert shown.days == 14 and shown.chart is not None and shown.chart.startswith(PNG)
    assert shown.text == summary(shown.found, 14)
    vouched = Actor("slack", "UOWNER", platform_admin=True)  # a Slack workspace admin
    assert asyncio.run(service.report(vouched)).found.attempts == 12


def test_an_unreachable_store_is_store_unavailable(tmp_path):
    """The SQL error is translated at the adapter: the service and surfaces see the
    project's own error (one plain sentence), never sqlalchemy's."""
    engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'learnloop.db'}")
    service = ReportService(SqlAnalytics(sessionmaker(engine)), report_chart, admins={"slack:A"})
    with pytest.raises(StoreUnavailable):
        asyncio.run(service.report(Actor("slack", "A")))
    engine.dispose()


def test_report_is_a_command_only_with_a_period():
    dm = Place("slack", "D1", direct=True)
    assert route("report", dm).kind == "report"
    assert route("Report 7 days", dm).text == "7 days"
    assert route("report for the last 90 days", dm).kind == "report"
    assert route("report a phishing email?", dm).kind == "ask"
    assert [days_of(t) for t in ("", "7", "7 days", "14d", "0", "9999")] == [30, 7, 7, 14, 1, 365]
