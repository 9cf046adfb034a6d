"""A short LoRA run on the packaged model: bounded, resumable, served by the real server."""

from __future__ import annotations

import asyncio
import json

import httpx
import openai
import pytest

from bot.adapters.store import database_url, open_store
from bot.adapters.store.registry import SqlRegistry
from inference.models import SERVED_NAME
from training.dataset import BuildOptions, build_dataset
from training.examples import Passage
from training.prompt import PROMPT_VERSION
from training.serving import HttpAdapterServer, reconcile
from training.train import TrainConfig, train_adapter

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PASSAGES = [
    Passage(
        "deploys.md",
        "Deploys",
        "Freeze",
        "A deploy freeze is a window when only approved hotfixes ship. "
        "Freezes start every Friday at 15:00 and end on Monday at 09:00.",
    ),
    Passage(
        "expenses.md",
        "Expenses",
        "Meals",
        "A meal allowance is the most a meal may cost: 40 euros per person. "
        "Receipts are uploaded within 30 days.",
    ),
]


def tiny(run_dir, base, **changes) -> TrainConfig:
    # a few steps at a high rate: enough to move a 135M model's greedy output, cheap on 2 cores
    fields = dict(
        base_model=base,
        run_dir=run_dir,
        max_steps=3,
        batch_size=1,
        max_length=320,
        save_steps=1,
        learning_rate=1e-2,
        rank=4,
        alpha=8,
        device="cpu",
    )
    fields.update(changes)
    return TrainConfig(**fields)


@pytest.fixture(scope="module")
def dataset():
    data = build_dataset(PASSAGES, options=BuildOptions(per_prompt=2, refusal_share=0.5))
    assert data.examples
    return data


@pytest.fixture(scope="module")
def trained(tmp_path_factory, generation_model, dataset):
    seen = []
    result = train_adapter(
        dataset.examples, tiny(tmp_path_factory.mktemp("run"), generation_model), seen.append
    )
    return result, seen


def test_training_writes_a_peft_adapter_and_reports_progress(trained, generation_model):
    result, seen = trained
    assert result.steps == 3 and result.stopped_by == "steps" and result.resumed_from == 0
    assert result.tokens > 0
    assert [p.step for p in seen] == [1, 2, 3]
    assert seen[-1].tokens == result.tokens and seen[-1].loss is not None
    config = json.loads((result.adapter / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["r"] == 4
    assert (result.adapter / "adapter_model.safetensors").is_file()
    meta = json.loads((result.adapter / "learnloop-adapter.json").read_text())
    assert meta["base_model"] == str(generation_model)


def test_the_adapter_loads_into_the_embedded_server_and_changes_its_output(
    trained, inference_server, dataset
):
    result, _ = trained
    root = inference_server.removesuffix("/v1")
    loaded = httpx.post(
        f"{root}/v1/load_lora_adapter",
        json={"lora_name": "learnloop-test-1", "lora_path": str(result.adapter)},
        timeout=60,
    )
    assert loaded.status_code == 200, loaded.text
    client = openai.OpenAI(base_url=inference_server, api_key="unused")
    prompt = dataset.examples[0].messages()

    def reply(model: str) -> str:
        out = client.chat.completions.create(
            model=model, messages=prompt, max_tokens=40, temperature=0
        )
        return out.choices[0].message.content or ""

    try:
        assert reply("learnloop-test-1") != reply(SERVED_NAME)
    finally:
        httpx.post(f"{root}/v1/unload_lora_adapter", json={"lora_name": "learnloop-test-1"})


def test_the_wall_time_bound_stops_with_a_checkpoint_and_a_rerun_resumes(
    tmp_path, generation_model, dataset
):
    stopped = train_adapter(
        dataset.examples, tiny(tmp_path, generation_model, max_steps=2, max_seconds=0)
    )
    assert stopped.stopped_by == "time" and stopped.steps == 1
    assert (tmp_path / "checkpoints" / "checkpoint-1").is_dir()

    resumed = train_adapter(dataset.examples, tiny(tmp_path, generation_model, max_steps=2))
    assert resumed.resumed_from == 1 and resumed.steps == 2 and resumed.stopped_by == "steps"
    assert (resumed.adapter / "adapter_model.safetensors").is_file()


@pytest.fixture
def registry(tmp_path):
    """The adapter registry in a SQLite store of the test's own."""
    engine, sessions = open_store(database_url("", tmp_path / "data"))
    yield SqlRegistry(sessions, tmp_path / "adapters", SERVED_NAME)
    engine.dispose()


def test_reconcile_puts_the_active_adapter_on_a_server_that_never_had_it_and_rollback_removes_it(
    trained, inference_server, dataset, registry
):
    # the session's server has not loaded this adapter: exactly a restarted replica's state
    result, _ = trained
    record = registry.promote(
        registry.register(result.adapter, SERVED_NAME, PROMPT_VERSION, dataset.version).name
    )
    client = openai.OpenAI(base_url=inference_server, api_key="unused")
    ask = {"messages": dataset.examples[0].messages(), "max_tokens": 4, "temperature": 0}

    async def pass_once():
        async with httpx.AsyncClient() as http:
            return await reconcile([HttpAdapterServer(inference_server, http)], registry.active())

    first = asyncio.run(pass_once())
    assert first[0].loaded == (record.name,) and not first[0].error
    assert client.chat.completions.create(model=record.name, **ask).choices
    assert asyncio.run(pass_once())[0].loaded == ()  # already there: nothing to do

    assert registry.rollback() is None
    assert asyncio.run(pass_once())[0].unloaded == (record.name,)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model=record.name, **ask)
