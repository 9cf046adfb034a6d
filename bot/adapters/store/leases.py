"""Taking over rows a dead process held: the one lease-claim sweep the Slack inbox and the
stream marks share. A row is taken by a conditional UPDATE that restates the condition it
was found by, so of two processes sweeping at once exactly one takes each row."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

T = TypeVar("T")


def take_expired(
    sessions: sessionmaker[Session],
    key: InstrumentedAttribute[str],
    claimable: Sequence[ColumnElement[bool]],
    order_by: InstrumentedAttribute[Any],
    values: Callable[[], dict[str, Any]],
    read: Callable[[Session, str], T],
    limit: int = 50,
) -> list[T]:
    """Up to `limit` rows meeting `claimable` (oldest first by `order_by`), each updated
    with `values()` in its own transaction while it still meets `claimable`; what `read`
    makes of each row this process won."""
    with sessions() as session:
        candidates = session.scalars(
            select(key).where(*claimable).order_by(order_by).limit(limit)
        ).all()
    table = key.class_
    taken = []
    for row_key in candidates:
        with sessions.begin() as session:
            won = session.execute(update(table).where(key == row_key, *claimable).values(values()))
            if won.rowcount == 1:  # type: ignore[attr-defined]
                taken.append(read(session, row_key))
    return taken
