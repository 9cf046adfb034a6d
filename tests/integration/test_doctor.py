"""`learnloop doctor` on a sound deployment (real PostgreSQL, Redis, the model server) and
on a broken one: every finding in plain words, exit code 1 when anything is wrong."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import free_port, run_cli

pytestmark = [pytest.mark.integration]


def env_for(tmp_path, **settings: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LEARNLOOP_", "SLACK_", "MICROSOFT_"))
    }
    env.update(LEARNLOOP_DATA_DIR=str(tmp_path / "data"), **settings)
    return env


def test_doctor_passes_a_sound_deployment_and_names_what_is_wrong_in_a_broken_one(
    tmp_path, postgres_url, redis_url, inference_server
):
    good = env_for(
        tmp_path,
        LEARNLOOP_DATABASE_URL=postgres_url,
        LEARNLOOP_BROKER_URL=redis_url,
        LEARNLOOP_INFERENCE_URL=inference_server,
    )
    run_cli(good, "migrate")
    result = run_cli(good, "doctor", "--json")
    report = json.loads(result.stdout)
    assert report["ok"], report
    assert {c["check"] for c in report["checks"]} == {
        *("settings", "database", "broker", "index", "model", "slack", "teams")
    }

    dead = free_port()
    bad = {
        **good,
        "LEARNLOOP_ENV": "production",
        "LEARNLOOP_BROKER_URL": f"redis://127.0.0.1:{dead}/0",
        "LEARNLOOP_INFERENCE_URL": f"http://127.0.0.1:{dead}/v1",
        "SLACK_BOT_TOKEN": "changeme",
        "SLACK_SIGNING_SECRET": "placeholder",
    }
    result = run_cli(bad, "doctor", "--json", check=False)
    assert result.returncode == 1
    found = {c["check"]: c for c in json.loads(result.stdout)["checks"]}
    assert found["database"]["ok"]
    assert "the broker does not answer" in found["broker"]["detail"]
    assert "the model server does not answer" in found["model"]["detail"]
    assert "placeholder values for SLACK_BOT_TOKEN" in found["slack"]["detail"]

    text = run_cli({**good, "LEARNLOOP_OPS_PORT": "ninety"}, "doctor", check=False)
    assert text.returncode == 1
    assert "invalid value for LEARNLOOP_OPS_PORT" in text.stdout
    assert "Traceback" not in text.stdout + text.stderr
