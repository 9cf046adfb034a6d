"""The Teams bot end to end: a personal question over HTTP answered by the real
packaged model from the real git corpus, grounded: quotes first, then only the model's
sentences a passage backs, with verified citations even though the model wrote no [n]."""

from __future__ import annotations

import re

import pytest

from bot.adapters.model import ClientChatModel
from bot.adapters.search import SearchRetriever
from bot.adapters.teams.conversations import ConversationStore
from bot.adapters.teams.settings import TeamsSettings
from bot.domain.grounded import QUOTES_STAND
from bot.services.answers import AnswerService
from bot.services.grounding import Grounder
from bot.surfaces.teams.app import build_teams_app
from inference.client import ChatClient
from inference.models import SERVED_NAME
from tests.teams_server import TeamsHarness
from tests.unit.test_jobs_service import FakeSender

pytestmark = [pytest.mark.integration, pytest.mark.slow]

_MARKER = re.compile(r"\s?\[\d*\]?")


class WithoutMarkers:
    """The real model with every [n] it writes taken out: an answer that cites nothing."""

    def __init__(self, model: ClientChatModel) -> None:
        self.model = model
        self.name = model.name
        self.text = ""

    async def complete(self, messages, max_tokens):
        return _MARKER.sub("", await self.model.complete(messages, max_tokens))

    async def stream(self, messages, max_tokens):
        held = ""
        async for piece in self.model.stream(messages, max_tokens):
            held += piece
            cut = held.rfind("[")  # a marker may still be arriving: hold it back
            if cut == -1 or "]" in held[cut:]:
                cut = len(held)
            ready, held = _MARKER.sub("", held[:cut]), held[cut:]
            self.text += ready
            yield ready
        self.text += _MARKER.sub("", held)
        yield _MARKER.sub("", held)

    async def aclose(self):
        await self.model.aclose()


def test_a_personal_question_gets_a_real_cited_answer(make_app, tmp_path, corpus, inference_server):
    model = WithoutMarkers(ClientChatModel(ChatClient(inference_server, SERVED_NAME)))
    app = make_app(
        job_expires_seconds=600,
        sender=lambda app: FakeSender(app.job_records),
        retriever=SearchRetriever(corpus.searcher),
        model=model,
        # a short answer keeps the test quick on a CPU; the sources are shown either way
        answers=lambda app: AnswerService(
            app.retriever, app.model, max_answer_tokens=64, grounder=Grounder(corpus.embedder)
        ),
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
    assert model.text.strip() and not re.search(r"\[\d+\]", model.text)  # it cited nothing
    first_update = next(s for s in sent if s.stream.get("streamType") == "streaming")
    assert first_update.body["text"].startswith("**From the training material:**")
    (card,) = final.cards
    quotes = [i["text"] for b in card["body"] if b["type"] == "Container" for i in b["items"]]
    assert quotes  # quoted from the material, each with its page
    lines = [b["text"] for b in card["body"] if b["type"] == "TextBlock"]
    heading = lines.index("Sources")  # verified citations, not "consulted"
    assert any("git-clean" in line for line in lines[heading + 1 :])  # the page that answers it
    shown = final.body["text"]
    # each shown sentence cites its passage; when none survived, the quotes on the card are
    # the answer and the text says so instead of repeating them
    assert re.search(r"\[\d\]", shown) or shown == QUOTES_STAND
    print("model:", model.text, "\nshown:", shown)
    record = app.feedback.answer(card["actions"][0]["data"]["answer_id"])
    assert record is not None and record.platform == "teams"
