"""The adapter registry (training/registry.py's port) in the SQL store every bot process and
worker shares: PostgreSQL in production, SQLite locally.

Every change runs in a transaction no other registry writer runs beside (PostgreSQL: a
table lock that plain reads pass; SQLite: BEGIN IMMEDIATE). A row lock on the active
adapter would not do on PostgreSQL: a second promotion waiting on it sees, once it gets
it, a retired row and not the adapter the first one just made active. The database
itself also holds the rules: names are unique and a partial unique index allows one
active row. The adapters' files are copied to `root`, a folder every inference server
reads (the database holds their paths, not their bytes)."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.store.models import AdapterRow
from bot.domain.jobs import utcnow
from training.errors import NothingToRollBack, UnknownAdapter
from training.registry import AdapterRecord, adapter_name, check_base, legacy_records

log = logging.getLogger(__name__)


class SqlRegistry:
    def __init__(self, sessions: sessionmaker[Session], root: Path, served_base: str) -> None:
        self._sessions = sessions
        self.root = root  # the adapters' files
        self.served_base = served_base
        self._imported = False

    def register(
        self, adapter: Path, base_model: str, prompt_version: str, dataset_hash: str
    ) -> AdapterRecord:
        """Copy a trained adapter in as a candidate under the next never-used name."""
        check_base(base_model, self.served_base)
        with self._writing() as session:
            version = (session.scalar(select(func.max(AdapterRow.version))) or 0) + 1
            while (self.root / adapter_name(version)).exists():  # left by a failed copy
                version += 1
            target = self.root / adapter_name(version)
            row = AdapterRow(
                version=version,
                name=adapter_name(version),
                base_model=base_model,
                prompt_version=prompt_version,
                dataset_hash=dataset_hash,
                path=str(target),
                status="candidate",
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()  # the name is taken before any file is written
            self.root.mkdir(parents=True, exist_ok=True)
            shutil.copytree(adapter, target)  # a failed copy rolls the row back
            return _record(row)

    def records(self) -> list[AdapterRecord]:
        self._import_legacy()
        with self._sessions() as session:
            rows = session.scalars(select(AdapterRow).order_by(AdapterRow.version))
            return [_record(r) for r in rows]

    def get(self, name: str) -> AdapterRecord:
        self._import_legacy()
        with self._sessions() as session:
            return _record(_find(session, name))

    def active(self) -> AdapterRecord | None:
        self._import_legacy()
        with self._sessions() as session:
            row = session.scalar(select(AdapterRow).where(AdapterRow.status == "active"))
            return _record(row) if row is not None else None

    def set_report(
        self, name: str, metrics: dict[str, Any], report: dict[str, Any]
    ) -> AdapterRecord:
        """Store the gate's metrics and verdict with the adapter."""
        with self._writing() as session:
            row = _find(session, name)
            row.metrics, row.report = metrics, report
            return _record(row)

    def promote(self, name: str, report: dict[str, Any] | None = None) -> AdapterRecord:
        """Make `name` the active adapter; the one it replaces is retired."""
        with self._writing() as session:
            row = _find(session, name)
            check_base(row.base_model, self.served_base)
            others = select(AdapterRow).where(
                AdapterRow.status == "active", AdapterRow.name != name
            )
            for other in session.scalars(others):
                other.status = "retired"
            session.flush()  # retired before the new one is active: the index allows one
            row.status, row.activated_at = "active", utcnow()
            if report is not None:
                row.report = report
            session.flush()
            return _record(row)

    def rollback(self) -> AdapterRecord | None:
        """The active adapter is rolled back; the one active before it (or the base) returns."""
        with self._writing() as session:
            current = session.scalar(select(AdapterRow).where(AdapterRow.status == "active"))
            if current is None:
                raise NothingToRollBack("no adapter is active: the base model is already served")
            current.status = "rolled_back"
            session.flush()
            previous = session.scalar(
                select(AdapterRow)
                .where(AdapterRow.status == "retired", AdapterRow.activated_at.is_not(None))
                .order_by(AdapterRow.activated_at.desc(), AdapterRow.version.desc())
                .limit(1)
            )
            if previous is None:
                return None
            previous.status, previous.activated_at = "active", utcnow()
            session.flush()
            return _record(previous)

    @contextmanager
    def _writing(self, *, imported: bool = False) -> Iterator[Session]:
        """A transaction that no other registry writer, in any process, runs beside."""
        if not imported:
            self._import_legacy()
        with self._sessions() as session:
            connection = session.connection()
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                connection.exec_driver_sql("LOCK TABLE adapters IN SHARE ROW EXCLUSIVE MODE")
            yield session
            session.commit()

    def _import_legacy(self) -> None:
        """Once per process: a JSON registry left in `root` (before the database held the
        registry) is imported into an empty table, so a deployment keeps its adapters."""
        if self._imported:
            return
        try:
            legacy = legacy_records(self.root)
        except (OSError, ValueError, TypeError) as exc:
            log.warning("the old adapter registry in %s cannot be read: %s", self.root, exc)
            legacy = []
        if legacy:
            with self._writing(imported=True) as session:
                if session.scalar(select(func.count()).select_from(AdapterRow)):
                    legacy = []  # imported already (by this or another process)
                else:
                    session.add_all(_row(r) for r in legacy)
            if legacy:
                log.info("imported %d adapters from %s into the database", len(legacy), self.root)
        self._imported = True  # not before: a database that was down is tried again


def _find(session: Session, name: str) -> AdapterRow:
    row = session.scalar(select(AdapterRow).where(AdapterRow.name == name))
    if row is None:
        raise UnknownAdapter(f"there is no adapter named {name}")
    return row


def _stamp(at: datetime | None) -> str:
    return at.isoformat(timespec="seconds") if at is not None else ""


def _record(row: AdapterRow) -> AdapterRecord:
    return AdapterRecord(
        name=row.name,
        version=row.version,
        base_model=row.base_model,
        prompt_version=row.prompt_version,
        dataset_hash=row.dataset_hash,
        path=row.path,
        status=row.status,
        metrics=dict(row.metrics or {}),
        report=dict(row.report or {}),
        created_at=_stamp(row.created_at),
        activated_at=_stamp(row.activated_at),
    )


def _row(record: AdapterRecord) -> AdapterRow:
    return AdapterRow(
        version=record.version,
        name=record.name,
        base_model=record.base_model,
        prompt_version=record.prompt_version,
        dataset_hash=record.dataset_hash,
        path=record.path,
        status=record.status,
        metrics=record.metrics,
        report=record.report,
        created_at=datetime.fromisoformat(record.created_at) if record.created_at else utcnow(),
        activated_at=datetime.fromisoformat(record.activated_at) if record.activated_at else None,
    )
