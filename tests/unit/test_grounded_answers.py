"""The answer service with grounding: quotes first, then only backed sentences, each with
the citation the check found; the quotes stand in when nothing the model said holds up."""

from __future__ import annotations

import asyncio

from bot.domain.answering import Answer, Source, message_text
from bot.domain.grounded import (
    NOT_COVERED_LEAD,
    NOT_COVERED_STAND,
    QUOTES_LEAD,
    QUOTES_STAND,
    Quoted,
)
from bot.domain.ports import Findings
from bot.services.answers import AnswerService
from bot.services.grounding import Grounder
from tests.fakes import FakeChatModel, FakeEmbedder, FakeRetriever

EXPENSES = Source(
    1,
    "expense-policy.md",
    "Expense policy",
    "Filing a claim",
    "Submit every claim in the Expense Portal within 30 days of the purchase. "
    "Attach a receipt for every item over 25 EUR.",
)
GIT = Source(
    2,
    "git-workflow.md",
    "Git workflow",
    "Undoing things",
    "To undo your last local commit but keep its changes, run:\n\n"
    "```\ngit reset --soft HEAD~1\n```",
)
SOURCES = (EXPENSES, GIT)
QUESTION = "How many days do I have to submit an expense claim?"


class LoggingModel(FakeChatModel):
    """Notes each piece it writes in a shared log, to see what went out before it."""

    def __init__(self, reply: str, log: list[str]) -> None:
        super().__init__(reply)
        self.log = log

    async def stream(self, messages, max_tokens):
        async for piece in super().stream(messages, max_tokens):
            self.log.append(f"model:{piece}")
            yield piece


def answer(reply: str, log: list[str] | None = None) -> list[object]:
    log = log if log is not None else []
    model = LoggingModel(reply, log)
    service = AnswerService(
        FakeRetriever(Findings(True, SOURCES, ())), model, grounder=Grounder(FakeEmbedder())
    )

    async def run() -> list[object]:
        events: list[object] = []
        async for event in service.ask_stream(QUESTION):
            log.append(f"out:{event if isinstance(event, str) else type(event).__name__}")
            events.append(event)
        await service.aclose()
        return events

    return asyncio.run(run())


def test_quotes_go_out_before_the_model_writes_and_sentences_as_they_are_checked():
    log: list[str] = []
    reply = (
        "Submit every claim in the Expense Portal within 30 days of the purchase. "
        "Late claims are paid within 60 days. "
        "Attach a receipt for every item over 25 EUR."
    )
    events = answer(reply, log)
    assert isinstance(events[0], Quoted) and log[0] == "out:Quoted"
    assert events[0].sources[0] == EXPENSES and "30 days" in events[0].quotes[0].text
    texts = [e for e in events if isinstance(e, str)]
    assert texts == [
        "Submit every claim in the Expense Portal within 30 days of the purchase. [1]",
        " Attach a receipt for every item over 25 EUR. [1]",
    ]
    # the first sentence was shown while the model was still writing
    first = log.index(f"out:{texts[0]}")
    assert any(entry.startswith("model:") for entry in log[first:])
    final = events[-1]
    assert isinstance(final, Answer) and final.grounded and not final.refused
    assert final.text == "".join(texts)  # the stream and the answer agree
    assert final.raw_text == reply  # the model's own words are kept for evaluation
    assert final.citations == (EXPENSES,) and final.consulted == ()
    assert final.meta["sentences"] == 3 and final.meta["supported"] == 2
    assert final.meta["grounding_ms"] > 0


def test_a_sentence_citing_the_wrong_passage_is_cited_to_the_one_that_backs_it():
    events = answer("Attach a receipt for every item over 25 EUR [2].")
    assert events[1] == "Attach a receipt for every item over 25 EUR. [1]"


def test_code_is_released_whole_with_its_citation():
    events = answer("Run this:\n\n```\ngit reset --soft HEAD~1\n```")
    final = events[-1]
    assert isinstance(final, Answer)
    assert "```\ngit reset --soft HEAD~1\n```\n[2]" in final.text


def test_with_no_sentence_backed_the_quotes_are_the_answer():
    events = answer("Expense claims may be filed whenever it suits you.")
    final = events[-1]
    assert isinstance(final, Answer) and not final.grounded
    assert final.text.startswith(QUOTES_LEAD) and "within 30 days" in final.text
    assert "[1]" in final.text and final.citations == (EXPENSES,)
    assert "whenever" not in final.text and "whenever" in final.raw_text
    # the quotes went out first: the answer message points at them instead of repeating them
    assert [e for e in events if isinstance(e, str)] == [QUOTES_STAND]
    assert message_text(final) == QUOTES_STAND


def test_the_model_saying_not_covered_is_said_with_the_quotes():
    final = answer("The training material does not cover that.")[-1]
    assert isinstance(final, Answer)
    assert final.text.startswith(NOT_COVERED_LEAD) and "within 30 days" in final.text
    assert message_text(final) == NOT_COVERED_STAND


def test_without_a_grounder_the_answer_is_the_model_text_as_before():
    service = AnswerService(
        FakeRetriever(Findings(True, SOURCES, ())), FakeChatModel("Whenever you like [1].")
    )
    final = asyncio.run(service.ask(QUESTION))
    assert final.text == "Whenever you like [1]." and final.quotes == ()
    assert message_text(final) == final.text
