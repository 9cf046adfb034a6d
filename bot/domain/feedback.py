"""Feedback on answers: 👍, 👎 or a correction, with everything fine-tuning needs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

RATINGS = frozenset({"up", "down", "correction"})


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
    adapter_version: str = ""
    learner: str = ""
    platform: str = ""
    id: str = field(default_factory=_new_id)
    created_at: datetime = field(default_factory=_now)


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
