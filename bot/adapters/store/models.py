"""SQL tables shared by the bot and the workers (SQLite by default, PostgreSQL in production).

The schema itself is owned by the Alembic migrations beside this module; these classes
must match them (a test compares the two)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.domain.jobs import utcnow


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (which drops the zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class JobRow(Base):
    """A background job (ingest now; training later): its state, progress and lease."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    error_code: Mapped[str] = mapped_column(String(64), default="")
    requested_by: Mapped[str] = mapped_column(String(255), default="")
    reply_to: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lease_owner: Mapped[str] = mapped_column(String(255), default="")
    lease_expires: Mapped[datetime | None] = mapped_column(nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)


class DocumentRow(Base):
    """The SQL mirror of the index catalog: what was ingested, when, and by which job."""

    __tablename__ = "documents"

    source: Mapped[str] = mapped_column(String(512), primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[str] = mapped_column(String(64))
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    audiences: Mapped[list[Any]] = mapped_column(default=list)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"), nullable=True)
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnswerRow(Base):
    """An answer as it was given, so feedback on it can name exactly what was shown."""

    __tablename__ = "answers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    passages: Mapped[list[Any]] = mapped_column(default=list)
    model: Mapped[str] = mapped_column(String(255), default="")
    adapter_version: Mapped[str] = mapped_column(String(255), default="")
    learner: Mapped[str] = mapped_column(String(255), default="")
    platform: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # provenance (migration 0008): NULL audiences mark answers from before it, never trained on
    prompt_version: Mapped[str] = mapped_column(String(32), default="")
    asker_audiences: Mapped[list[Any] | None] = mapped_column(
        JSON(none_as_null=True), nullable=True, default=None
    )
    audiences: Mapped[list[Any] | None] = mapped_column(
        JSON(none_as_null=True), nullable=True, default=None
    )
    place: Mapped[str] = mapped_column(String(16), default="")
    channel: Mapped[str] = mapped_column(String(255), default="")
    history_turns: Mapped[int] = mapped_column(Integer, default=0)


class FeedbackRow(Base):
    """A 👍, 👎 or correction on an answer: the raw material of fine-tuning."""

    __tablename__ = "feedback_events"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    answer_id: Mapped[str] = mapped_column(String(64), index=True)
    rating: Mapped[str] = mapped_column(String(16))
    correction: Mapped[str] = mapped_column(Text, default="")
    question: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str] = mapped_column(Text, default="")
    passages: Mapped[list[Any]] = mapped_column(default=list)
    model: Mapped[str] = mapped_column(String(255), default="")
    adapter_version: Mapped[str] = mapped_column(String(255), default="")
    learner: Mapped[str] = mapped_column(String(255), default="")
    platform: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LearnerRow(Base):
    __tablename__ = "learners"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # review reminders: opt-out, the learner's own time zone (IANA name), the last one sent
    email: Mapped[str] = mapped_column(String(255), default="", index=True)
    timezone: Mapped[str] = mapped_column(String(64), default="")
    reminders: Mapped[bool] = mapped_column(Boolean, default=True)
    reminded_at: Mapped[datetime | None] = mapped_column(nullable=True)


class PlatformAccountRow(Base):
    """A learner's Slack or Teams identity (one learner may have several)."""

    __tablename__ = "platform_accounts"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    learner_id: Mapped[str] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    # the account's workspace (a Slack team, a Teams tenant): whose bot token reaches it
    team_id: Mapped[str] = mapped_column(String(255), default="")


class LearnerAudienceRow(Base):
    """Membership of a learner in an audience (group), which decides what they may see."""

    __tablename__ = "learner_audiences"

    learner_id: Mapped[str] = mapped_column(
        ForeignKey("learners.id", ondelete="CASCADE"), primary_key=True
    )
    audience: Mapped[str] = mapped_column(String(64), primary_key=True)


class QuizItemRow(Base):
    __tablename__ = "quiz_items"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(512), default="")
    section: Mapped[str] = mapped_column(Text, default="")
    question: Mapped[str] = mapped_column(Text)
    choices: Mapped[list[Any]] = mapped_column(default=list)
    answer: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[str] = mapped_column(String(512), default="everyone")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # provenance: the passage asked about and the document version it came from
    passage: Mapped[str] = mapped_column(Text, default="")
    doc_version: Mapped[str] = mapped_column(String(64), default="")
    origin: Mapped[str] = mapped_column(String(16), default="cloze")
    # every document version the item's text came from ([doc_id, version, [audience…]]),
    # the passage's first; NULL for items banked before it was kept, [] once such an item
    # was re-checked and its provenance could not be re-established
    sources: Mapped[list[Any] | None] = mapped_column(
        JSON(none_as_null=True), nullable=True, default=None
    )


class QuizAttemptRow(Base):
    __tablename__ = "quiz_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    learner_id: Mapped[str] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    quiz_item_id: Mapped[str] = mapped_column(ForeignKey("quiz_items.id", ondelete="CASCADE"))
    response: Mapped[str] = mapped_column(Text, default="")
    correct: Mapped[bool] = mapped_column(Boolean)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScheduleRow(Base):
    """When a learner next reviews a quiz item (spaced repetition state as JSON)."""

    __tablename__ = "review_schedules"

    learner_id: Mapped[str] = mapped_column(
        ForeignKey("learners.id", ondelete="CASCADE"), primary_key=True
    )
    quiz_item_id: Mapped[str] = mapped_column(
        ForeignKey("quiz_items.id", ondelete="CASCADE"), primary_key=True
    )
    due: Mapped[datetime] = mapped_column(index=True)
    card: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ChannelAudienceRow(Base):
    """An audience a channel may see: its answers use only material for these (and everyone)."""

    __tablename__ = "channel_audiences"

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(255), primary_key=True)
    audience: Mapped[str] = mapped_column(String(64), primary_key=True)


class QuizSessionRow(Base):
    """A quiz in progress in a DM: its questions, where the learner is, and the score."""

    __tablename__ = "quiz_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    learner_id: Mapped[str] = mapped_column(
        ForeignKey("learners.id", ondelete="CASCADE"), index=True
    )
    items: Mapped[list[Any]] = mapped_column(default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    correct: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="active")
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ThreadTurnRow(Base):
    """A turn (the question or the answer) in a thread the bot answered in: the context of
    the thread's later replies, shared by every bot replica and kept across restarts."""

    __tablename__ = "thread_turns"

    # the order of turns within a thread (a sequence: timestamps of one answer's two
    # turns may tie)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    thread_key: Mapped[str] = mapped_column(String(512), index=True)
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SlackInboxRow(Base):
    """A Slack event acknowledged to Slack: written before the 200, answered exactly once
    by whichever bot process holds its lease (a process that dies leaves it to another)."""

    __tablename__ = "slack_inbox"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(128), default="")
    lease_until: Mapped[datetime] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)


class AdapterRow(Base):
    """A LoRA adapter the learning loop trained (training/registry.py's `AdapterRecord`):
    one row per version, names never reused, at most one active (the database holds both)."""

    __tablename__ = "adapters"
    __table_args__ = (
        Index(
            "one_active_adapter",
            "status",
            unique=True,
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
    )

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    base_model: Mapped[str] = mapped_column(String(255))
    prompt_version: Mapped[str] = mapped_column(String(32), default="")
    dataset_hash: Mapped[str] = mapped_column(String(128), default="")
    path: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="candidate")
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(nullable=True)


class WebLinkRow(Base):
    """A one-time sign-in link to the web console: only the hash of its token is kept."""

    __tablename__ = "web_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_key: Mapped[str] = mapped_column(String(255), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(255))
    team_id: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)


class WebSessionRow(Base):
    """A signed-in browser: the hash of its session id, whom it acts as, until when."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(255))
    team_id: Mapped[str] = mapped_column(String(255), default="")
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class WebQuestionRow(Base):
    """A question posted in the console, waiting for its answer stream (EventSource can
    only GET): kept here, not in the process, so any replica serves the stream."""

    __tablename__ = "web_questions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_key: Mapped[str] = mapped_column(String(255))
    conversation: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class AdminActionRow(Base):
    """Something an admin did in the web console (who, what, when, detail)."""

    __tablename__ = "admin_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    who: Mapped[str] = mapped_column(String(255))
    what: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class StreamMarkRow(Base):
    """A chat message an answer is being streamed into, kept while it streams: a message
    left behind by a process that died mid-answer is marked interrupted by another."""

    __tablename__ = "stream_marks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16), index=True)
    channel: Mapped[str] = mapped_column(String(255))  # Slack channel, Teams conversation
    message_id: Mapped[str] = mapped_column(String(255))  # Slack ts, Teams activity id
    reference: Mapped[dict[str, Any]] = mapped_column(default=dict)  # how to reach it again
    text: Mapped[str] = mapped_column(Text, default="")  # shown so far (roughly)
    state: Mapped[str] = mapped_column(String(16), default="streaming")  # or "interrupted"
    owner: Mapped[str] = mapped_column(String(128), default="")
    lease_until: Mapped[datetime] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)


class _GraphPart:
    """The key of a graph row: the document version it belongs to and its place in it."""

    doc_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class GraphConceptRow(_GraphPart, Base):
    """A concept of one version of a document (retrieval/graph), in the document's order:
    the concept vectors in Chroma are matched to concepts by `position`."""

    __tablename__ = "graph_concepts"

    key: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    aliases: Mapped[list[Any]] = mapped_column(default=list)
    mentions: Mapped[list[Any]] = mapped_column(default=list)  # the document's chunk indexes


class GraphRelationRow(_GraphPart, Base):
    """A relation between two concepts (by key) that one version of a document gives."""

    __tablename__ = "graph_relations"

    source: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
