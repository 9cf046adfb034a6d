"""Feedback on answers: 👍, 👎 or a correction, with everything fine-tuning needs."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.domain.answering import PROMPT_VERSION, Answer
from bot.domain.conversation import EVERYONE, Place

RATINGS = frozenset({"up", "down", "correction"})
ADAPTER_PREFIX = "learnloop-v"  # the served names of LearnLoop's LoRA adapters


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class AnswerRecord:
    """An answer as it was shown (the adapters record one per answer they post)."""

    question: str
    answer: str
    passages: tuple[dict[str, Any], ...] = ()
    model: str = ""
    adapter_version: str = ""  # the LoRA adapter that wrote it ("" for the base model)
    learner: str = ""
    platform: str = ""
    id: str = field(default_factory=_new_id)
    created_at: datetime = field(default_factory=_now)
    # provenance training relies on; None (not recorded) for answers from before it was kept,
    # which are never trained on
    prompt_version: str = ""
    asker_audiences: tuple[str, ...] | None = None  # the asker's own groups
    audiences: tuple[str, ...] | None = None  # the material the answer could use
    place: str = ""  # "channel" (others could see it) or "dm"
    channel: str = ""
    history_turns: int = 0  # thread turns in the prompt (training rebuilds prompts without)

    @property
    def has_provenance(self) -> bool:
        return self.audiences is not None and bool(self.place and self.prompt_version)


def answer_record(
    question: str,
    answer: Answer,
    learner: str,
    platform: str,
    place: Place,
    audiences: Iterable[str],
    asker_groups: Iterable[str],
    history_turns: int = 0,
) -> AnswerRecord:
    """The record of an answer: every passage the model saw (`shown`: the ones displayed),
    each with its document version and audiences, and where and for whom it was written."""
    shown = {s.n for s in answer.citations or answer.consulted}
    model = answer.model
    return AnswerRecord(
        question=question,
        answer=answer.text,
        passages=tuple(
            {
                "n": s.n,
                "source": s.source,
                "title": s.title,
                "section": s.section,
                "text": s.text,
                "version": s.version,
                "audiences": list(s.audiences),
                "shown": s.n in shown,
            }
            for s in answer.given or answer.citations or answer.consulted
        ),
        model=model,
        adapter_version=model if model.startswith(ADAPTER_PREFIX) else "",
        learner=learner,
        platform=platform,
        prompt_version=PROMPT_VERSION,
        asker_audiences=tuple(sorted({*asker_groups, EVERYONE})),
        audiences=tuple(sorted(audiences)),
        place="dm" if place.direct else "channel",
        channel=place.channel,
        history_turns=history_turns,
    )


@dataclass(frozen=True)
class Feedback:
    answer_id: str
    rating: str  # up | down | correction
    correction: str = ""
    question: str = ""
    answer: str = ""
    passages: tuple[dict[str, Any], ...] = ()
    model: str = ""
    adapter_version: str = ""
    learner: str = ""
    platform: str = ""
    # made by the adapter, so a redelivered message is stored once
    id: str = field(default_factory=_new_id)
    created_at: datetime = field(default_factory=_now)

    def __post_init__(self) -> None:
        if self.rating not in RATINGS:
            raise ValueError(f"rating must be one of {sorted(RATINGS)}, not {self.rating!r}")
        if self.rating == "correction" and not self.correction.strip():
            raise ValueError("a correction needs its text")

    def to_message(self) -> dict[str, Any]:
        """A JSON-safe dict for the queue."""
        return {
            "id": self.id,
            "answer_id": self.answer_id,
            "rating": self.rating,
            "correction": self.correction,
            "question": self.question,
            "answer": self.answer,
            "passages": list(self.passages),
            "model": self.model,
            "adapter_version": self.adapter_version,
            "learner": self.learner,
            "platform": self.platform,
            "created_at": self.created_at.isoformat(),
        }

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> Feedback:
        fields = dict(data)
        fields["passages"] = tuple(fields.get("passages") or ())
        fields["created_at"] = datetime.fromisoformat(str(fields["created_at"]))
        return cls(**fields)
