"""Conversation references kept for proactive messages from another process.

A job's `ReplyTo` names the conversation but not the Bot Service URL and bot id a
proactive message needs; the bot writes them here when it queues an upload and the
worker's `TeamsNotifier` reads them. One small JSON file per conversation, under the
upload folder that bot and workers already share."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from bot.settings import Settings


class ConversationStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

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


def conversation_store(settings: Settings) -> ConversationStore:
    """The store the bot and the workers share (in the shared upload folder)."""
    upload_root = settings.upload_dir or settings.data_dir / "uploads"
    return ConversationStore(upload_root / ".teams-conversations")
