"""SQL persistence shared by the bot and the workers: models, repositories, migrations."""

from bot.adapters.store.db import (
    database_url,
    downgrade,
    make_engine,
    open_store,
    sessions,
    upgrade,
)
from bot.adapters.store.feedback import FeedbackRepository
from bot.adapters.store.jobs import JobRepository

__all__ = [
    "FeedbackRepository",
    "JobRepository",
    "database_url",
    "downgrade",
    "make_engine",
    "open_store",
    "sessions",
    "upgrade",
]
