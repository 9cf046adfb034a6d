"""Rated answers as the learning loop's examples: only those whose record can be trusted."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.feedback import AnswerRecord
from bot.domain.jobs import Job, JobStatus, ReplyTo
from bot.domain.ports import RatedAnswers
from bot.services.jobs import JobService
from training.examples import EVERYONE, FeedbackItem, Passage
from training.feedback import usable as usable_item
from training.prompt import PROMPT_VERSION

log = logging.getLogger(__name__)

TRAIN_KIND = "train"
ACTIVE = (JobStatus.UNSENT, JobStatus.QUEUED, JobStatus.RUNNING)


def feedback_item(record: AnswerRecord, rating: str, correction: str = "") -> FeedbackItem | None:
    """The training view of a rated answer; None when its record cannot be trusted: written
    before provenance was kept, under another prompt, with thread context the training
    prompt would not show, or with passages that lack their document version."""
    if not record.has_provenance or record.prompt_version != PROMPT_VERSION:
        return None
    if record.history_turns or not record.passages:
        return None
    passages = _passages(record.passages)
    if passages is None:
        return None
    return FeedbackItem(
        question=record.question,
        answer=record.answer,
        rating=rating,
        passages=passages,
        correction=correction,
        # what the answer could draw on decides who may learn from it
        asker_audiences=tuple(record.audiences or ()),
        place_public=record.place == "channel",
        learner=record.learner,
        answer_id=record.id,
    )


def feedback_items(rated: Iterable[tuple[AnswerRecord, str, str]]) -> list[FeedbackItem]:
    items = (feedback_item(record, rating, fix) for record, rating, fix in rated)
    return [item for item in items if item is not None]


def _passages(recorded: Sequence[dict[str, Any]]) -> tuple[Passage, ...] | None:
    ordered = sorted(recorded, key=lambda p: int(p.get("n", 0)))
    if [int(p.get("n", 0)) for p in ordered] != list(range(1, len(ordered) + 1)):
        return None  # not the full prompt: the numbering would not match the reply's [n]
    if any(not p.get("version") or "audiences" not in p for p in ordered):
        return None
    return tuple(
        Passage(
            source=str(p.get("source", "")),
            title=str(p.get("title", "")),
            section=str(p.get("section", "")),
            text=str(p.get("text", "")),
            audiences=tuple(p.get("audiences") or (EVERYONE,)),
            doc_version=str(p["version"]),
        )
        for p in ordered
    )


@dataclass(frozen=True)
class Readiness:
    """Whether the learning loop has enough new to learn from, and what it would do."""

    new_feedback: int  # rated answers usable for training, since the last run
    new_passages: int  # passages of material ingested since the last run
    threshold: int
    since: datetime | None  # when the last successful run started (None: never)
    active: Job | None  # the training job queued or running now, if any

    @property
    def new(self) -> int:
        return self.new_feedback + self.new_passages

    @property
    def due(self) -> bool:
        return self.active is None and self.new >= self.threshold

    def as_dict(self) -> dict[str, Any]:
        return {
            "new_feedback": self.new_feedback,
            "new_passages": self.new_passages,
            "threshold": self.threshold,
            "since": self.since.isoformat() if self.since else None,
            "active_job": self.active.id if self.active else None,
            "due": self.due,
        }


@dataclass(frozen=True)
class TrainRequest:
    readiness: Readiness
    job: Job | None = None
    reason: str = ""  # why no job was started


class TrainingService:
    """Starts training jobs: one at a time, when enough is new (or when told to)."""

    def __init__(
        self,
        jobs: JobService,
        records: RatedAnswers,
        *,
        threshold: int,
        steps: int = 0,
        allowed: Sequence[str] = (EVERYONE,),
    ) -> None:
        self.jobs = jobs
        self.records = records
        self.threshold = threshold
        self.steps = steps  # the job's progress total
        self.allowed = tuple(allowed)

    def readiness(self) -> Readiness:
        done = self.jobs.recent(kind=TRAIN_KIND, statuses=[JobStatus.DONE], limit=1)
        since = done[0].created_at if done else None
        items = feedback_items(self.records.rated(since))
        usable = [i for i in items if usable_item(i, self.allowed)]
        active = self.jobs.recent(kind=TRAIN_KIND, statuses=list(ACTIVE), limit=1)
        return Readiness(
            new_feedback=len(usable),
            new_passages=self.records.new_passages(since, self.allowed),
            threshold=self.threshold,
            since=since,
            active=active[0] if active else None,
        )

    def request(
        self, *, force: bool = False, requested_by: str = "", reply_to: ReplyTo | None = None
    ) -> TrainRequest:
        """Queue a training job if none is active and enough is new (or `force`)."""
        ready = self.readiness()
        if ready.active is not None:
            why = f"training job {ready.active.id} is already {ready.active.status}"
            return TrainRequest(ready, reason=why)
        if not force and not ready.due:
            why = (
                f"{ready.new} new examples since the last run; {ready.threshold} start one "
                "(`learnloop train --now` trains anyway)"
            )
            return TrainRequest(ready, reason=why)
        job = self.jobs.submit(
            TRAIN_KIND,
            {"forced": force, "new": ready.new},
            total=self.steps,
            requested_by=requested_by,
            reply_to=reply_to,
        )
        log.info("training job=%s queued new=%d forced=%s", job.id, ready.new, force)
        return TrainRequest(ready, job)
