"""The embedded server's vLLM contract, driven by the official openai client and LangChain."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Annotated

import httpx
import openai
import pytest
from pydantic import BaseModel, Field

from inference.client import ChatClient
from inference.errors import BadRequest, ModelNotFound, ModelUnavailable, StructuredOutputError
from inference.models import SERVED_NAME
from tests.conftest import running_server, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ASK = [{"role": "user", "content": "What is the capital of France?"}]


class QuizItem(BaseModel):
    # bounded lengths bound the tokens: at worst about one token a character, ~380 in all
    question: str = Field(max_length=80)
    options: list[Annotated[str, Field(max_length=30)]] = Field(min_length=4, max_length=4)
    correct: int = Field(ge=0, le=3)
    explanation: str = Field(max_length=100)


def root(url: str) -> str:
    return url.removesuffix("/v1")


@pytest.fixture(scope="module")
def client(inference_server):
    return openai.OpenAI(base_url=inference_server, api_key="unused")


@pytest.fixture
def aclient(inference_server):
    """An async client per test; each asyncio.run closes it (connections belong to one loop)."""
    return lambda: openai.AsyncOpenAI(base_url=inference_server, api_key="unused")


def greedy(client, content: str, model: str = SERVED_NAME, max_tokens: int = 24) -> str:
    reply = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": content}],
        max_tokens=max_tokens,
        temperature=0,
    )
    return reply.choices[0].message.content


def test_structured_json_always_parses_and_validates(aclient):
    """The project's own quiz schema with the switch our client sends. Four seeds: the
    twenty-seed run is the next test's (the server's default, any client)."""
    schema = QuizItem.model_json_schema()
    prompt = [
        {"role": "system", "content": "You write quiz questions as JSON."},
        {"role": "user", "content": "A multiple-choice question about git branches."},
    ]

    async def one(client, seed: int):
        return await client.chat.completions.create(
            model=SERVED_NAME,
            messages=prompt,
            max_tokens=400,
            temperature=0.8,
            seed=seed,
            extra_body={"structured_outputs": {"json": schema, "disable_any_whitespace": True}},
        )

    async def four():
        async with aclient() as client:
            return await asyncio.gather(*(one(client, seed) for seed in range(4)))

    replies = asyncio.run(four())
    for reply in replies:
        choice = reply.choices[0]
        assert choice.finish_reason == "stop", choice.message.content  # "length" is a failure
        QuizItem.model_validate_json(choice.message.content)
    assert len({r.choices[0].message.content for r in replies}) > 1  # seeds differ, texts too


class ShortQuizItem(BaseModel):
    question: str = Field(max_length=60)
    options: list[Annotated[str, Field(max_length=20)]] = Field(min_length=4, max_length=4)
    correct: int = Field(ge=0, le=3)
    explanation: str = Field(max_length=40)


def test_structured_json_needs_no_whitespace_switch_from_other_clients(aclient):
    """A client that knows nothing of `disable_any_whitespace` (any OpenAI client pointed at
    the server) still gets JSON that ends: the server forbids free whitespace by default."""
    schema = ShortQuizItem.model_json_schema()
    prompt = [
        {"role": "system", "content": "You write quiz questions as JSON."},
        {"role": "user", "content": "A multiple-choice question about the office kitchen."},
    ]

    async def twenty():
        async with aclient() as client:
            return await asyncio.gather(
                *(
                    client.chat.completions.create(
                        model=SERVED_NAME,
                        messages=prompt,
                        max_tokens=200,
                        temperature=0.7,
                        seed=seed,
                        extra_body={"structured_outputs": {"json": schema}},
                    )
                    for seed in range(20)
                )
            )

    replies = asyncio.run(twenty())
    for reply in replies:
        choice = reply.choices[0]
        assert choice.finish_reason == "stop", choice.message.content
        ShortQuizItem.model_validate_json(choice.message.content)


def test_choice_regex_and_response_format(client):
    choice = client.chat.completions.create(
        model=SERVED_NAME,
        messages=[{"role": "user", "content": "Is git a version control system?"}],
        max_tokens=10,
        temperature=1.0,
        extra_body={"structured_outputs": {"choice": ["yes", "no", "maybe"]}},
    )
    assert choice.choices[0].message.content in {"yes", "no", "maybe"}

    date = client.chat.completions.create(
        model=SERVED_NAME,
        messages=[{"role": "user", "content": "When was git first released?"}],
        max_tokens=20,
        temperature=0.7,
        extra_body={"structured_outputs": {"regex": r"(19|20)\d\d-[01]\d-[0-3]\d"}},
    )
    assert re.fullmatch(r"(19|20)\d\d-[01]\d-[0-3]\d", date.choices[0].message.content)

    fmt = {
        "type": "json_schema",
        "json_schema": {"name": "quiz", "schema": QuizItem.model_json_schema()},
    }
    # response_format takes vLLM's default whitespace rules, under which a tiny model may
    # wander in blanks: what is checked is that the grammar holds from the first token
    for extra in ({"response_format": fmt}, {"response_format": {"type": "json_object"}}):
        reply = client.chat.completions.create(
            model=SERVED_NAME,
            messages=[{"role": "user", "content": "Tell me about merging."}],
            max_tokens=30,
            temperature=0,
            **extra,
        )
        content = reply.choices[0].message.content
        assert content.lstrip().startswith("{"), content
        if reply.choices[0].finish_reason == "stop":
            assert isinstance(json.loads(content), dict)


def test_removed_guided_fields_are_ignored_like_vllm(client):
    plain = greedy(client, "Name a colour.", max_tokens=12)
    ignored = client.chat.completions.create(
        model=SERVED_NAME,
        messages=[{"role": "user", "content": "Name a colour."}],
        max_tokens=12,
        temperature=0,
        extra_body={"guided_json": {"type": "object"}, "guided_choice": ["x"]},
    )
    assert ignored.choices[0].message.content == plain  # unconstrained: the same greedy text


def test_repetition_penalty_matches_transformers(client, generation_model):
    """The server's greedy text under a penalty equals transformers' own generate."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    messages = [{"role": "user", "content": "Write the word hello ten times."}]
    tokenizer = AutoTokenizer.from_pretrained(str(generation_model))
    model = AutoModelForCausalLM.from_pretrained(str(generation_model), dtype=torch.float32)
    inputs = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    texts = {}
    for penalty in (1.0, 1.5):
        with torch.inference_mode():
            ids = model.generate(
                **inputs, max_new_tokens=20, do_sample=False, repetition_penalty=penalty
            )
        expected = tokenizer.decode(
            ids[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True
        )
        reply = client.chat.completions.create(
            model=SERVED_NAME,
            messages=messages,
            max_tokens=20,
            temperature=0,
            extra_body={"repetition_penalty": penalty},
        )
        assert reply.choices[0].message.content == expected
        texts[penalty] = expected
    assert texts[1.0] != texts[1.5]


def test_errors_have_vllm_shapes_and_never_kill_the_server(inference_server, client):
    base = root(inference_server)
    bad_json = httpx.post(
        f"{inference_server}/chat/completions",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert bad_json.status_code == 400
    assert set(bad_json.json()["error"]) == {"message", "type", "param", "code"}

    for constraint in ({"json": {"type": "no-such-type"}}, {"regex": "(unclosed"}):
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(
                model=SERVED_NAME,
                messages=ASK,
                max_tokens=5,
                extra_body={"structured_outputs": constraint},
            )
        assert caught.value.body["code"] == 400 and "compile" in caught.value.body["message"]

    huge = [{"role": "user", "content": "word " * 9000}]
    with pytest.raises(openai.BadRequestError, match="maximum context length is 8192"):
        client.chat.completions.create(model=SERVED_NAME, messages=huge, max_tokens=5)
    with pytest.raises(openai.BadRequestError, match="maximum context length"):
        client.chat.completions.create(model=SERVED_NAME, messages=ASK, max_tokens=9000)
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="gpt-99", messages=ASK, max_tokens=2)
    assert missing.value.body["type"] == "NotFoundError"
    assert httpx.get(f"{base}/health").status_code == 200
    assert "Paris" in greedy(client, "What is the capital of France?")


def test_batched_requests_match_their_single_runs(client, aclient):
    prompts = [
        "What is the capital of France?",
        "Write one sentence about version control.",
        "List three colours.",
        "Explain what a git branch is in one line, please, for a new colleague on the team.",
    ]
    alone = [greedy(client, p) for p in prompts]

    async def together():
        async def one(p: str, delay: float) -> str:
            await asyncio.sleep(delay)  # staggered: later ones join a batch already running
            reply = await http.chat.completions.create(
                model=SERVED_NAME,
                messages=[{"role": "user", "content": p}],
                max_tokens=24,
                temperature=0,
            )
            return reply.choices[0].message.content

        async with aclient() as http:
            return await asyncio.gather(*(one(p, 0.15 * i) for i, p in enumerate(prompts)))

    assert asyncio.run(together()) == alone


def metric(base: str, name: str, **labels: str) -> float:
    text = httpx.get(f"{base}/metrics").text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            head, value = line.rsplit(" ", 1)
            if head.split("{")[0] == name:
                total += float(value)
    return total


def test_metrics_and_a_disconnected_stream_stops_generating(inference_server, client):
    base = root(inference_server)
    generated = metric(base, "vllm:generation_tokens_total")
    aborted = metric(base, "vllm:request_success_total", finished_reason="abort")
    greedy(client, "Say hello.")
    assert metric(base, "vllm:generation_tokens_total") > generated
    assert metric(base, "vllm:time_to_first_token_seconds_count") >= 1
    assert metric(base, "vllm:inter_token_latency_seconds_count") >= 1
    assert "vllm:num_requests_waiting" in httpx.get(f"{base}/metrics").text

    body = {
        "model": SERVED_NAME,
        "messages": [{"role": "user", "content": "Count from 1 to 1000."}],
        "max_tokens": 2000,
        "stream": True,
    }
    with httpx.stream("POST", f"{inference_server}/chat/completions", json=body) as response:
        lines = response.iter_lines()
        first = [next(lines) for _ in range(6)]
        assert any(line.startswith("data: ") for line in first)
    # the client is gone: the server aborts the request instead of generating 2000 tokens
    wait_until(
        lambda: metric(base, "vllm:request_success_total", finished_reason="abort") > aborted,
        timeout=30,
        what="aborted request",
    )
    assert metric(base, "vllm:num_requests_running") == 0


@pytest.fixture(scope="module")
def adapters(tmp_path_factory, generation_model):
    """Two tiny random LoRA adapters made with peft (non-zero, so they change the output)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    paths = {}
    for name, seed in (("tone-a", 1), ("tone-b", 2)):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_pretrained(str(generation_model))
        config = LoraConfig(
            r=4, lora_alpha=16, target_modules=["q_proj", "v_proj"], init_lora_weights=False
        )
        path = tmp_path_factory.mktemp(name)
        get_peft_model(model, config).save_pretrained(str(path))
        paths[name] = str(path)
    return paths


def test_lora_adapters_load_serve_in_mixed_batches_and_unload(
    inference_server, client, aclient, adapters
):
    def post(path: str, body: dict) -> httpx.Response:
        return httpx.post(f"{inference_server}/{path}", json=body, timeout=60)

    loaded = post("load_lora_adapter", {"lora_name": "tone-a", "lora_path": adapters["tone-a"]})
    assert loaded.status_code == 200 and "added successfully" in loaded.text
    assert (
        post(
            "load_lora_adapter", {"lora_name": "tone-b", "lora_path": adapters["tone-b"]}
        ).status_code
        == 200
    )
    again = post("load_lora_adapter", {"lora_name": "tone-a", "lora_path": adapters["tone-a"]})
    assert again.status_code == 400 and "already been loaded" in again.json()["error"]["message"]
    nowhere = post("load_lora_adapter", {"lora_name": "x", "lora_path": "/no/such/adapter"})
    assert nowhere.status_code == 404 and nowhere.json()["error"]["type"] == "NotFoundError"

    cards = {m.id: m for m in client.models.list().data}
    assert cards["tone-a"].parent == SERVED_NAME and cards["tone-b"].parent == SERVED_NAME
    assert cards[SERVED_NAME].parent is None

    question = "What is the capital of France?"
    alone = {m: greedy(client, question, m) for m in (SERVED_NAME, "tone-a", "tone-b")}
    assert len(set(alone.values())) == 3  # each adapter changes the output

    async def mixed():
        async with aclient() as http:
            replies = await asyncio.gather(
                *(
                    http.chat.completions.create(
                        model=m,
                        messages=[{"role": "user", "content": question}],
                        max_tokens=24,
                        temperature=0,
                    )
                    for m in alone
                )
            )
        return {r.model: r.choices[0].message.content for r in replies}

    assert asyncio.run(mixed()) == alone  # one batch, three adapters, same answers

    unloaded = post("unload_lora_adapter", {"lora_name": "tone-a"})
    assert unloaded.status_code == 200 and "removed successfully" in unloaded.text
    with pytest.raises(openai.NotFoundError):
        greedy(client, question, "tone-a")
    gone = post("unload_lora_adapter", {"lora_name": "tone-a"})
    assert gone.status_code == 404 and gone.json()["error"]["code"] == 404
    assert greedy(client, question, "tone-b") == alone["tone-b"]
    assert post("unload_lora_adapter", {"lora_name": "tone-b"}).status_code == 200
    assert greedy(client, question) == alone[SERVED_NAME]  # the plain base model again


def test_client_returns_validated_objects_and_typed_errors(inference_server):
    async def run():
        client = ChatClient(inference_server, SERVED_NAME)
        try:
            item = await client.generate_structured(
                [{"role": "user", "content": "A quiz question about git tags."}],
                QuizItem,
                max_tokens=300,
            )
            assert isinstance(item, QuizItem) and len(item.options) == 4
            with pytest.raises(StructuredOutputError, match="used all 5 tokens"):
                await client.generate_structured(ASK, QuizItem, max_tokens=5)
            with pytest.raises(ModelNotFound, match="does not exist"):
                await client.complete(ASK, model="no-such-adapter")
            with pytest.raises(BadRequest, match="maximum context length"):
                await client.complete(ASK, max_tokens=100_000)
            pieces = [p async for p in client.stream(ASK, max_tokens=12)]
            assert len(pieces) > 1 and "Paris" in "".join(pieces)
        finally:
            await client.close()

    asyncio.run(run())


def test_langchain_chat_openai_works_unchanged(inference_server):
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(
        base_url=inference_server, api_key="unused", model=SERVED_NAME, temperature=0, max_tokens=16
    )
    assert "Paris" in llm.invoke("What is the capital of France?").content
    streamed = "".join(chunk.content for chunk in llm.stream("What is the capital of France?"))
    assert "Paris" in streamed


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory, generation_model):
    """A server with an API key and room for one running and one waiting request."""
    with running_server(
        tmp_path_factory.mktemp("strict"),
        generation_model,
        "--api-key",
        "s3cret-key",
        "--max-batch",
        "1",
        "--max-waiting",
        "1",
    ) as url:
        yield url


def test_api_key_and_a_full_queue_answer_clearly_and_the_client_retries(strict_server):
    assert httpx.get(f"{strict_server}/models").status_code == 401
    headers = {"Authorization": "Bearer s3cret-key"}
    body = {"model": SERVED_NAME, "messages": ASK, "max_tokens": 24, "temperature": 0}

    async def burst():
        async with httpx.AsyncClient(timeout=120, headers=headers) as http:
            return await asyncio.gather(
                *(http.post(f"{strict_server}/chat/completions", json=body) for _ in range(4))
            )

    replies = asyncio.run(burst())
    codes = [r.status_code for r in replies]
    # one runs, at most one waits; the rest are refused at once (which ones depends on
    # whether the engine admitted the first before the second arrived)
    assert 200 in codes and 503 in codes
    busy = next(r for r in replies if r.status_code == 503)
    assert "busy" in busy.json()["error"]["message"]

    async def patient():
        client = ChatClient(strict_server, SERVED_NAME, api_key="s3cret-key", max_retries=6)
        try:
            return await asyncio.gather(*(client.complete(ASK, max_tokens=8) for _ in range(4)))
        finally:
            await client.close()

    assert all("Paris" in c.text for c in asyncio.run(patient()))

    async def wrong_key():
        client = ChatClient(strict_server, SERVED_NAME, api_key="wrong", max_retries=0)
        try:
            await client.complete(ASK, max_tokens=2)
        finally:
            await client.close()

    with pytest.raises(ModelUnavailable, match="401"):
        asyncio.run(wrong_key())
