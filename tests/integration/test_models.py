"""The packaged models load from site-packages, with no hub and no network."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inference.errors import ModelNotFound
from inference.models import generation_model_path, packaged_gguf_path
from retrieval.embedding import packaged_embedding_path, resolve_embedding_path
from retrieval.errors import ModelMissing

pytestmark = pytest.mark.integration


def test_embedding_model_is_the_packaged_384d_minilm(embedder):
    assert embedder.model_path == packaged_embedding_path()
    vectors = embedder.embed(["reset the branch", "move the branch pointer back", "bake a cake"])
    assert vectors.shape == (3, 384)
    close, far = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    assert close > far + 0.2


def test_a_query_embeds_as_in_a_batch_and_is_cached(embedder):
    embedder.clear_query_cache()
    query = "How do I undo `git add` for one file?"
    vector = embedder.embed_query(query)
    assert np.allclose(vector, embedder.embed([query])[0], atol=1e-6)
    assert embedder.embed_query(query) is vector  # a repeated question is not embedded again
    assert not vector.flags.writeable  # shared: nobody may change it


def test_a_query_leaves_torch_thread_count_as_it_was(embedder):
    """A query runs on one thread; batches (ingestion) must keep every core afterwards."""
    import torch

    before = torch.get_num_threads()
    embedder.clear_query_cache()
    embedder.embed_query("Which command rewrites the last commit?")
    assert torch.get_num_threads() == before


def test_missing_models_say_how_to_get_them(tmp_path):
    with pytest.raises(ModelMissing, match="LEARNLOOP_EMBEDDING_MODEL"):
        resolve_embedding_path(str(tmp_path))
    with pytest.raises(ModelNotFound, match="LEARNLOOP_GENERATION_MODEL"):
        generation_model_path(str(tmp_path), tmp_path)


@pytest.mark.slow
def test_gguf_converts_to_a_plain_folder_that_generates(generation_model):
    import torch
    from gguf import GGUFReader
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = packaged_gguf_path()
    folder = generation_model  # converted on first use by generation_model_path("", data_dir)
    assert folder.parts[-2:] == ("models", "SmolLM2-135M-Instruct")
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config
    assert config["model_type"] == "llama"

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    # every tensor of the GGUF made it into the plain model
    reader = GGUFReader(str(gguf))
    assert len(reader.tensors) == len(model.state_dict()) - ("lm_head.weight" in model.state_dict())

    messages = [{"role": "user", "content": "What is the capital of France?"}]
    inputs = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    out = model.generate(**inputs, max_new_tokens=12, do_sample=False)
    answer = tokenizer.decode(out[0][inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    assert "Paris" in answer

    # the folder is trainable: gradients flow (a GGUF-loaded model refuses this)
    model.train()
    loss = model(
        **tokenizer("Paris is in France.", return_tensors="pt"),
        labels=tokenizer("Paris is in France.", return_tensors="pt")["input_ids"],
    ).loss
    loss.backward()
    assert model.model.embed_tokens.weight.grad is not None

    # a second call reuses the converted folder instead of converting again
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert generation_model_path("", folder.parent.parent) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
