"""Admin analytics as plain values: accuracy per topic, material gaps, activity in a period."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TopicAccuracy:
    source: str
    section: str
    attempts: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.attempts if self.attempts else 0.0


@dataclass(frozen=True)
class Report:
    topics: list[TopicAccuracy]
    weakest: list[TopicAccuracy]
    gaps: list[tuple[str, int]]  # questions the material could not answer, with counts
    active_learners: int  # took a quiz in the period
    askers: int  # asked a question in the period
    attempts: int
    answers: int

    def as_json(self) -> dict[str, Any]:
        def topic(t: TopicAccuracy) -> dict[str, Any]:
            return {
                "source": t.source,
                "section": t.section,
                "attempts": t.attempts,
                "correct": t.correct,
                "accuracy": round(t.accuracy, 3),
            }

        return {
            "topics": [topic(t) for t in self.topics],
            "weakest": [topic(t) for t in self.weakest],
            "gaps": [{"question": q, "count": n} for q, n in self.gaps],
            "active_learners": self.active_learners,
            "askers": self.askers,
            "attempts": self.attempts,
            "answers": self.answers,
        }


def counted(n: int, word: str, words: str = "") -> str:
    return f"{n} {word if n == 1 else words or word + 's'}"


def activity(report: Report, days: int) -> str:
    """ "last 30 days: 8 quiz answers by 2 learners; 3 questions from 1 person" """
    return (
        f"last {counted(days, 'day')}: {counted(report.attempts, 'quiz answer')} by "
        f"{counted(report.active_learners, 'learner')}; {counted(report.answers, 'question')} "
        f"from {counted(report.askers, 'person', 'people')}"
    )
