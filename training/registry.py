"""Trained adapters: versioned names never reused, one active at a time, rollback.

A JSON file under the data dir for now: bot/store is being reorganised (a migration there
would collide with that move), only the one training worker writes, and an admin can read
it. Writers hold an exclusive file lock and replace the file atomically.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from training.errors import BaseModelMismatch, NothingToRollBack, UnknownAdapter

STATUSES = ("candidate", "active", "retired", "rolled_back")
PREFIX = "learnloop-v"


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
    def register(
        self, adapter: Path, base_model: str, prompt_version: str, dataset_hash: str
    ) -> AdapterRecord: ...

    def records(self) -> list[AdapterRecord]: ...

    def promote(self, name: str, report: dict[str, Any] | None = None) -> AdapterRecord: ...

    def rollback(self) -> AdapterRecord | None: ...


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class JsonRegistry:
    """The registry in `root/registry.json`; adapters copied to `root/<name>/`."""

    def __init__(self, root: Path, served_base: str) -> None:
        self.root = root
        self.served_base = served_base
        self._file = root / "registry.json"

    def register(
        self, adapter: Path, base_model: str, prompt_version: str, dataset_hash: str
    ) -> AdapterRecord:
        """Copy a trained adapter in as a candidate under the next never-used name."""
        self._check_base(base_model)
        with self._locked() as state:
            version = int(state["next"])
            while (self.root / f"{PREFIX}{version}").exists():  # left by a failed copy
                version += 1
            state["next"] = version + 1
            name = f"{PREFIX}{version}"
            target = self.root / name
            shutil.copytree(adapter, target)
            record = AdapterRecord(
                name=name,
                version=version,
                base_model=base_model,
                prompt_version=prompt_version,
                dataset_hash=dataset_hash,
                path=str(target),
                created_at=_now(),
            )
            state["adapters"].append(asdict(record))
            return record

    def records(self) -> list[AdapterRecord]:
        return [AdapterRecord(**r) for r in self._read()["adapters"]]

    def get(self, name: str) -> AdapterRecord:
        for record in self.records():
            if record.name == name:
                return record
        raise UnknownAdapter(f"there is no adapter named {name}")

    def active(self) -> AdapterRecord | None:
        return next((r for r in self.records() if r.status == "active"), None)

    def set_report(
        self, name: str, metrics: dict[str, Any], report: dict[str, Any]
    ) -> AdapterRecord:
        """Store the gate's metrics and verdict with the adapter."""
        with self._locked() as state:
            return self._update(state, name, metrics=metrics, report=report)

    def promote(self, name: str, report: dict[str, Any] | None = None) -> AdapterRecord:
        """Make `name` the active adapter; the one it replaces is retired."""
        with self._locked() as state:
            record = self._find(state, name)
            self._check_base(record.base_model)
            for row in state["adapters"]:
                if row["status"] == "active" and row["name"] != name:
                    row["status"] = "retired"
            changes: dict[str, Any] = {"status": "active", "activated_at": _now()}
            if report is not None:
                changes["report"] = report
            return self._update(state, name, **changes)

    def rollback(self) -> AdapterRecord | None:
        """The active adapter is rolled back; the one active before it (or the base) returns."""
        with self._locked() as state:
            rows = [AdapterRecord(**r) for r in state["adapters"]]
            current = next((r for r in rows if r.status == "active"), None)
            if current is None:
                raise NothingToRollBack("no adapter is active: the base model is already served")
            self._update(state, current.name, status="rolled_back")
            earlier = [r for r in rows if r.status == "retired" and r.activated_at]
            if not earlier:
                return None
            previous = max(earlier, key=lambda r: (r.activated_at, r.version))
            return self._update(state, previous.name, status="active", activated_at=_now())

    def _check_base(self, base_model: str) -> None:
        if base_model != self.served_base:
            raise BaseModelMismatch(
                f"the adapter was trained on {base_model}, but the server serves "
                f"{self.served_base}: retrain it on the served model"
            )

    def _find(self, state: dict[str, Any], name: str) -> AdapterRecord:
        for row in state["adapters"]:
            if row["name"] == name:
                return AdapterRecord(**row)
        raise UnknownAdapter(f"there is no adapter named {name}")

    def _update(self, state: dict[str, Any], name: str, **changes: Any) -> AdapterRecord:
        record = replace(self._find(state, name), **changes)
        state["adapters"] = [
            asdict(record) if row["name"] == name else row for row in state["adapters"]
        ]
        return record

    def _read(self) -> dict[str, Any]:
        if not self._file.is_file():
            return {"next": 1, "adapters": []}
        data: dict[str, Any] = json.loads(self._file.read_text())
        return data

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        """The state under an exclusive lock, written back atomically if the block succeeds."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / "registry.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self._read()
            yield state
            staging = self._file.with_suffix(".json.tmp")
            staging.write_text(json.dumps(state, indent=2))
            os.replace(staging, self._file)
