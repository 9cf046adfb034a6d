"""The Slack inbox: acknowledged events kept in the SQL store until answered, each held by
one process at a time under a lease (a conditional UPDATE), so a dead process's events are
answered by the next one, once; an event taken up again `ANSWERED_AGAIN_AT_MOST` times
(each time its process died) is given up, so one that kills its process cannot kill
every process after it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.store.leases import take_expired
from bot.adapters.store.models import SlackInboxRow
from bot.domain.conversation import ANSWERED_AGAIN_AT_MOST
from bot.domain.jobs import utcnow

TRIES = 1 + ANSWERED_AGAIN_AT_MOST  # `attempts` counts the first answer too


class InboxRepository:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def add(self, event_id: str, body: str, owner: str, lease_seconds: float) -> bool:
        """Keep a new event, held by `owner`; False when it is already kept (a retry)."""
        row = SlackInboxRow(
            event_id=event_id,
            body=body,
            owner=owner,
            lease_until=utcnow() + timedelta(seconds=lease_seconds),
        )
        try:
            with self.sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            return False
        return True

    def claim(
        self, owner: str, lease_seconds: float, held: list[str], limit: int = 50
    ) -> list[tuple[str, str]]:
        """Unanswered events whose holder's lease ran out, now held by `owner` (never one
        in `held`, those `owner` is answering: a late renewal must not answer them twice)."""
        return take_expired(
            self.sessions,
            SlackInboxRow.event_id,
            [
                SlackInboxRow.done_at.is_(None),
                SlackInboxRow.lease_until < utcnow(),
                SlackInboxRow.attempts < TRIES,
                SlackInboxRow.event_id.not_in(held),
            ],
            order_by=SlackInboxRow.received_at,
            values=lambda: {
                "owner": owner,
                "lease_until": utcnow() + timedelta(seconds=lease_seconds),
                "attempts": SlackInboxRow.attempts + 1,
            },
            read=lambda session, event_id: (
                event_id,
                session.get_one(SlackInboxRow, event_id).body,
            ),
            limit=limit,
        )

    def answers_again(self, event_id: str) -> bool:
        """The event is not answered and will be taken up again (or is being, by a
        process that already took it up) after its holder died."""
        with self.sessions() as session:
            row = session.get(SlackInboxRow, event_id)
        return row is not None and row.done_at is None and row.attempts < TRIES

    def give_up(self) -> list[str]:
        """Events whose holder died after they were taken up again as often as allowed:
        marked done unanswered (their ids, for the log)."""
        now = utcnow()
        with self.sessions.begin() as session:
            spent = session.scalars(
                select(SlackInboxRow.event_id).where(
                    SlackInboxRow.done_at.is_(None),
                    SlackInboxRow.lease_until < now,
                    SlackInboxRow.attempts >= TRIES,
                )
            ).all()
            if spent:
                session.execute(
                    update(SlackInboxRow)
                    .where(SlackInboxRow.event_id.in_(spent), SlackInboxRow.done_at.is_(None))
                    .values(done_at=now)
                )
        return list(spent)

    def renew(self, owner: str, event_ids: list[str], lease_seconds: float) -> None:
        if not event_ids:
            return
        with self.sessions.begin() as session:
            session.execute(
                update(SlackInboxRow)
                .where(SlackInboxRow.event_id.in_(event_ids), SlackInboxRow.owner == owner)
                .values(lease_until=utcnow() + timedelta(seconds=lease_seconds))
            )

    def done(self, event_id: str) -> None:
        with self.sessions.begin() as session:
            session.execute(
                update(SlackInboxRow)
                .where(SlackInboxRow.event_id == event_id)
                .values(done_at=utcnow())
            )

    def pending(self) -> int:
        with self.sessions() as session:
            rows = session.scalars(
                select(SlackInboxRow.event_id).where(SlackInboxRow.done_at.is_(None))
            ).all()
        return len(rows)
