"""The Teams bot end to end: a personal question over HTTP answered by the real
packaged model from the real git corpus, with cited sources on the final card."""

from __future__ import annotations

import pytest

from bot.adapters.model import ClientChatModel
from bot.adapters.search import SearchRetriever
from bot.adapters.teams.conversations import ConversationStore
from bot.adapters.teams.settings import TeamsSettings
from bot.services.answers import AnswerService
from bot.surfaces.teams.app import build_teams_app
from inference.client import ChatClient
from inference.models import SERVED_NAME
from tests.teams_server import TeamsHarness
from tests.unit.test_jobs_service import FakeSender

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_personal_question_gets_a_real_cited_answer(make_app, tmp_path, corpus, inference_server):
    app = make_app(
        job_expires_seconds=600,
        sender=lambda app: FakeSender(app.job_records),
        retriever=SearchRetriever(corpus.searcher),
        model=ClientChatModel(ChatClient(inference_server, SERVED_NAME)),
        # a short answer keeps the test quick on a CPU; the sources are shown either way
        answers=lambda app: AnswerService(app.retriever, app.model, max_answer_tokens=64),
    )
    chat = app.chat
    settings = TeamsSettings(update_seconds=0.2, reply_seconds=30)
    store = ConversationStore(tmp_path / "conversations")
    with TeamsHarness(lambda: build_teams_app(chat, settings, store)) as teams:
        question = "How do I remove untracked files from my working tree?"
        assert teams.post(teams.activity(question))[0] == 201
        sent = teams.capture.wait_for(
            lambda s: s if any(x.body["type"] == "message" for x in s) else None,
            "the final message",
            timeout=120,
        )
        teams.run(chat.answers.aclose())
    final = sent[-1]
    assert sent[0].stream["streamType"] == "informative"
    assert final.stream["streamType"] == "final" and final.body["text"].strip()
    (card,) = final.cards
    lines = [b["text"] for b in card["body"]]
    assert lines[0] in ("Sources", "Consulted (nothing cited directly)")
    assert any("git-clean" in line for line in lines[1:])  # the page that answers it
    record = app.feedback.answer(card["actions"][0]["data"]["answer_id"])
    assert record is not None and record.platform == "teams"
