"""The one place a failure becomes words for the person who asked (never silence)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.domain.conversation import friendly
from bot.domain.errors import LearnLoopError

log = logging.getLogger(__name__)

Tell = Callable[[str], Awaitable[object]]


def message_for(exc: BaseException) -> str:
    if isinstance(exc, LearnLoopError):
        return friendly(exc.code, exc.message)
    return friendly("error")


async def guarded(work: Awaitable[object], tell: Tell, what: str) -> None:
    """Run `work`; on failure log it and tell the person what happened."""
    try:
        await work
    except LearnLoopError as exc:
        log.warning("%s failed: %s", what, exc.code)
        await safely_tell(tell, message_for(exc))
    except Exception:
        log.exception("%s failed", what)
        await safely_tell(tell, message_for(Exception()))


async def safely_tell(tell: Tell, text: str) -> None:
    try:
        await tell(text)
    except Exception:  # Slack itself unreachable: the log is all that is left
        log.exception("could not tell the user what happened")
