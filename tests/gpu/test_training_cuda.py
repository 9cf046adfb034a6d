"""LoRA training on CUDA (bf16): a few steps, then the adapter loads into the served model.

Skipped without a GPU. As in test_cuda_contract, the SmolLM2 architecture is built with
random weights (the packaged weights are not at hand there); training and loading behave
the same.
"""

from __future__ import annotations

import json

import httpx
import pytest
import torch

from tests.conftest import DATA, running_server
from training.dataset import BuildOptions, build_dataset
from training.examples import Passage
from training.train import TrainConfig, train_adapter

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]

PASSAGES = [
    Passage("a.md", "Deploys", "Freeze", "A deploy freeze is a window when only hotfixes ship."),
    Passage("b.md", "Expenses", "Meals", "A meal allowance is the most a meal may cost."),
]


@pytest.fixture(scope="module")
def random_model(tmp_path_factory):
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    folder = tmp_path_factory.mktemp("smollm2-arch") / "smollm2-arch"
    torch.manual_seed(0)
    config = AutoConfig.from_pretrained(DATA / "smollm2-arch")
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(DATA / "smollm2-arch").save_pretrained(folder)
    return folder


def test_a_few_bf16_steps_on_cuda_make_an_adapter_the_server_loads(tmp_path, random_model):
    data = build_dataset(PASSAGES, options=BuildOptions(per_prompt=2, refusal_share=1.0))
    config = TrainConfig(
        base_model=random_model,
        run_dir=tmp_path / "run",
        max_steps=3,
        batch_size=4,
        max_length=512,
        save_steps=2,
        learning_rate=1e-2,
        rank=4,
        alpha=8,
        device="cuda",
    )
    result = train_adapter(data.examples, config)
    assert result.device == "cuda" and result.steps == 3 and result.tokens > 0
    meta = json.loads((result.adapter / "learnloop-adapter.json").read_text())
    assert meta["device"] == "cuda"

    with running_server(
        tmp_path, random_model, env={"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "1"}
    ) as url:
        root = url.removesuffix("/v1")
        loaded = httpx.post(
            f"{root}/v1/load_lora_adapter",
            json={"lora_name": "learnloop-v1", "lora_path": str(result.adapter)},
            timeout=60,
        )
        assert loaded.status_code == 200, loaded.text
        ask = {"messages": data.examples[0].messages(), "max_tokens": 8, "temperature": 0}
        reply = httpx.post(
            f"{url}/chat/completions", json={"model": "learnloop-v1", **ask}, timeout=60
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["usage"]["completion_tokens"] >= 1
