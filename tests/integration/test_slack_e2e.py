"""End to end: `learnloop bot slack --http` and `learnloop worker` as their own processes
over a Chroma server and the real embedded model, driven by signed Slack requests and
answering into a local fake of Slack's Web API: an admin shares real material in a DM,
the worker ingests it and reports back in Slack, then mentions get real cited answers
that never use material the channel may not see."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import ClientSession

from tests.conftest import DATA, free_port, run_cli, stop
from tests.docs import make_pdf
from tests.slack_server import SECRET, TOKEN, FakeSlack, event_body, mention, message, post

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HR_DOC = """# Salary bands

Salary bands for engineers are confidential. Band E3 pays between 90,000 and 120,000.
Salary reviews happen every April; managers propose raises within the band.
"""

EXPENSES = [
    (
        "Taxi receipts",
        "Taxi receipts must reach the Zephyr finance desk within 45 days of the ride. "
        "Receipts sent later are not reimbursed.",
    ),
    ("Meals", "Team meals are reimbursed up to 30 euros a person."),
]


def spawn(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    """`learnloop ARGS` as its own process, output to `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def chunks_text(calls) -> str:
    return "".join(c["text"] for call in calls for c in call.params.get("chunks", []))


async def wait_up(http: ClientSession, url: str, proc: subprocess.Popen) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "ready", "token": "x"})
    for _ in range(1200):
        assert proc.poll() is None, "the Slack app exited"
        try:
            status, text = await post(http, url, body)
            if status == 200 and "ready" in text:
                return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the Slack app did not start")


def test_shared_material_is_ingested_then_mentions_get_cited_answers(
    tmp_path, inference_server, chroma_server
):
    slack = FakeSlack(port=free_port())  # the app processes must know its URL up front
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNLOOP_", "SLACK_"))}
    env.update(
        LEARNLOOP_DATA_DIR=str(tmp_path / "data"),  # the bot and the worker share it
        LEARNLOOP_CHROMA_URL=chroma_server,
        LEARNLOOP_INFERENCE_URL=inference_server,
        LEARNLOOP_ANSWER_TOKENS="64",  # real answers, short ones: CI time on two cores
        LEARNLOOP_ADMINS="slack:UADMIN",
        LEARNLOOP_LOG_LEVEL="INFO",
        LEARNLOOP_SLACK_API_URL=slack.api_url,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
    )
    hr = tmp_path / "hr"
    hr.mkdir()
    (hr / "salary-bands.md").write_text(HR_DOC)
    run_cli(env, "ingest", str(hr), "--audience", "hr", "--json")  # hr-only material
    port = free_port()
    logs = [tmp_path / "bot.log", tmp_path / "worker.log"]
    procs = [
        spawn(env, logs[0], "bot", "slack", "--http", "--port", str(port)),
        spawn(env, logs[1], "worker"),
    ]
    try:
        asyncio.run(scenario(slack, f"http://127.0.0.1:{port}/slack/events", procs[0]))
    except BaseException:
        for log in logs:
            print(log.read_text())  # the processes' side of the story
        raise
    finally:
        for proc in procs:
            stop(proc)


async def scenario(slack: FakeSlack, url: str, proc: subprocess.Popen) -> None:
    await slack.start()
    try:
        async with ClientSession() as http:
            await wait_up(http, url, proc)
            await share_material(slack, http, url)
            await ask_in_channel(slack, http, url)
    finally:
        await slack.stop()


async def share_material(slack: FakeSlack, http: ClientSession, url: str) -> None:
    """An admin shares a corpus page, a real PDF and a corrupt PDF with the bot."""
    files = (
        ("F1", "git-reset.html", (DATA / "corpus" / "git-reset.html").read_bytes(), "500.1"),
        ("F2", "expenses.pdf", make_pdf("Expenses", EXPENSES), "600.1"),
        ("F3", "broken.pdf", b"%PDF-1.4 truncated", "700.1"),
    )
    for file_id, name, data, ts in files:
        file = slack.add_file(file_id, name, data)
        shared = {k: file[k] for k in ("id", "name", "size", "url_private_download")}
        event = message("", ts, user="UADMIN", subtype="file_share", files=[shared])
        assert (await post(http, url, event_body(event)))[0] == 200

    def summaries() -> dict[str, str]:
        return {
            str(c.params["thread_ts"]): str(c.params["text"])
            for c in slack.named("chat.postMessage")
            if str(c.params.get("text", "")).startswith(("Ingested", "Ingestion failed"))
        }

    done = await slack.wait_for(
        lambda: len(summaries()) == 3 and summaries(), within=300, what="the worker's summaries"
    )
    assert done["500.1"].startswith("Ingested 1 document(s)")
    assert done["600.1"].startswith("Ingested 1 document(s)")
    assert "broken.pdf" in done["700.1"] and "0 document(s)" in done["700.1"]
    queued = [t for t in slack.texts("D1") if "queued" in t]
    assert len(queued) == 3 and any("*expenses.pdf*" in t for t in queued)


STOP = ("chat.stopStream",)


async def ask_in_channel(slack: FakeSlack, http: ClientSession, url: str) -> None:
    written: list[int] = []

    async def ask(question: str, ts: str, n: int) -> dict:
        assert (await post(http, url, event_body(mention(question, ts))))[0] == 200
        stops = await slack.wait_for(
            lambda: len(slack.named("chat.stopStream")) == n and slack.named("chat.stopStream"),
            within=240,
            what=f"answer {n}",
        )
        streamed = chunks_text(slack.named("chat.startStream", "chat.appendStream", *STOP))
        assert len(streamed) > sum(written) + 20  # this answer streamed real text
        written.append(len(streamed) - sum(written))
        blocks = stops[-1].params["blocks"]
        actions = {e["action_id"] for e in blocks[-1]["elements"]}
        assert actions == {"feedback_up", "feedback_down", "feedback_correct"}
        return {"text": json.dumps(blocks, ensure_ascii=False)}

    git = await ask("How do I undo my last commit but keep the changes?", "100.1", 1)
    # a verified citation (grounding cites whichever passage backs the sentence or quote)
    assert re.search(r"\[\d+\] ", git["text"]) and "reset" in git["text"].lower()
    taxi = await ask("How many days do I have to hand in taxi receipts?", "200.1", 2)
    assert "Taxi receipts" in taxi["text"] or "Expenses" in taxi["text"]

    # the channel is mapped to no audience: hr-only material never reaches it
    await ask("What does salary band E3 pay engineers?", "300.1", 3)
    everything = json.dumps([c.params for c in slack.calls], ensure_ascii=False)
    assert "salary-bands" not in everything and "120,000" not in everything
