"""Messages being streamed into, kept while they stream: each held by its process under a
lease it renews; one whose holder stopped renewing (it died mid-answer) is claimed by a
live process of the same platform (a conditional UPDATE), which marks it interrupted."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.store.leases import take_expired
from bot.adapters.store.models import StreamMarkRow
from bot.domain.jobs import utcnow

STREAMING, INTERRUPTED = "streaming", "interrupted"


@dataclass(frozen=True)
class StreamRecord:
    id: str
    platform: str
    channel: str
    message_id: str
    reference: dict[str, Any]
    text: str
    attempts: int


class StreamRepository:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def begin(
        self,
        platform: str,
        channel: str,
        message_id: str,
        reference: dict[str, Any],
        owner: str,
        lease_seconds: float,
    ) -> str:
        """Keep a message that is now being streamed into; its record's id."""
        row = StreamMarkRow(
            id=uuid.uuid4().hex,
            platform=platform,
            channel=channel,
            message_id=message_id,
            reference=reference,
            text="",
            state=STREAMING,
            owner=owner,
            lease_until=utcnow() + timedelta(seconds=lease_seconds),
            attempts=0,
        )
        with self.sessions.begin() as session:
            session.add(row)
        return row.id

    def progress(self, record_id: str, text: str) -> None:
        with self.sessions.begin() as session:
            session.execute(
                update(StreamMarkRow).where(StreamMarkRow.id == record_id).values(text=text)
            )

    def end(self, record_id: str) -> None:
        """The message is finished (or marked): forget it."""
        with self.sessions.begin() as session:
            session.execute(delete(StreamMarkRow).where(StreamMarkRow.id == record_id))

    def renew(self, owner: str, lease_seconds: float) -> None:
        """`owner` is alive: its streams are not to be marked for another lease."""
        with self.sessions.begin() as session:
            session.execute(
                update(StreamMarkRow)
                .where(StreamMarkRow.owner == owner, StreamMarkRow.state == STREAMING)
                .values(lease_until=utcnow() + timedelta(seconds=lease_seconds))
            )

    def claim(
        self, platform: str, owner: str, lease_seconds: float, limit: int = 50
    ) -> list[StreamRecord]:
        """`platform`'s messages whose holder's lease ran out, now held by `owner` as
        interrupted (a marking that fails is claimed again once this lease runs out)."""
        return take_expired(
            self.sessions,
            StreamMarkRow.id,
            [StreamMarkRow.platform == platform, StreamMarkRow.lease_until < utcnow()],
            order_by=StreamMarkRow.started_at,
            values=lambda: {
                "owner": owner,
                "state": INTERRUPTED,
                "lease_until": utcnow() + timedelta(seconds=lease_seconds),
                "attempts": StreamMarkRow.attempts + 1,
            },
            read=lambda session, record_id: _record(session.get_one(StreamMarkRow, record_id)),
            limit=limit,
        )

    def streaming(self, platform: str) -> list[StreamRecord]:
        """Every message of `platform` on record (operators and tests)."""
        with self.sessions() as session:
            rows = session.scalars(
                select(StreamMarkRow)
                .where(StreamMarkRow.platform == platform)
                .order_by(StreamMarkRow.started_at)
            ).all()
            return [_record(row) for row in rows]


def _record(row: StreamMarkRow) -> StreamRecord:
    return StreamRecord(
        row.id,
        row.platform,
        row.channel,
        row.message_id,
        dict(row.reference),
        row.text,
        row.attempts,
    )
