"""Conversation references kept for proactive messages from another process.

A job's `ReplyTo` names the conversation but not the Bot Service URL and bot id a
proactive message needs; the bot writes them here when it queues an upload and the
worker's `TeamsNotifier` reads them. Likewise each person's 1:1 chat with the bot (and
their time zone), for the worker's review reminders. One small JSON file per
conversation or person, under the upload folder that bot and workers already share."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.settings import Settings


@dataclass(frozen=True)
class PersonalChat:
    """A person's 1:1 chat with the bot: where a DM to them goes, and their time zone."""

    reference: dict[str, Any]
    timezone: str = ""


class ConversationStore:
    def __init__(self, folder: Path, remembered: int = 10_000) -> None:
        self.folder = folder
        self.remembered = remembered
        # the personal chats this process wrote or found on record: most messages skip disk
        self._known: OrderedDict[str, PersonalChat] = OrderedDict()
        self._lock = threading.Lock()

    def _path(self, conversation_id: str) -> Path:
        digest = hashlib.sha256(conversation_id.encode()).hexdigest()
        return self.folder / f"{digest}.json"

    def save(self, conversation_id: str, reference: dict[str, Any]) -> None:
        """Write atomically (a reader never sees half a file)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(reference, out)
        os.replace(tmp, self._path(conversation_id))

    def load(self, conversation_id: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self._path(conversation_id).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return data if isinstance(data, dict) else None

    def save_personal(self, user_id: str, chat: PersonalChat) -> bool:
        """Keep `chat` as `user_id`'s 1:1 chat unless it is already on record (the bot
        calls this for every personal message); True when it was written."""
        key = _personal(user_id)
        with self._lock:
            if self._known.get(key) == chat:
                self._known.move_to_end(key)
                return False
        written = self.personal(user_id) != chat
        if written:
            self.save(key, {"reference": chat.reference, "timezone": chat.timezone})
        with self._lock:
            self._known[key] = chat
            self._known.move_to_end(key)
            while len(self._known) > self.remembered:
                self._known.popitem(last=False)
        return written

    def personal(self, user_id: str) -> PersonalChat | None:
        data = self.load(_personal(user_id))
        if data is None or not isinstance(data.get("reference"), dict):
            return None
        return PersonalChat(data["reference"], str(data.get("timezone") or ""))


def _personal(user_id: str) -> str:
    return f"user:{user_id}"  # no conversation id starts so: the two never share a file


def conversation_store(settings: Settings) -> ConversationStore:
    """The store the bot and the workers share (in the shared upload folder)."""
    upload_root = settings.upload_dir or settings.data_dir / "uploads"
    return ConversationStore(upload_root / ".teams-conversations")
