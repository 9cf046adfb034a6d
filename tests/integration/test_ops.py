"""The operations port of every long-running process, each run as its own process on real
PostgreSQL, Redis and the embedded model: /healthz, /readyz (false when the database or
the model goes away), /metrics; one beat of two runs the schedule; the worker's JSON log
carries the event id the bot sent with the task."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import free_port, run_cli, stop, wait_until
from tests.proxy import Proxy
from tests.slack_server import SECRET, TOKEN, signed_headers

pytestmark = [pytest.mark.integration]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def ready(port: int) -> dict:
    status, body = get(f"http://127.0.0.1:{port}/readyz")
    found = json.loads(body)
    assert (status == 200) == found["ready"], body
    return found


def spawn(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def base_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LEARNLOOP_", "SLACK_", "MICROSOFT_"))
    }
    env.update(LEARNLOOP_DATA_DIR=str(tmp / "data"), LEARNLOOP_LOG_LEVEL="INFO", **extra)
    return env


def through(proxy: Proxy, url: str) -> str:
    return make_url(url).set(port=proxy.port).render_as_string(hide_password=False)


def up(port: int, proc: subprocess.Popen[bytes], log: Path, within: float = 120) -> dict:
    def check() -> dict | None:
        if proc.poll() is not None:
            return {"exited": proc.returncode}
        found = ready(port)
        return found if found["ready"] else None

    found: dict = wait_until(check, within, f"/readyz on {port} ({log})", interval=0.25)
    assert "exited" not in found, log.read_text()
    return found


def test_bots_ready_until_their_database_or_model_goes_away(
    tmp_path, postgres_url, redis_url, inference_server
):
    model = urlsplit(inference_server)
    db_proxy, model_proxy = Proxy(make_url(postgres_url).port or 5432), Proxy(model.port or 80)
    env = base_env(
        tmp_path,
        LEARNLOOP_DATABASE_URL=through(db_proxy, postgres_url),
        LEARNLOOP_BROKER_URL=redis_url,
        LEARNLOOP_INFERENCE_URL=f"http://127.0.0.1:{model_proxy.port}/v1",
        LEARNLOOP_SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/",  # never called
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
    )
    # as a deployment runs: the one-shot migration first (two bots migrating one empty
    # database at once would race), then processes that only check the schema
    run_cli(env, "migrate")
    env["LEARNLOOP_MIGRATE_ON_START"] = "false"
    ops = {"slack": free_port(), "teams": free_port()}
    slack_port = free_port()
    logs = {kind: tmp_path / f"{kind}.log" for kind in ops}
    procs = {
        "slack": spawn(
            {**env, "LEARNLOOP_OPS_PORT": str(ops["slack"])},
            logs["slack"],
            *("bot", "slack", "--http", "--port", str(slack_port)),
        ),
        "teams": spawn(
            {**env, "LEARNLOOP_OPS_PORT": str(ops["teams"])},
            logs["teams"],
            *("bot", "teams", "--port", str(free_port())),
        ),
    }
    try:
        for kind, port in ops.items():
            found = up(port, procs[kind], logs[kind])
            assert found["checks"] == {"database": "ok", "broker": "ok", "model": "ok"}
            assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        # an event is counted and its acknowledgement timed
        challenge = json.dumps({"type": "url_verification", "challenge": "c", "token": "t"})
        request = urllib.request.Request(
            f"http://127.0.0.1:{slack_port}/slack/events",
            data=challenge.encode(),
            headers=signed_headers(challenge),
        )
        urllib.request.urlopen(request, timeout=10).close()
        status, metrics = get(f"http://127.0.0.1:{ops['slack']}/metrics")
        assert status == 200
        assert 'learnloop_ack_seconds_count{platform="slack"} 1.0' in metrics
        for family in ("events", "answer_seconds", "refusals", "feedback"):
            assert f"# TYPE learnloop_{family}" in metrics
        assert (
            "# TYPE learnloop_ack_seconds histogram"
            in get(f"http://127.0.0.1:{ops['teams']}/metrics")[1]
        )

        model_proxy.cut()
        for port in ops.values():
            checks = ready(port)["checks"]
            assert checks["database"] == "ok"
            assert "model server does not answer" in checks["model"]
        db_proxy.cut()
        for port in ops.values():
            found = ready(port)
            assert not found["ready"]
            assert "database does not answer" in found["checks"]["database"]
            assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200  # alive all the same
    finally:
        for proc in procs.values():
            stop(proc)
        db_proxy.cut()
        model_proxy.cut()


def test_worker_metrics_readiness_and_the_event_id_in_its_json_log(
    tmp_path, postgres_url, redis_url
):
    from bot.adapters.queue import CelerySender, broker_config
    from bot.domain.jobs import FORGET_THREADS
    from bot.runtime.logs import event_id

    db_proxy = Proxy(make_url(postgres_url).port or 5432)
    port = free_port()
    env = base_env(
        tmp_path,
        LEARNLOOP_DATABASE_URL=through(db_proxy, postgres_url),
        LEARNLOOP_BROKER_URL=redis_url,
        LEARNLOOP_OPS_PORT=str(port),
        LEARNLOOP_LOG_FORMAT="json",
    )
    log = tmp_path / "worker.log"
    proc = spawn(env, log, "worker", "--queues", "notify")
    sender = CelerySender(broker_config(redis_url, tmp_path))
    try:
        up(port, proc, log)
        token = event_id.set("Ev0OPS42")
        try:
            sender.send(FORGET_THREADS, [], expires=60)
        finally:
            event_id.reset(token)

        def forgot() -> dict | None:
            for line in log.read_text().splitlines():
                if line.startswith("{") and "forgot" in line:
                    found: dict = json.loads(line)
                    return found
            return None

        line = wait_until(forgot, 60, f"the task's log line ({log})")
        assert line["event_id"] == "Ev0OPS42"
        assert line["logger"] == "worker.tasks" and line["level"] == "INFO"
        metrics = get(f"http://127.0.0.1:{port}/metrics")[1]
        assert (
            'learnloop_jobs_total{state="success",task="learnloop.forget_threads"} 1.0' in metrics
        )
        assert 'learnloop_job_seconds_count{task="learnloop.forget_threads"} 1.0' in metrics

        db_proxy.cut()
        found = ready(port)
        assert "database does not answer" in found["checks"]["database"]
        assert found["checks"]["broker"] == "ok"
    finally:
        sender.close()
        stop(proc)
        db_proxy.cut()


def test_two_beats_one_schedule(tmp_path, redis_url):
    env = base_env(tmp_path, LEARNLOOP_BROKER_URL=redis_url, LEARNLOOP_SWEEP_SECONDS="0.5")
    ports = [free_port(), free_port()]
    logs = [tmp_path / "beat-a.log", tmp_path / "beat-b.log"]
    first = spawn({**env, "LEARNLOOP_OPS_PORT": str(ports[0])}, logs[0], "beat")
    second = None
    sent = "Sending due task sweep-expired-leases"
    try:
        up(ports[0], first, logs[0], within=60)
        second = spawn({**env, "LEARNLOOP_OPS_PORT": str(ports[1])}, logs[1], "beat")
        wait_until(lambda: "standby" in logs[1].read_text(), 60, "the second beat waiting")
        wait_until(lambda: logs[0].read_text().count(sent) >= 3, 30, "the first beat's schedule")
        found = ready(ports[1])
        assert "another beat holds the schedule" in found["checks"]["schedule"]
        assert get(f"http://127.0.0.1:{ports[1]}/healthz")[0] == 200
        assert sent not in logs[1].read_text()

        stop(first)  # the standby takes over
        up(ports[1], second, logs[1], within=60)
        wait_until(lambda: sent in logs[1].read_text(), 30, "the second beat's schedule")
    finally:
        stop(first)
        if second is not None:
            stop(second)


def test_serve_inference_probes(inference_server):
    root = inference_server.removesuffix("/v1")
    assert get(f"{root}/healthz") == (200, "ok\n")
    status, body = get(f"{root}/readyz")
    assert status == 200 and json.loads(body) == {"ready": True, "checks": {"model": "ok"}}
    assert "vllm:num_requests_running" in get(f"{root}/metrics")[1]


def test_the_web_console_probes_on_its_own_port_and_the_operations_port(
    tmp_path, postgres_url, redis_url
):
    """`learnloop web` as deployed: its own /healthz and /readyz (what a load balancer
    sees) and the operations port's; both unready when the database goes away."""
    db_proxy = Proxy(make_url(postgres_url).port or 5432)
    env = base_env(
        tmp_path,
        LEARNLOOP_DATABASE_URL=through(db_proxy, postgres_url),
        LEARNLOOP_BROKER_URL=redis_url,
    )
    run_cli(env, "migrate")
    ops, port, log = free_port(), free_port(), tmp_path / "web.log"
    proc = spawn(
        {**env, "LEARNLOOP_MIGRATE_ON_START": "false", "LEARNLOOP_OPS_PORT": str(ops)},
        log,
        *("web", "--host", "127.0.0.1", "--port", str(port)),
    )
    try:
        assert up(ops, proc, log)["checks"] == {"database": "ok", "broker": "ok"}
        assert up(port, proc, log)["checks"] == {"database": "ok"}
        assert get(f"http://127.0.0.1:{port}/healthz") == (200, "ok\n")
        assert get(f"http://127.0.0.1:{port}/")[0] == 401  # the pages still need a session
        db_proxy.cut()
        for probe in (ops, port):
            found = ready(probe)
            assert not found["ready"] and "database does not answer" in found["checks"]["database"]
            assert get(f"http://127.0.0.1:{probe}/healthz")[0] == 200
    finally:
        stop(proc)
        db_proxy.cut()
