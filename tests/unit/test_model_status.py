"""An admin's "model status" in chat: routed the same on every surface, answered from the
adapter registry, refused to everyone else; Slack and Teams through their fake servers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.adapters.charts import report_chart
from bot.adapters.store import database_url, open_store
from bot.adapters.store.analytics import SqlAnalytics
from bot.adapters.store.registry import SqlRegistry
from bot.adapters.teams.conversations import ConversationStore
from bot.adapters.teams.settings import TeamsSettings
from bot.domain.conversation import Place, friendly
from bot.domain.router import Intent, route
from bot.services.model_status import model_status, status_text
from bot.services.reports import ReportService
from bot.surfaces.teams.app import build_teams_app
from tests.teams_server import TeamsHarness
from tests.unit.test_slack_report import ADMIN as SLACK_ADMIN
from tests.unit.test_slack_report import LEARNER as SLACK_LEARNER
from tests.unit.test_slack_report import app, running  # noqa: F401 (the fixture)
from tests.unit.test_teams import ADMIN, stack  # noqa: F401 (the fixture)

BASE = "smollm2-135m-instruct"
DM = Place("slack", "D1", direct=True)


def registry(root: Path, sessions) -> SqlRegistry:
    """v1 promoted with its scores, v2 rejected by the gate."""
    adapter = root / "peft"
    adapter.mkdir(parents=True)
    (adapter / "adapter_config.json").write_text("{}")
    reg = SqlRegistry(sessions, root / "adapters", BASE)
    for _ in range(2):
        reg.register(adapter, BASE, "p1", "d" * 16)
    metrics = {"citation_rate": 0.8, "key_accuracy": 0.5, "refusal_correct": 1.0, "questions": 20}
    reg.set_report("learnloop-v1", metrics, {"reasons": ["citation rate 0.00 -> 0.80"]})
    reg.promote("learnloop-v1")
    reg.set_report("learnloop-v2", {}, {"reasons": ["citation rate gained +0.02, needs +0.10"]})
    return reg


def test_model_status_is_a_command_only_as_the_whole_phrase():
    assert route("model status", DM) == Intent("model")
    assert route("Model status?", Place("slack", "C1")) == Intent("model")
    assert route("model status of the fleet", DM).kind == "ask"
    assert route("model answers", DM).kind == "ask"


def test_the_status_names_the_active_adapter_its_scores_and_the_latest_verdict(tmp_path, store):
    reg = registry(tmp_path, store)
    text = model_status(reg, BASE)()
    assert text.startswith("Answering with learnloop-v1 on smollm2-135m-instruct")
    assert "citation rate 0.80, key accuracy 0.50, refusals 1.00 on 20 questions" in text
    assert "Latest candidate: learnloop-v2 (candidate): citation rate gained +0.02" in text
    reg.rollback()
    assert status_text(reg.records(), BASE).startswith("Answering with the base model")
    assert "Nothing trained yet" in status_text([], BASE)


def test_in_slack_an_admin_gets_the_status_and_a_learner_is_refused(app, tmp_path, store):  # noqa: F811
    reg = registry(tmp_path, store)

    async def scenario():
        async with running(app, model_status=model_status(reg, BASE)) as bot:
            await bot.dm("model status", SLACK_ADMIN, "D1")
            (text,) = await bot.slack.wait_for(lambda: bot.slack.texts("D1"), what="status")
            assert text.startswith("Answering with learnloop-v1")
            await bot.dm("model status", SLACK_LEARNER, "D2")
            refused = friendly("not_allowed")
            await bot.slack.wait_for(lambda: refused in bot.slack.texts("D2"), what="refusal")
            assert not any("learnloop-v1" in t for t in bot.slack.texts("D2"))

    asyncio.run(scenario())


@pytest.fixture
def teams(stack, tmp_path):  # noqa: F811 (the fixture)
    chat = stack[0]
    engine, sessions = open_store(database_url("", tmp_path))
    status = model_status(registry(tmp_path / "loop", sessions), BASE)
    analytics = SqlAnalytics(sessions)
    reports = ReportService(analytics, report_chart, admins=chat.admins, model_status=status)
    settings = TeamsSettings(update_seconds=0.0, reply_seconds=10.0)
    store = ConversationStore(tmp_path / "conversations")
    with TeamsHarness(lambda: build_teams_app(chat, settings, store, None, reports)) as running_:
        yield running_
    engine.dispose()


def reply(teams: TeamsHarness, activity: dict) -> str:
    status, _ = teams.post(activity)
    assert status == 201
    (sent,) = teams.capture.wait_for(lambda s: s or None, "the reply")
    return sent.body["text"]


def test_in_teams_an_admin_gets_the_status(teams):
    assert reply(teams, teams.activity("model status", user=ADMIN)).startswith(
        "Answering with learnloop-v1"
    )


def test_in_teams_a_learner_is_refused(teams):
    assert reply(teams, teams.activity("model status", user="aad-learner")) == friendly(
        "not_allowed"
    )
