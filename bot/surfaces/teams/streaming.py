"""The Teams streaming protocol (1:1 chats): informative and streaming `typing`
updates, then one final `message`, all tied by a `streaminfo` entity.

botbuilder 4.17.1 has no helper for it, and its plain `Entity` serialises only `type`,
so `StreamInfo` declares the stream fields itself."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, ClassVar

from botbuilder.schema import Activity, ActivityTypes, Entity
from botframework.connector.models import ErrorResponseException

from bot.surfaces.teams.outbox import Outbox

log = logging.getLogger(__name__)


class StreamInfo(Entity):
    _attribute_map: ClassVar[dict[str, dict[str, str]]] = {
        "type": {"key": "type", "type": "str"},
        "stream_id": {"key": "streamId", "type": "str"},
        "stream_type": {"key": "streamType", "type": "str"},
        "stream_sequence": {"key": "streamSequence", "type": "int"},
    }

    def __init__(
        self,
        *,
        stream_type: str,
        stream_id: str | None = None,
        stream_sequence: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(type="streaminfo", **kwargs)
        self.stream_id = stream_id
        self.stream_type = stream_type
        self.stream_sequence = stream_sequence


def stopped_by_user(exc: ErrorResponseException) -> bool:
    """Teams' Stop button: the next update is refused with 403 ContentStreamNotAllowed."""
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None) == 403


class Stream:
    """One answer streamed into a 1:1 chat; at most one update per `interval` seconds,
    each sent after the previous one succeeded, each carrying the whole text so far."""

    def __init__(
        self,
        outbox: Outbox,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.outbox = outbox
        self.interval = interval
        self.clock = clock
        self.stream_id: str | None = None
        self.sequence = 0
        self.stopped = False
        self._last = float("-inf")
        self._shown = ""

    def _info(self, stream_type: str) -> tuple[StreamInfo, dict[str, Any]]:
        sequence = None if stream_type == "final" else self.sequence
        entity = StreamInfo(
            stream_type=stream_type, stream_id=self.stream_id, stream_sequence=sequence
        )
        # Teams clients also read these from channelData (as the JS/C# libraries send)
        data: dict[str, Any] = {"streamType": stream_type}
        if self.stream_id:
            data["streamId"] = self.stream_id
        if sequence is not None:
            data["streamSequence"] = sequence
        return entity, data

    async def _send_typing(self, stream_type: str, text: str) -> bool:
        self.sequence += 1
        entity, data = self._info(stream_type)
        activity = Activity(
            type=ActivityTypes.typing, text=text, entities=[entity], channel_data=data
        )
        try:
            sent = await self.outbox.send(activity)
        except ErrorResponseException as exc:
            if not stopped_by_user(exc):
                raise
            log.info("stream=%s stopped by the user at sequence %d", self.stream_id, self.sequence)
            self.stopped = True
            return False
        self.stream_id = self.stream_id or sent
        self._last = self.clock()
        return True

    async def inform(self, text: str) -> bool:
        """The first update: a status line shown while nothing is written yet."""
        return await self._send_typing("informative", text)

    async def update(self, text: str) -> bool:
        """Show `text` (all of it so far) unless the last update was too recent.
        False once the person stopped the stream."""
        if self.stopped:
            return False
        if not text.strip() or text == self._shown:
            return True
        if self.clock() - self._last < self.interval:
            return True
        self._shown = text
        return await self._send_typing("streaming", text)

    async def finish(self, activity: Activity) -> bool:
        """The final message (text, cards); it ends the stream."""
        if self.stopped:
            return False
        entity, data = self._info("final")
        activity.entities = [*(activity.entities or []), entity]
        activity.channel_data = {**(activity.channel_data or {}), **data}
        try:
            await self.outbox.send(activity)
        except ErrorResponseException as exc:
            if not stopped_by_user(exc):
                raise
            self.stopped = True
            return False
        return True
