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
        from bot.domain.quiz import visible

        found = [
            p
            for p in self.all
            if (audiences is None or visible(p.audience, audiences))
            and topic.lower() in p.text.lower()
        ]
        return found[:limit] if limit is not None else found

    def documents(self):
        from bot.domain.quiz import Live

        return {p.origin.doc_id: Live(p.version, p.audience) for p in self.all}

    def texts(self, doc_id):
        return frozenset(p.text for p in self.all if p.origin.doc_id == doc_id)


class FakeAdapterServer:
    """An inference server's LoRA endpoints in memory; `down` makes every call fail."""

    def __init__(self, url: str, loaded: dict[str, str] | None = None) -> None:
        self.url = url
        self.adapters = dict(loaded or {})
        self.down = False

    def _check(self):
        from training.serving import AdapterServerError

        if self.down:
            raise AdapterServerError(f"{self.url} cannot be reached")

    async def loaded(self):
        self._check()
        return set(self.adapters)

    async def load(self, name, path):
        self._check()
        self.adapters[name] = path

    async def unload(self, name):
        self._check()
        self.adapters.pop(name, None)


def fake_trainer(run_dir):
    """A `training.cycle.Trainer` that writes a PEFT-shaped folder and records its examples."""
    from training.train import TrainResult

    seen = []

    def train(examples, config, on_progress=None):
        seen.append(list(examples))
        adapter = run_dir / f"adapter-{len(seen)}"
        adapter.mkdir(parents=True)
        (adapter / "adapter_config.json").write_text('{"peft_type": "LORA"}')
        return TrainResult(adapter, config.max_steps, 100, 1.0, "steps", 0, "cpu")

    train.seen = seen
    return train
