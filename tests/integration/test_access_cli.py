"""`learnloop access`: admins edit who may see what, in the same store the bots read."""

from __future__ import annotations

import json
import os

import pytest

from bot.adapters.store import database_url, open_store
from bot.adapters.store.access import AccessRepository
from tests.conftest import run_cli

pytestmark = pytest.mark.integration


@pytest.fixture
def env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNLOOP_")}
    env["LEARNLOOP_DATA_DIR"] = str(tmp_path)
    return env


def test_groups_and_channel_audiences_round_trip_through_the_store(env, tmp_path):
    run_cli(env, "access", "grant", "slack:U1", "HR", "sales")
    run_cli(env, "access", "revoke", "slack:U1", "sales")
    run_cli(env, "access", "channel", "teams:19:abc@thread.tacv2", "engineering")
    shown = json.loads(run_cli(env, "access", "show", "slack:U1", "--json").stdout)
    assert shown == {"groups": ["hr"], "channel_audiences": []}

    _, sessions = open_store(database_url("", tmp_path))
    repo = AccessRepository(sessions)  # what ChatService reads
    assert repo.user_groups("slack", "U1") == {"hr"}
    assert repo.channel_groups("teams", "19:abc@thread.tacv2") == {"engineering"}
    run_cli(env, "access", "channel", "teams:19:abc@thread.tacv2")
    assert repo.channel_groups("teams", "19:abc@thread.tacv2") == set()


def test_bad_keys_and_audience_names_are_refused_clearly(env):
    wrong = run_cli(env, "access", "grant", "U1", "hr", check=False)
    assert wrong.returncode == 1 and "PLATFORM:ID" in wrong.stderr
    bad = run_cli(env, "access", "grant", "slack:U1", "H R!", check=False)
    assert bad.returncode == 1 and "lower-case" in bad.stderr


def test_admins_link_accounts_and_switch_reminders(env, tmp_path):
    run_cli(env, "access", "grant", "teams:aad-1", "hr")
    run_cli(env, "access", "link", "slack:U1", "teams:aad-1")
    shown = json.loads(run_cli(env, "access", "show", "slack:U1", "--json").stdout)
    assert shown["groups"] == ["hr"]  # the Teams account's groups came along
    run_cli(env, "access", "reminders", "teams:aad-1", "off")
    _, sessions = open_store(database_url("", tmp_path))
    repo = AccessRepository(sessions)
    learner = repo.learner_id("slack", "U1")
    assert repo.learner_id("teams", "aad-1") == learner
    assert repo.reminder_state(learner)[0] is False
    assert run_cli(env, "access", "reminders", "slack:U1", "maybe", check=False).returncode == 1
