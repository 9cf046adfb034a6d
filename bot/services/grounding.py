"""Quotes and sentence checks for the answer service, off the event loop.

Embedding is CPU work: it runs on one thread of its own, so the loop stays free to
acknowledge Slack and Teams, and the remembered passage vectors are only ever touched
from that thread."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from bot.domain.grounding import (
    GroundingPolicy,
    PassageLike,
    Quote,
    RememberingEmbedder,
    SentenceEmbedder,
    Verdict,
    check_sentences,
    passage_texts,
    pick_quotes,
)

T = TypeVar("T")


class Grounder:
    def __init__(
        self,
        embedder: SentenceEmbedder,
        policy: GroundingPolicy | None = None,
        initializer: Callable[[], None] | None = None,
    ) -> None:
        """`initializer` runs once on the grounding thread (e.g. one torch thread there)."""
        self.embedder = (
            embedder if isinstance(embedder, RememberingEmbedder) else RememberingEmbedder(embedder)
        )
        self.policy = policy or GroundingPolicy()
        self._pool = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="grounding", initializer=initializer
        )

    async def _run(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def quotes(self, question: str, passages: Sequence[PassageLike]) -> tuple[Quote, ...]:
        return await self._run(partial(pick_quotes, question, passages, self.embedder, self.policy))

    async def check(
        self, sentences: Sequence[str], passages: Sequence[PassageLike]
    ) -> list[Verdict]:
        if not sentences:
            return []
        return await self._run(
            partial(check_sentences, sentences, passages, self.embedder, self.policy)
        )

    def prepare(self, passages: Sequence[PassageLike]) -> None:
        """Embed these passages' sentences on the grounding thread while the model writes,
        so each sentence check embeds only the model's sentence (checks queue behind it)."""
        self._pool.submit(self.embedder.warm, passage_texts(passages))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
