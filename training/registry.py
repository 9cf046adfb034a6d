"""Trained adapters: versioned names never reused, one active at a time, rollback.

The records and the `AdapterRegistry` port live here; the registry itself is in the SQL
store every bot process and worker shares (bot/adapters/store/registry.py), wired in
bot/bootstrap.py. Adapter *files* stay in a folder every inference server can read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from training.errors import BaseModelMismatch

STATUSES = ("candidate", "active", "retired", "rolled_back")
PREFIX = "learnloop-v"
LEGACY_FILE = "registry.json"  # the registry before it moved to the database


@dataclass(frozen=True)
class AdapterRecord:
    name: str  # learnloop-v<version>: the name servers load it under and requests ask for
    version: int
    base_model: str  # the served model id it was trained on
    prompt_version: str
    dataset_hash: str
    path: str  # its own folder: a name is never reloaded from another version's files
    status: str = "candidate"
    metrics: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)  # the gate's verdict
    created_at: str = ""
    activated_at: str = ""


class AdapterRegistry(Protocol):
    """Where adapters are registered, scored, promoted and rolled back (one active)."""

    def register(
        self, adapter: Path, base_model: str, prompt_version: str, dataset_hash: str
    ) -> AdapterRecord:
        """Copy a trained adapter in as a candidate under the next never-used name."""
        ...

    def records(self) -> list[AdapterRecord]: ...

    def get(self, name: str) -> AdapterRecord: ...

    def active(self) -> AdapterRecord | None: ...

    def set_report(
        self, name: str, metrics: dict[str, Any], report: dict[str, Any]
    ) -> AdapterRecord: ...

    def promote(self, name: str, report: dict[str, Any] | None = None) -> AdapterRecord:
        """Make `name` the active adapter; the one it replaces is retired."""
        ...

    def rollback(self) -> AdapterRecord | None:
        """The active adapter is rolled back; the one active before it (or the base) returns."""
        ...


def adapter_name(version: int) -> str:
    return f"{PREFIX}{version}"


def check_base(base_model: str, served_base: str) -> None:
    """An adapter trained on another base than the served one is refused."""
    if base_model != served_base:
        raise BaseModelMismatch(
            f"the adapter was trained on {base_model}, but the server serves "
            f"{served_base}: retrain it on the served model"
        )


def legacy_records(root: Path) -> list[AdapterRecord]:
    """The adapters a JSON registry in `root` (before the database held them) lists."""
    file = root / LEGACY_FILE
    if not file.is_file():
        return []
    state = json.loads(file.read_text())
    return [AdapterRecord(**row) for row in state.get("adapters", [])]
