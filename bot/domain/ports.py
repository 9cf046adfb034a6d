"""What the service needs from the outside world: small protocols, implemented elsewhere."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.domain.analytics import Report
from bot.domain.answering import Source
from bot.domain.conversation import Actor
from bot.domain.feedback import AnswerRecord, Feedback
from bot.domain.jobs import Job, JobStatus, ReplyTo
from bot.domain.material import ChunkView, DocumentInfo, ReviewItem
from bot.domain.quiz import Attempt, Live, Origin, Passage, QuizItem
from bot.domain.quiz import Session as QuizSession
from bot.domain.web import AdminAction, WebSession


@dataclass(frozen=True)
class Findings:
    relevant: bool
    sources: tuple[Source, ...]
    topics: tuple[str, ...]


class Retriever(Protocol):
    async def find(self, question: str, audiences: Sequence[str], k: int) -> Findings: ...


class ChatModel(Protocol):
    @property
    def name(self) -> str:
        """The model (or LoRA adapter) the latest reply came from."""
        ...

    async def complete(self, messages: list[dict[str, str]], max_tokens: int) -> str: ...

    def stream(self, messages: list[dict[str, str]], max_tokens: int) -> AsyncIterator[str]:
        """The reply's text pieces; answers record `written_by(reply, model)`."""
        ...

    async def aclose(self) -> None: ...


def written_by(reply: AsyncIterator[str], model: ChatModel) -> str:
    """The model (or adapter) that wrote a streamed reply: the reply's own `model` when it
    keeps one (a model that picks the active adapter per request), else `model.name`."""
    return str(getattr(reply, "model", "") or model.name)


class Material(Protocol):
    """The training material as quizzes see it, and the catalog's current state."""

    def passages(
        self, audiences: Sequence[str] | None, topic: str = "", limit: int | None = 200
    ) -> Sequence[Passage]: ...

    def documents(self) -> Mapping[str, Live]: ...

    def texts(self, doc_id: str) -> frozenset[str]: ...


class QuizWriter(Protocol):
    async def write(self, passage: Passage) -> QuizItem | None: ...


class TaskSender(Protocol):
    def send(self, name: str, args: list[Any], *, expires: float) -> None: ...


class SignInLinks(Protocol):
    """One-time sign-in links, by the hash of their token."""

    def add_link(self, token_hash: str, actor: Actor, expires_at: datetime) -> None: ...

    def links_since(self, actor_key: str, since: datetime) -> int: ...

    def take_link(self, token_hash: str, now: datetime) -> Actor | None:
        """The link's user, marking it used; None when unknown, used or expired."""
        ...


class WebSessions(Protocol):
    """Signed-in browsers, by the hash of their session id."""

    def add_session(self, id_hash: str, session: WebSession) -> None: ...

    def session(self, id_hash: str, now: datetime) -> WebSession | None: ...

    def end_session(self, id_hash: str) -> None: ...

    def forget_expired(self, now: datetime) -> int:
        """Drop expired sessions (and links past the rate limit's window)."""
        ...


class PendingQuestions(Protocol):
    """Questions posted in the web console and not yet streamed, by the hash of their id."""

    def add_question(
        self, id_hash: str, user_key: str, conversation: str, question: str, expires_at: datetime
    ) -> None: ...

    def take_question(self, id_hash: str, user_key: str, now: datetime) -> tuple[str, str] | None:
        """(conversation, question), removed; None when unknown, another's, taken or expired."""
        ...


class AdminLog(Protocol):
    def record(self, action: AdminAction) -> None: ...

    def recent(self, limit: int) -> Sequence[AdminAction]: ...


class Catalog(Protocol):
    """The indexed documents as the console manages them."""

    def documents(self) -> Sequence[DocumentInfo]: ...

    def chunks(self, doc_id: str) -> Sequence[ChunkView]:
        """The chunks of the document's live version, in order."""
        ...

    def remove(self, source: str) -> DocumentInfo | None: ...

    def original(self, source: str) -> str | None:
        """The file a queued job last ingested the document from, if it is still there."""
        ...


class ReviewQueue(Protocol):
    def items(self, limit: int) -> Sequence[ReviewItem]:
        """Unanswered questions and 👎 answers, newest first."""
        ...


# -- jobs and feedback (services/jobs.py, its callers in console.py and training.py) --------
class JobRecords(Protocol):
    """Jobs as their callers write and list them."""

    def create(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        total: int = 0,
        requested_by: str = "",
        reply_to: ReplyTo | None = None,
    ) -> Job:
        """Write the job as `unsent`: it exists before any message does."""
        ...

    def get(self, job_id: str) -> Job:
        """The job; `JobNotFound` when there is none."""
        ...

    def recent(
        self, *, statuses: Sequence[JobStatus] = (), kind: str = "", limit: int = 100
    ) -> list[Job]: ...


class JobDispatch(Protocol):
    """Where a job's message stands with the broker."""

    def mark_queued(self, job_id: str) -> None: ...

    def mark_unsent(self, job_id: str, error: str, code: str) -> None: ...

    def reset_for_retry(self, job_id: str) -> Job: ...


class JobSweep(Protocol):
    """Jobs whose worker vanished or whose message never left."""

    def sweep_candidates(self, now: datetime, stale_before: datetime) -> list[Job]: ...

    def release(self, job_id: str, now: datetime, *, stale_before: datetime) -> bool:
        """Take the job back to be sent again; False when another sweeper got there first."""
        ...

    def fail(self, job_id: str, error: str, code: str) -> None: ...


class JobStore(JobRecords, JobDispatch, JobSweep, Protocol):
    """Everything `JobService` asks of the jobs table."""


class AnswerLog(Protocol):
    """Answers as they were shown, and the feedback on them."""

    def record_answer(self, record: AnswerRecord) -> None: ...

    def answer(self, answer_id: str) -> AnswerRecord | None: ...

    def add(self, event: Feedback) -> bool:
        """Store the event; False when it was stored already."""
        ...


class RatedAnswers(Protocol):
    """What the learning loop counts before it starts a training job."""

    def rated(
        self, since: datetime | None = None, limit: int = 100_000
    ) -> list[tuple[AnswerRecord, str, str]]:
        """(answer, rating, correction) for each answer's latest 👍 or correction."""
        ...

    def new_passages(self, since: datetime | None, allowed: Sequence[str]) -> int: ...


# -- quizzes (services/learning.py) and review reminders (services/reminders.py) ------------
class QuestionBank(Protocol):
    def save_items(self, items: Sequence[QuizItem]) -> None: ...

    def set_sources(self, item_id: str, sources: Sequence[Origin]) -> None: ...

    def unchecked(self, item_ids: Sequence[str]) -> set[str]:
        """Those of the items whose sources have not been checked yet."""
        ...

    def item(self, item_id: str) -> QuizItem | None: ...

    def items(self, item_ids: Sequence[str]) -> dict[str, QuizItem]: ...

    def bank(self, audiences: Sequence[str], source: str = "") -> list[QuizItem]: ...


class QuizSessions(Protocol):
    def start_session(
        self, learner_id: str, item_ids: Sequence[str], now: datetime
    ) -> QuizSession: ...

    def session(self, session_id: str) -> QuizSession | None: ...

    def active_session(self, learner_id: str) -> QuizSession | None: ...

    def advance(self, session_id: str, correct: bool, now: datetime) -> QuizSession: ...

    def drop_from_session(self, session_id: str, item_id: str) -> QuizSession | None: ...

    def stop(self, session_id: str) -> QuizSession | None: ...


class QuizAttempts(Protocol):
    def record_attempt(
        self, learner_id: str, item_id: str, picked: str, correct: bool, now: datetime
    ) -> None: ...

    def attempts(self, learner_id: str) -> list[Attempt]: ...


class ReviewSchedule(Protocol):
    """Each learner's FSRS cards, by quiz item."""

    def card(self, learner_id: str, item_id: str) -> dict[str, Any] | None: ...

    def save_card(
        self, learner_id: str, item_id: str, due: datetime, card: dict[str, Any]
    ) -> None: ...

    def drop_card(self, learner_id: str, item_id: str) -> None: ...

    def due(self, learner_id: str, now: datetime) -> list[str]: ...


class QuizStore(QuestionBank, QuizSessions, QuizAttempts, ReviewSchedule, Protocol):
    """Everything `LearningService` asks of the quiz tables."""


class DueReviews(Protocol):
    def due_counts(self, now: datetime) -> dict[str, int]:
        """Learner id → reviews due by `now`, for learners with any."""
        ...


class ReminderSettings(Protocol):
    """A learner's reminder preference and the accounts a reminder can reach."""

    def reminder_state(self, learner_id: str) -> tuple[bool, str, datetime | None]:
        """(reminders on, time zone, when the last reminder went)."""
        ...

    def accounts(self, learner_id: str) -> list[tuple[str, str]]:
        """(platform, user id) of each of the learner's accounts."""
        ...

    def set_reminders(
        self,
        learner_id: str,
        *,
        on: bool | None = None,
        timezone: str | None = None,
        reminded_at: datetime | None = None,
    ) -> None: ...


# -- the admin report (services/reports.py) --------------------------------------------------
class Analytics(Protocol):
    def report(self, now: datetime, days: int) -> Report:
        """The `days` up to `now`; `StoreUnavailable` when the store cannot be reached."""
        ...


class ReportChart(Protocol):
    def __call__(self, report: Report, days: int) -> bytes | None:
        """The report as a PNG; None when there is nothing to draw yet."""
        ...
