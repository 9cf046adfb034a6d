"""Quiz items written by the language model (vLLM or the embedded server) under a JSON
schema; the domain's rules judge them afterwards."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field

from bot.domain.quiz import Passage, QuizItem

if TYPE_CHECKING:
    from inference.client import ChatClient

log = logging.getLogger(__name__)

WRITER_PROMPT = (
    "You write one multiple-choice quiz question about the passage below, for employees "
    "learning this material. Exactly one option is correct and stated in the passage; the "
    "other three are plausible but wrong. Do not put the answer in the question. Give the "
    "index (0-3) of the correct option and a one-sentence explanation quoting the passage."
)


class ModelItem(BaseModel):
    """The JSON the model must return; bounded lengths bound its tokens."""

    question: str = Field(max_length=120)
    options: list[Annotated[str, Field(max_length=60)]] = Field(min_length=4, max_length=4)
    correct: int = Field(ge=0, le=3)
    explanation: str = Field(max_length=150)


class ModelQuizWriter:
    """Items from the language model (vLLM or the embedded server) with structured output."""

    def __init__(self, client: ChatClient, temperature: float = 0.7) -> None:
        self.client = client
        self.temperature = temperature

    async def write(self, passage: Passage) -> QuizItem | None:
        from inference.errors import InferenceError

        messages = [
            {"role": "system", "content": WRITER_PROMPT},
            {"role": "user", "content": f"Passage ({passage.section}):\n{passage.text}"},
        ]
        try:
            raw = await self.client.generate_structured(
                messages, ModelItem, max_tokens=560, temperature=self.temperature
            )
        except InferenceError as exc:
            log.info("model item discarded: %s", exc.code)
            return None
        return QuizItem(
            question=raw.question,
            options=tuple(raw.options),
            correct=raw.correct,
            explanation=raw.explanation,
            passage=passage,
            origin="model",
            sources=(passage.origin,),  # the model saw this passage and nothing else
        )
