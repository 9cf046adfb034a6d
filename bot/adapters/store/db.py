"""Engine, sessions and migrations: the store's one connection point."""

from __future__ import annotations

import math
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.errors import StoreUnavailable

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def database_url(configured: str, data_dir: Path) -> str:
    """The configured URL (a bare `postgresql://` gets the psycopg 3 driver), else a
    SQLite file in the data dir."""
    if not configured:
        data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{data_dir / 'learnloop.db'}"
    for bare in ("postgresql://", "postgres://"):
        if configured.startswith(bare):
            return "postgresql+psycopg://" + configured.removeprefix(bare)
    return configured


def lease_holder() -> str:
    """A name for this process as the holder of leases on store rows (the Slack inbox's
    events, the messages answers stream into): host, pid, and a nonce for pid reuse."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


DEFAULT_TIMEOUT = 10.0  # seconds (LEARNLOOP_DATABASE_TIMEOUT_SECONDS)


def make_engine(url: str, timeout: float = DEFAULT_TIMEOUT) -> Engine:
    """An engine whose every wait is bounded by `timeout` seconds: connecting, waiting for
    a pooled connection, a statement (PostgreSQL's `statement_timeout`, SQLite's lock
    wait), and an answer from a server that accepted the connection and went silent."""
    if url.startswith("sqlite"):
        # workers and the bot write the same file: wait for locks instead of failing
        engine = create_engine(url, connect_args={"timeout": timeout})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(
            url,
            pool_pre_ping=True,
            pool_timeout=timeout,
            # libpq's unit is whole seconds (and it treats less than 2 as 2)
            connect_args={"connect_timeout": max(2, math.ceil(timeout))},
        )
        if engine.dialect.driver == "psycopg":
            event.listen(engine, "do_connect", _bounded_connect(timeout))
    event.listen(engine, "handle_error", _unreachable)
    return engine


def _bounded_connect(timeout: float) -> Any:
    """Connections whose statements the server cancels after `timeout` and whose client
    gives up waiting a second later (the server accepted and never answers: no
    cancellation arrives). The pool then throws that connection away."""
    import psycopg
    from psycopg.errors import _WaitTimeout  # what psycopg's own `wait(timeout=)` raises

    class BoundedConnection(psycopg.Connection[Any]):
        deadline: float | None = timeout + 1.0

        def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
            if timeout is not None or self.deadline is None:  # psycopg's own, or lifted
                return super().wait(gen, interval, timeout)
            try:
                return super().wait(gen, interval, self.deadline)
            except _WaitTimeout:
                self.close()  # mid-protocol: unusable; closed tells SQLAlchemy to discard it
                raise psycopg.OperationalError(
                    f"the database did not answer within {self.deadline:g}s"
                ) from None

    statement = f"-c statement_timeout={math.ceil(timeout * 1000)}"

    def connect(_dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        cparams["options"] = f"{cparams.get('options', '')} {statement}".strip()
        return BoundedConnection.connect(*cargs, **cparams)

    return connect


@contextmanager
def unbounded(connection: Connection) -> Iterator[None]:
    """Lift the deadline for this transaction (migrations may take long on big tables)."""
    if connection.dialect.name != "postgresql":
        yield
        return
    connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
    dbapi: Any = connection.connection.dbapi_connection  # ours when it has `deadline`
    if not hasattr(dbapi, "deadline"):  # another driver: only the server's limit applies
        yield
        return
    kept = dbapi.deadline
    dbapi.deadline = None
    try:
        yield
    finally:
        dbapi.deadline = kept


def _unreachable(context: ExceptionContext) -> None:
    """Every use of the store, in one place: a database that cannot be reached (down,
    restarting, a lock held past the timeout) becomes `StoreUnavailable`, which every
    surface words for the person ("My database is not reachable right now") and the
    worker retries. Other errors (a bad query, a constraint) stay what they are: bugs."""
    if context.is_pre_ping:  # the pool recovers from these on its own
        return
    error = context.sqlalchemy_exception
    if isinstance(error, OperationalError | InterfaceError) or context.is_disconnect:
        cause = type(context.original_exception).__name__
        raise StoreUnavailable(f"the database is unreachable ({cause})") from error


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (idempotent; every process may call it, also at
    once: one migrates while the others wait, then find the schema up to date)."""
    from alembic import command

    try:
        with _one_migrator(engine):
            command.upgrade(_alembic_config(engine), revision)
    except SQLAlchemyError as exc:
        raise StoreUnavailable(f"cannot migrate the database: {exc}") from exc


@contextmanager
def _one_migrator(engine: Engine) -> Iterator[None]:
    """A SQLite file is migrated by one process at a time (a file lock beside it):
    processes migrating one new file at once waited on each other's locks and, on a busy
    machine, gave up. PostgreSQL's migrations take an advisory lock instead (env.py)."""
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    from filelock import FileLock

    with FileLock(f"{database}.migrate.lock"):
        yield


def downgrade(engine: Engine, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(_alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The newest migration this version of LearnLoop ships."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return str(ScriptDirectory.from_config(config).get_current_head())


def open_store(
    url: str, *, migrate: bool = True, timeout: float = DEFAULT_TIMEOUT
) -> tuple[Engine, sessionmaker[Session]]:
    """An engine on an up-to-date schema, and its session factory. With `migrate` off (a
    deployment whose one-shot `learnloop migrate` job applies migrations), a schema that is
    not up to date is an error, not something this process changes."""
    engine = make_engine(url, timeout)
    if migrate:
        upgrade(engine)
    else:
        found, wanted = current_revision(engine), head_revision()
        if found != wanted:
            engine.dispose()
            at = f"is at {found}" if found else "is empty"
            raise StoreUnavailable(
                f"the database schema {at} but this version needs {wanted}: "
                "run `learnloop migrate` first"
            )
    return engine, sessions(engine)
