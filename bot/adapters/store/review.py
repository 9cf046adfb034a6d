"""What the console's admins review: unanswered questions and 👎 answers; and the file a
document was last ingested from (for a re-ingest)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.store.models import AnswerRow, DocumentRow, FeedbackRow, JobRow
from bot.domain.material import ReviewItem


class ReviewRepository:
    """Implements the `ReviewQueue` port."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def items(self, limit: int) -> list[ReviewItem]:
        # a refusal is recorded as an answer that showed no passage (as in the report)
        refused = (
            select(AnswerRow)
            .where(func.coalesce(func.json_array_length(AnswerRow.passages), 0) == 0)
            .order_by(AnswerRow.created_at.desc())
            .limit(limit)
        )
        down = (
            select(FeedbackRow)
            .where(FeedbackRow.rating == "down")
            .order_by(FeedbackRow.created_at.desc())
            .limit(limit)
        )
        with self._sessions() as db:
            found = [
                ReviewItem(a.id, "unanswered", a.question, a.answer, a.learner, a.created_at)
                for a in db.scalars(refused)
            ] + [
                ReviewItem(f.answer_id, "down", f.question, f.answer, f.learner, f.created_at)
                for f in db.scalars(down)
            ]
            ids = {item.answer_id for item in found}
            rows = db.execute(
                select(FeedbackRow.answer_id, FeedbackRow.correction)
                .where(FeedbackRow.rating == "correction", FeedbackRow.answer_id.in_(ids))
                .order_by(FeedbackRow.created_at)
            )
            corrections = {answer_id: text for answer_id, text in rows}  # the latest wins
        newest = sorted(found, key=lambda item: item.when, reverse=True)[:limit]
        return [replace(i, correction=corrections.get(i.answer_id, "")) for i in newest]

    def original(self, source: str) -> str | None:
        """The path the job that last ingested `source` read it from, if it still exists."""
        with self._sessions() as db:
            row = db.get(DocumentRow, source)
            job = db.get(JobRow, row.job_id) if row is not None and row.job_id else None
        if job is None:
            return None
        for entry in job.payload.get("files", []):
            if entry.get("source") == source and Path(entry.get("path", "")).is_file():
                return str(entry["path"])
        return None
