"""Engine, sessions and migrations: the store's one connection point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
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


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # workers and the bot write the same file: wait for locks instead of failing
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        # a database that does not answer fails a connection in seconds, not minutes
        engine = create_engine(
            url, pool_pre_ping=True, pool_timeout=10, connect_args={"connect_timeout": 5}
        )
    event.listen(engine, "handle_error", _unreachable)
    return engine


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
    """Bring the schema up to `revision` (idempotent; every process may call it)."""
    from alembic import command

    try:
        command.upgrade(_alembic_config(engine), revision)
    except SQLAlchemyError as exc:
        raise StoreUnavailable(f"cannot migrate the database: {exc}") from exc


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


def open_store(url: str, *, migrate: bool = True) -> tuple[Engine, sessionmaker[Session]]:
    """An engine on an up-to-date schema, and its session factory. With `migrate` off (a
    deployment whose one-shot `learnloop migrate` job applies migrations), a schema that is
    not up to date is an error, not something this process changes."""
    engine = make_engine(url)
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
