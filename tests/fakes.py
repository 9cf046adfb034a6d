"""Hand-written fakes of LearnLoop's own ports."""

from __future__ import annotations

import hashlib
import re

import numpy as np


class FakeEmbedder:
    """Bag-of-words vectors: texts sharing words are similar. Fast and deterministic."""

    def __init__(self, dimension: int = 64) -> None:
        self.dimension = dimension
        self.calls = 0

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dimension, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            slot = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
            vec[slot % self.dimension] += 1.0
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm else vec

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)


class FakeRetriever:
    """Returns the findings it was built with; records what it was asked."""

    def __init__(self, findings) -> None:
        self.findings = findings
        self.questions: list[tuple[str, tuple[str, ...]]] = []

    async def find(self, question, audiences, k):
        self.questions.append((question, tuple(audiences)))
        return self.findings


class FakeChatModel:
    """Streams a scripted reply in pieces; records every prompt it was sent."""

    name = "fake-model"

    def __init__(self, reply: str = "", error: Exception | None = None) -> None:
        self.reply = reply
        self.error = error
        self.prompts: list[list[dict[str, str]]] = []

    async def aclose(self):
        self.closed = True

    async def complete(self, messages, max_tokens):
        self.prompts.append(messages)
        if self.error:
            raise self.error
        return self.reply

    async def stream(self, messages, max_tokens):
        self.prompts.append(messages)
        if self.error:
            raise self.error
        for word in self.reply.split(" "):
            yield word + " "


class FakeMaterial:
    """Training material in memory, as quizzes see it; a test edits `passages` to play an
    admin who re-ingests, narrows or deletes a document."""

    def __init__(self, passages) -> None:
        self.all = list(passages)

    def passages(self, audiences, topic="", limit=200):
        from bot.core.quiz import visible

        found = [
            p
            for p in self.all
            if (audiences is None or visible(p.audience, audiences))
            and topic.lower() in p.text.lower()
        ]
        return found[:limit] if limit is not None else found

    def documents(self):
        from bot.core.quiz import Live

        return {p.origin.doc_id: Live(p.version, p.audience) for p in self.all}

    def texts(self, doc_id):
        return frozenset(p.text for p in self.all if p.origin.doc_id == doc_id)
