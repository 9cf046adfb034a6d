"""Answers record what training needs to trust them, and only such answers are trained on."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from bot.domain.answering import PROMPT_VERSION, Source
from bot.domain.conversation import Place
from bot.domain.ports import Findings
from bot.services.chat import Answered
from bot.services.training import feedback_item, feedback_items
from tests.unit.test_chat import ALICE, chat, collect  # noqa: F401 (chat is a fixture)
from training.dataset import build_dataset
from training.prompt import PROMPT_VERSION as TRAINING_PROMPT_VERSION

GIVEN = (
    Source(1, "handbook.md", "Handbook", "Leave", "Leave is 25 days.", version="v1"),
    Source(2, "pay.md", "Pay", "Bonus", "Bonuses are paid in March.", "", "v7", ("eng",)),
)


def ask(service, retriever, place, question="How long is leave?"):
    retriever.findings = Findings(True, GIVEN, ())
    answered = collect(service.ask(ALICE, place, question))[-1]
    assert isinstance(answered, Answered)
    return asyncio.run(service.jobs.answer(answered.answer_id))


def test_a_channel_answer_records_its_prompt_audiences_place_and_passage_versions(chat):  # noqa: F811
    service, retriever, _model, _sender, access = chat
    access.set_channel_groups("slack", "C1", ["eng"])
    access.grant("slack", "U1", "hr")
    record = ask(service, retriever, Place("slack", "C1"))

    assert PROMPT_VERSION == TRAINING_PROMPT_VERSION  # the bot and training agree on the prompt
    assert record.prompt_version == PROMPT_VERSION
    assert record.audiences == ("eng", "everyone")  # what the answer could use
    assert record.asker_audiences == ("everyone", "hr")  # who asked
    assert (record.place, record.channel, record.history_turns) == ("channel", "C1", 0)
    assert record.adapter_version == ""  # the base model wrote it
    # every passage the model saw, numbered as it saw them; only the cited one is "shown"
    assert [(p["n"], p["version"], p["audiences"], p["shown"]) for p in record.passages] == [
        (1, "v1", ["everyone"], True),
        (2, "v7", ["eng"], False),
    ]
    dm = ask(service, retriever, Place("slack", "D1", direct=True))
    assert (dm.place, dm.audiences) == ("dm", ("everyone", "hr"))


def test_only_answers_with_trusted_records_become_training_examples(chat):  # noqa: F811
    service, retriever, _model, _sender, _access = chat
    record = ask(service, retriever, Place("slack", "C1"))
    item = feedback_item(record, "up")
    assert item is not None and item.place_public and item.asker_audiences == ("everyone",)
    assert [p.doc_version for p in item.passages] == ["v1", "v7"]
    assert item.passages[1].audiences == ("eng",)

    before = replace(record, audiences=None, place="", prompt_version="")  # pre-0008 row
    assert feedback_item(before, "up") is None
    assert feedback_item(replace(record, prompt_version="0ld"), "up") is None
    assert feedback_item(replace(record, history_turns=2), "up") is None
    unversioned = tuple({**p, "version": ""} for p in record.passages)
    assert feedback_item(replace(record, passages=unversioned), "up") is None

    # a restricted passage among those given keeps the answer out of an everyone adapter
    kept = feedback_items([(record, "up", ""), (before, "up", "")])
    assert len(kept) == 1
    dataset = build_dataset([], kept)
    assert not any(ex.origin == "thumbs_up" for ex in dataset.examples)
    public = replace(record, passages=record.passages[:1])
    dataset = build_dataset([], feedback_items([(public, "up", "")]))
    assert [ex.origin for ex in dataset.examples] == ["thumbs_up"]
    assert "Leave is 25 days" in dataset.examples[0].completion
