"""Beat forgets threads idle longer than LEARNLOOP_THREAD_DAYS: the worker's task, as beat
schedules it, on the bot's database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.adapters.queue import ROUTES
from bot.adapters.store import database_url, open_store
from bot.adapters.store.models import ThreadTurnRow, utcnow
from bot.adapters.store.threads import ThreadRepository
from bot.domain.jobs import FORGET_THREADS
from bot.settings import Settings


def test_beat_forgets_threads_idle_longer_than_the_setting(tmp_path, monkeypatch):
    from worker.app import create_app

    for name in ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "MICROSOFT_APP_ID"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(data_dir=tmp_path, database_url="", thread_days=30)
    engine, sessions = open_store(database_url("", tmp_path))
    threads = ThreadRepository(sessions)
    threads.add("slack:C1:1.0", "old question", "old answer", keep=12)
    threads.add("slack:C1:2.0", "recent question", "recent answer", keep=12)
    with sessions.begin() as db:
        db.execute(
            update(ThreadTurnRow)
            .where(ThreadTurnRow.thread_key == "slack:C1:1.0")
            .values(created_at=utcnow() - timedelta(days=31))
        )

    app = create_app(settings)
    (entry,) = [e for e in app.conf.beat_schedule.values() if e["task"] == FORGET_THREADS]
    assert entry["options"]["queue"] == ROUTES[FORGET_THREADS]
    assert app.tasks[FORGET_THREADS]() == 2
    assert not threads.knows("slack:C1:1.0") and threads.knows("slack:C1:2.0")
    engine.dispose()
