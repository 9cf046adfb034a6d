"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest

from bot.adapters.store import database_url, open_store


@pytest.fixture
def store(tmp_path):
    """A migrated SQLite store in the test's folder: its sessionmaker."""
    engine, sessions = open_store(database_url("", tmp_path))
    yield sessions
    engine.dispose()
