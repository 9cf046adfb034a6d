import asyncio

import pytest

from bot.domain.answering import (
    SYSTEM_PROMPT,
    Answer,
    Source,
    Turn,
    bound_history,
    build_messages,
    check_citations,
    finish_answer,
    refusal,
)
from bot.domain.errors import ModelUnavailable
from bot.domain.ports import Findings
from bot.services.answers import AnswerService
from tests.fakes import FakeChatModel, FakeRetriever

SOURCES = (
    Source(1, "git-clean.html", "git-clean(1)", "OPTIONS", "-n --dry-run: show what would go."),
    Source(2, "git-stash.html", "git-stash(1)", "DESCRIPTION", "Stash away changes."),
)


def test_prompt_puts_instructions_first_passages_in_order_and_question_last():
    history = [Turn("user", "earlier question"), Turn("assistant", "earlier answer")]
    messages = build_messages("How do I preview a clean?", SOURCES, history)
    assert messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    last = messages[-1]["content"]
    assert last.index("[1] git-clean(1) › OPTIONS") < last.index("[2] git-stash(1)")
    assert last.rstrip().endswith("Question: How do I preview a clean?")
    assert build_messages("q", SOURCES) == build_messages("q", SOURCES)  # deterministic


def test_citations_to_passages_not_given_are_dropped():
    text, cited = check_citations("Use -n [1]. Also see [7] and [2][1].", SOURCES)
    assert text == "Use -n [1]. Also see and [2][1]."
    assert [s.n for s in cited] == [1, 2]


def test_no_valid_citation_lists_the_passages_as_consulted():
    answer = finish_answer("Use the dry run [9].", SOURCES)
    assert answer.citations == () and answer.consulted == SOURCES
    cited = finish_answer("Use the dry run [1].", SOURCES)
    assert cited.citations == (SOURCES[0],) and cited.consulted == ()


def test_refusal_names_the_closest_topics():
    answer = refusal(["git-stash(1) › DESCRIPTION", "gitignore(5) › NOTES"])
    assert answer.refused
    assert "does not cover" in answer.text
    assert "git-stash(1) › DESCRIPTION; gitignore(5) › NOTES" in answer.text


def test_history_keeps_the_most_recent_whole_turns_within_budget():
    turns = [Turn("user", "a" * 40), Turn("assistant", "b" * 40), Turn("user", "c" * 40)]
    kept = bound_history(turns, max_tokens=25, count=lambda t: len(t) // 4)
    assert kept == turns[1:]
    assert bound_history(turns, max_tokens=5, count=lambda t: len(t) // 4) == []


def run(coro):
    return asyncio.run(coro)


def test_out_of_material_question_is_refused_without_calling_the_model():
    model = FakeChatModel("should never be used")
    service = AnswerService(FakeRetriever(Findings(False, SOURCES, ("git-stash(1)",))), model)
    answer = run(service.ask("What is our parental leave?"))
    assert answer.refused and model.prompts == []
    assert "git-stash(1)" in answer.text


def test_answer_streams_then_ends_with_checked_citations():
    model = FakeChatModel("Run git clean -n [1] to preview [5].")
    retriever = FakeRetriever(Findings(True, SOURCES, ()))
    service = AnswerService(retriever, model)

    async def collect():
        return [e async for e in service.ask_stream("preview a clean?", ["everyone", "hr"])]

    events = run(collect())
    pieces, final = events[:-1], events[-1]
    assert all(isinstance(p, str) for p in pieces) and len(pieces) > 3
    assert isinstance(final, Answer)
    assert final.text == "Run git clean -n [1] to preview ."
    assert [s.source for s in final.citations] == ["git-clean.html"]
    assert final.model == "fake-model"
    assert set(final.meta) == {"search_ms", "prompt_ms", "first_token_ms", "generation_ms"}
    assert retriever.questions == [("preview a clean?", ("everyone", "hr"))]


def test_conversation_context_is_bounded_and_passed_to_the_model():
    model = FakeChatModel("ok [1]")
    service = AnswerService(FakeRetriever(Findings(True, SOURCES, ())), model, history_tokens=30)
    history = [Turn("user", "x" * 400), Turn("assistant", "short earlier answer")]
    run(service.ask("follow-up?", history=history))
    roles = [m["role"] for m in model.prompts[0]]
    assert roles == ["system", "assistant", "user"]  # the long old turn did not fit


def test_model_errors_reach_the_caller_as_domain_errors():
    model = FakeChatModel(error=ModelUnavailable("cannot reach the language model at x"))
    service = AnswerService(FakeRetriever(Findings(True, SOURCES, ())), model)
    with pytest.raises(ModelUnavailable, match="cannot reach"):
        run(service.ask("anything"))
