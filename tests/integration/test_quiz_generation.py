"""Quiz items from the real corpus, checked by rules written apart from the generator's."""

from __future__ import annotations

import asyncio

import pytest

from bot.adapters.material import material_passages
from bot.adapters.quiz_writer import ModelQuizWriter
from bot.domain.quiz import vocabulary_of
from bot.services.quiz_writing import generate
from inference.client import ChatClient
from inference.models import SERVED_NAME
from tests.quiz_check import as_json, corpus_texts, independently_valid

pytestmark = pytest.mark.integration


def test_cloze_items_on_the_corpus_are_all_valid(corpus):
    passages = material_passages(corpus)
    items, report = asyncio.run(generate(passages, 40, writer=None))
    assert len(items) >= 30 and report.cloze_kept == len(items)
    texts = corpus_texts(corpus)
    assert all(independently_valid(as_json(i), texts) for i in items)
    assert len({i.passage.source for i in items}) >= 20  # spread over the documents


@pytest.mark.slow
def test_model_items_fall_back_and_every_kept_item_is_valid(corpus, inference_server):
    # more passages than items: one without a key term to blank yields no cloze fallback
    passages = material_passages(corpus, topic="remove untracked files")[:6]
    everything = material_passages(corpus)  # the distractor pool is the whole material

    async def run():
        client = ChatClient(inference_server, SERVED_NAME)
        try:
            return await generate(
                passages, 2, ModelQuizWriter(client), vocabulary_of(everything), concurrency=2
            )
        finally:
            await client.close()

    items, report = asyncio.run(run())
    assert report.model_tried >= 2 and len(items) == 2
    assert report.model_kept + report.cloze_kept == 2
    texts = corpus_texts(corpus)
    valid = sum(independently_valid(as_json(i), texts) for i in items)
    assert valid / len(items) >= 0.95
