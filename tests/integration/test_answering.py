"""Answers from the real packaged model behind the real embedded server."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket

import openai
import pytest

from bot.adapters.model import ClientChatModel
from bot.adapters.search import SearchRetriever
from bot.domain.errors import ModelUnavailable
from bot.services.answers import AnswerService
from inference.client import ChatClient
from inference.models import SERVED_NAME
from tests.conftest import DATA, free_port, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_server_speaks_the_openai_api(inference_server):
    client = openai.OpenAI(base_url=inference_server, api_key="unused")
    assert [m.id for m in client.models.list().data] == [SERVED_NAME]

    messages = [{"role": "user", "content": "What is the capital of France? One word."}]
    reply = client.chat.completions.create(
        model=SERVED_NAME, messages=messages, max_tokens=8, temperature=0
    )
    assert "Paris" in reply.choices[0].message.content
    assert reply.usage.prompt_tokens > 5 and 0 < reply.usage.completion_tokens <= 8

    stream = client.chat.completions.create(
        model=SERVED_NAME,
        messages=messages,
        max_tokens=8,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == reply.choices[0].message.content  # greedy: same text either way
    assert chunks[-1].usage.completion_tokens == reply.usage.completion_tokens
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finishes in (["stop"], ["length"])

    long = client.chat.completions.create(
        model=SERVED_NAME,
        messages=[{"role": "user", "content": "Count from 1 to 100."}],
        max_tokens=5,
        temperature=0,  # like vLLM, the server samples at 1.0 unless told otherwise
    )
    assert long.choices[0].finish_reason == "length"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-99", messages=messages, max_tokens=2)


def test_answer_cites_only_given_passages_and_refusals_skip_the_model(corpus, inference_server):
    class Counting(ClientChatModel):
        calls = 0

        def stream(self, messages, max_tokens):
            Counting.calls += 1
            return super().stream(messages, max_tokens)

    model = Counting(ChatClient(inference_server, SERVED_NAME))
    service = AnswerService(SearchRetriever(corpus.searcher), model)

    async def both():
        try:
            return (
                await service.ask("How do I remove untracked files from my working tree?"),
                await service.ask("How many weeks of parental leave do new parents get?"),
            )
        finally:
            await service.aclose()

    answer, refused = asyncio.run(both())
    assert not answer.refused and answer.text
    found = corpus.searcher.search("How do I remove untracked files from my working tree?", k=4)
    given = {(p.source, p.section, p.text) for p in found.passages}
    shown = answer.citations or answer.consulted
    assert shown and all((s.source, s.section, s.text) in given for s in shown)
    assert all(f"[{s.n}]" in answer.text for s in answer.citations)
    assert any(s.source == "git-clean.html" for s in shown)
    assert refused.refused and "does not cover" in refused.text
    assert Counting.calls == 1  # one answer; no model call for the refusal


def test_model_down_gives_a_clear_error(corpus):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    service = AnswerService(
        SearchRetriever(corpus.searcher), ClientChatModel(ChatClient(dead, SERVED_NAME, timeout=5))
    )

    async def ask():
        try:
            return await service.ask("How do I remove untracked files from my working tree?")
        finally:
            await service.aclose()

    with pytest.raises(ModelUnavailable, match=f"cannot reach the language model at {dead}"):
        asyncio.run(ask())


def cli(env, *args, stdin=""):
    return run_cli(env, *args, check=False, stdin=stdin)


@pytest.fixture
def cli_env(tmp_path, generation_model):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNLOOP_")}
    env.update(
        LEARNLOOP_DATA_DIR=str(tmp_path / "data"),
        LEARNLOOP_GENERATION_MODEL=str(generation_model),
        LEARNLOOP_INFERENCE_PORT=str(free_port()),
        LEARNLOOP_ANSWER_TOKENS="64",  # real answers, short ones: CI time on two cores
    )
    return env


def test_ask_starts_the_embedded_server_and_stops_it(cli_env):
    assert cli(cli_env, "ingest", str(DATA / "corpus" / "git-clean.html")).returncode == 0
    done = cli(cli_env, "ask", "How do I remove untracked files?", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert set(answer) == {"answer", "refused", "citations", "consulted", "quotes", "model_text"}
    assert answer["refused"] is False and answer["answer"] and answer["model_text"]
    for source in answer["citations"] + answer["consulted"]:
        assert set(source) == {"n", "source", "section", "text"}
        assert source["source"] == "git-clean.html"
    assert answer["quotes"]  # grounded: the material's own sentences come with the answer
    for quote in answer["quotes"]:
        assert set(quote) == {"quote", "n", "source", "section"}
        assert quote["source"] == "git-clean.html" and quote["quote"].strip()
    port = int(cli_env["LEARNLOOP_INFERENCE_PORT"])
    with socket.socket() as sock:  # the server it started is gone again
        assert sock.connect_ex(("127.0.0.1", port)) != 0

    refused = json.loads(cli(cli_env, "ask", "What is the VPN address?", "--json").stdout)
    assert refused["refused"] is True and refused["citations"] == []


def test_ask_with_the_model_down_says_what_is_unreachable(cli_env):
    cli(cli_env, "ingest", str(DATA / "corpus" / "git-clean.html"))
    env = dict(cli_env, LEARNLOOP_INFERENCE_URL="http://127.0.0.1:9/v1")
    down = cli(env, "ask", "How do I remove untracked files?")
    assert down.returncode == 1
    assert "cannot reach the language model at http://127.0.0.1:9/v1" in down.stderr
    assert "Traceback" not in down.stderr


def test_eval_scores_generated_answers(cli_env, tmp_path, inference_server):
    cli(cli_env, "ingest", str(DATA / "corpus" / "git-stash.html"))
    qa = tmp_path / "qa.jsonl"
    qa.write_text(
        json.dumps(
            {
                "question": "How do I save my uncommitted changes away for later?",
                "must_contain": ["stash"],
                "source": "git-stash.html",
                "evidence": "Use git stash when you want to record the current state",
            }
        )
        + "\n"
        + json.dumps({"question": "Where do I book a meeting room?", "source": ""})
    )
    env = dict(cli_env, LEARNLOOP_INFERENCE_URL=inference_server)
    report = json.loads(cli(env, "eval", str(qa), "--json").stdout)
    assert report["items"][0]["answer"]
    assert report["answer_contains"] in (0.0, 1.0)
    assert report["answer_contains"] == float("stash" in report["items"][0]["answer"].lower())
    assert report["items"][1]["refused"] is True and report["items"][1]["answer"] == ""


def test_up_indexes_the_sample_and_chats_in_the_terminal(cli_env):
    web = free_port()
    first = cli(
        dict(cli_env, LEARNLOOP_WEB_URL=f"http://127.0.0.1:{web}"),
        *("up", "--web-port", str(web)),
        stdin="how do I stash my changes?\nwhat is the parental leave policy?\n",
    )
    assert first.returncode == 0, first.stderr
    # the web console too, with a one-time sign-in link for the terminal's user
    assert f"Web console: http://127.0.0.1:{web}" in first.stderr
    assert re.search(rf"http://127\.0\.0\.1:{web}/signin\?token=[\w-]{{40,}}", first.stderr)
    assert "First run: indexing the sample material" in first.stderr
    assert "learnloop>" in first.stdout
    assert "git-stash(1)" in first.stdout  # the sources of the first answer
    assert "does not cover that" in first.stdout  # the second question is refused
    assert "DEBUG" not in first.stderr and "Loading weights" not in first.stderr
    port = int(cli_env["LEARNLOOP_INFERENCE_PORT"])
    with socket.socket() as sock:  # Ctrl-D stopped the server `up` started
        assert sock.connect_ex(("127.0.0.1", port)) != 0
    second = cli(cli_env, "up", "--web-port", "0", stdin="")
    assert "First run" not in second.stderr
    assert "4 documents indexed" in second.stderr
