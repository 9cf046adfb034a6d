"""The inference contract on CUDA. Skipped without a GPU (CI has none).

The packaged weights are not at hand on a GPU machine, so the SmolLM2 architecture is built
from its config (tests/data/smollm2-arch, with the real tokenizer) with random weights:
the API, the grammar and the adapters behave the same; only the words are noise.
"""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest
import torch

from tests.conftest import DATA, running_server
from tests.integration.test_inference_contract import QuizItem

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]

NAME = "smollm2-arch"


@pytest.fixture(scope="module")
def random_model(tmp_path_factory):
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    folder = tmp_path_factory.mktemp(NAME) / NAME
    torch.manual_seed(0)
    config = AutoConfig.from_pretrained(DATA / "smollm2-arch")
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(DATA / "smollm2-arch").save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def cuda_server(tmp_path_factory, random_model):
    with running_server(
        tmp_path_factory.mktemp("cuda"),
        random_model,
        env={"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "1"},
    ) as url:
        yield url


@pytest.fixture(scope="module")
def adapter(tmp_path_factory, random_model):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(random_model)
    config = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    path = tmp_path_factory.mktemp("adapter")
    get_peft_model(model, config).save_pretrained(path)
    return str(path)


def test_plain_streaming_structured_and_lora_on_cuda(cuda_server, adapter):
    client = openai.OpenAI(base_url=cuda_server, api_key="unused")
    name = client.models.list().data[0].id
    ask = [{"role": "user", "content": "Hello"}]
    plain = client.chat.completions.create(model=name, messages=ask, max_tokens=16, temperature=0)
    assert plain.usage.completion_tokens >= 1
    chunks = list(
        client.chat.completions.create(
            model=name, messages=ask, max_tokens=16, temperature=0, stream=True
        )
    )
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == plain.choices[0].message.content

    async def twenty():
        async with openai.AsyncOpenAI(base_url=cuda_server, api_key="unused") as aclient:
            return await asyncio.gather(
                *(
                    aclient.chat.completions.create(
                        model=name,
                        messages=ask,
                        max_tokens=400,
                        temperature=1.0,
                        seed=seed,
                        extra_body={
                            "structured_outputs": {
                                "json": QuizItem.model_json_schema(),
                                "disable_any_whitespace": True,
                            }
                        },
                    )
                    for seed in range(20)
                )
            )

    for reply in asyncio.run(twenty()):
        assert reply.choices[0].finish_reason == "stop"
        QuizItem.model_validate_json(reply.choices[0].message.content)

    loaded = httpx.post(
        f"{cuda_server}/load_lora_adapter", json={"lora_name": "a", "lora_path": adapter}
    )
    assert loaded.status_code == 200
    tuned = client.chat.completions.create(model="a", messages=ask, max_tokens=16, temperature=0)
    assert tuned.choices[0].message.content != plain.choices[0].message.content
    assert (
        httpx.post(f"{cuda_server}/unload_lora_adapter", json={"lora_name": "a"}).status_code == 200
    )
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="a", messages=ask, max_tokens=4)
