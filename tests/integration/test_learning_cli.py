"""`learnloop progress` and `learnloop report [--chart]` on seeded quiz history and answers."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime

import pytest

from bot.adapters.store import FeedbackRepository
from bot.bootstrap import build_retrieval_from, chroma_path
from bot.domain.answering import Source
from bot.domain.conversation import Actor, Place
from bot.domain.ports import Findings
from bot.services.learning import LearningService
from tests.conftest import run_cli
from tests.fakes import FakeChatModel, FakeRetriever
from tests.unit.test_learning import MATERIAL

pytestmark = pytest.mark.integration


class Records:
    """The answer-record part of the jobs port, straight into the store."""

    def __init__(self, sessions) -> None:
        self.repo = FeedbackRepository(sessions)

    async def record_answer(self, record) -> None:
        self.repo.record_answer(record)


def test_progress_and_report_on_seeded_history(make_app, tmp_path, embedder):
    # the material in the data dir's index: `learnloop progress` checks topics against it
    rt = build_retrieval_from(embedder, path=chroma_path(tmp_path))
    for passage in MATERIAL:
        page = f"# {passage.section}\n\n{passage.text}\n".encode()
        rt.ingestor.ingest_bytes(passage.source, page, passage.audience)
    now = datetime.now(UTC)
    learning = make_app(
        retrieval=rt,  # the app's material is the catalog of this index
        learning=lambda app: LearningService(
            app.quiz_items, app.access, app.material, questions=4, clock=lambda: now
        ),
    ).learning
    alice, bob = Actor("slack", "UA"), Actor("teams", "aad-b")

    async def quiz(actor: Actor, right: set[int]) -> None:
        question = await learning.start(actor)
        while question is not None:
            item = question.item
            pick = item.correct if question.number in right else (item.correct + 1) % 4
            question = (await learning.answer(actor, question.session_id, item.id, pick)).next

    asyncio.run(quiz(alice, {1, 2, 3}))  # 3 of 4 right
    asyncio.run(quiz(bob, {1}))  # 1 of 4 right

    refused = Findings(False, (), ("git-clean",))
    answered = Findings(True, (Source(1, "a.md", "A", "A", "Text."),), ())
    for findings, question in ((refused, "What is the VPN address?"), (answered, "What is A?")):
        chat = make_app(
            retriever=FakeRetriever(findings),
            model=FakeChatModel("Text [1]."),
            jobs=lambda app: Records(app.sessions),
        ).chat

        async def ask(chat=chat, question=question) -> None:
            async for _ in chat.ask(alice, Place("slack", "C1", "1"), question):
                pass

        asyncio.run(ask())

    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNLOOP_")}
    env["LEARNLOOP_DATA_DIR"] = str(tmp_path)
    mine = json.loads(run_cli(env, "progress", "slack:UA", "--json").stdout)
    assert (mine["answered"], mine["right"]) == (4, 3)
    seen = [t for t in mine["topics"] if t["seen"]]
    assert len(seen) == 4 and all(t["source"].endswith(".md") for t in seen)
    assert mine["plan"] and mine["plan"][0]["correct"] == 0  # the miss comes first

    found = json.loads(run_cli(env, "report", "--json").stdout)
    assert found["attempts"] == 8 and found["active_learners"] == 2
    assert sum(t["correct"] for t in found["topics"]) == 4
    assert found["gaps"] == [{"question": "What is the VPN address?", "count": 1}]
    assert found["answers"] == 2 and found["askers"] == 1

    chart = tmp_path / "report.png"
    shown = run_cli(env, "report", "--json", "--chart", str(chart))
    assert json.loads(shown.stdout)["attempts"] == 8  # the chart's note stays off stdout
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and "chart written" in shown.stderr
    empty = env | {"LEARNLOOP_DATA_DIR": str(tmp_path / "empty")}
    nothing = run_cli(empty, "report", "--chart", str(tmp_path / "none.png"))
    assert "no chart" in nothing.stderr and not (tmp_path / "none.png").exists()

    text = run_cli(env, "progress", "slack:UA").stdout
    assert "3 of 4 answered right" in text and "▰" in text
    assert run_cli(env, "progress", "nobody", check=False).returncode == 1
