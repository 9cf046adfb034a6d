"""`learnloop web link USER`: a one-time link on LEARNLOOP_WEB_URL, as a user runs it."""

from __future__ import annotations

import asyncio
import os
import re

import pytest

from bot.bootstrap import build_app
from bot.settings import Settings
from tests.conftest import run_cli

pytestmark = pytest.mark.integration


def test_web_link_prints_a_link_that_signs_in_as_the_user(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNLOOP_")}
    env.update(LEARNLOOP_DATA_DIR=str(tmp_path), LEARNLOOP_WEB_URL="https://learn.example.com/")
    printed = run_cli(env, "web", "link", "teams:aad-bob").stdout.strip()
    found = re.fullmatch(r"https://learn\.example\.com/signin\?token=([\w-]{40,})", printed)
    assert found, printed
    parts = build_app(Settings(data_dir=tmp_path, database_url=""))
    try:
        _, session = asyncio.run(parts.web_signin.redeem(found.group(1)))
    finally:
        parts.close()
    assert session.actor.key == "teams:aad-bob" and not session.actor.platform_admin

    wrong = run_cli(env, "web", "link", "mastodon:bob", check=False)
    assert wrong.returncode == 1 and "is not a user" in wrong.stderr
    assert "Traceback" not in wrong.stderr
