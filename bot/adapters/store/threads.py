"""The earlier turns of threads the bot answered in: a thread's conversation context, in
SQL so that every bot replica sees it and a restart forgets nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import delete, exc, select
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.store.models import ThreadTurnRow
from bot.domain.answering import Turn
from bot.domain.errors import StoreUnavailable

# the database could not be reached (down, restarting, pool exhausted); anything else is a
# bug and stays loud
_UNREACHABLE = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)


@contextmanager
def _reachable(what: str) -> Iterator[None]:
    try:
        yield
    except _UNREACHABLE as error:
        raise StoreUnavailable(f"thread turns: {what}: {type(error).__name__}") from error


class ThreadRepository:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def knows(self, thread_key: str) -> bool:
        """Whether the bot answered in this thread (and it has not been forgotten since)."""
        query = select(ThreadTurnRow.id).where(ThreadTurnRow.thread_key == thread_key).limit(1)
        with _reachable("knows"), self._sessions() as session:
            return session.scalar(query) is not None

    def turns(self, thread_key: str, limit: int) -> list[Turn]:
        """The thread's last `limit` turns, oldest first."""
        query = (
            select(ThreadTurnRow.role, ThreadTurnRow.text)
            .where(ThreadTurnRow.thread_key == thread_key)
            .order_by(ThreadTurnRow.id.desc())
            .limit(limit)
        )
        with _reachable("turns"), self._sessions() as session:
            rows = session.execute(query).all()
        return [Turn(role, text) for role, text in reversed(rows)]

    def add(self, thread_key: str, question: str, answer: str, keep: int) -> None:
        """Append a question and its answer, and delete all but the thread's last `keep`
        turns: only those are ever read, and an employee's words are kept no longer than
        they serve."""
        with _reachable("add"), self._sessions.begin() as session:
            session.add_all(
                [
                    ThreadTurnRow(thread_key=thread_key, role="user", text=question),
                    ThreadTurnRow(thread_key=thread_key, role="assistant", text=answer),
                ]
            )
            session.flush()
            oldest_kept = session.scalar(
                select(ThreadTurnRow.id)
                .where(ThreadTurnRow.thread_key == thread_key)
                .order_by(ThreadTurnRow.id.desc())
                .offset(max(keep, 2) - 1)
                .limit(1)
            )
            if oldest_kept is not None:
                session.execute(
                    delete(ThreadTurnRow).where(
                        ThreadTurnRow.thread_key == thread_key, ThreadTurnRow.id < oldest_kept
                    )
                )

    def forget(self, before: datetime) -> int:
        """Delete turns older than `before` (a thread idle since then is forgotten whole,
        and its replies need a mention again); how many went."""
        with _reachable("forget"), self._sessions.begin() as session:
            done = session.execute(delete(ThreadTurnRow).where(ThreadTurnRow.created_at < before))
            return int(done.rowcount)  # type: ignore[attr-defined]
