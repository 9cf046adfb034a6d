"""The served model: a transformers base model, its tokenizer and the LoRA adapters on top."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

BASE = "__base__"  # peft's name for "no adapter" in a mixed-adapter batch


class AdapterError(Exception):
    """A LoRA adapter cannot be loaded or unloaded; `status` is vLLM's HTTP status for it."""

    def __init__(self, message: str, status: int = 400, kind: str = "BadRequestError") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.kind = kind


class ModelHost:
    """Owned by the engine thread: every call here happens between forward passes."""

    def __init__(self, model_path: Path, device: str | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        # bf16 halves memory on a GPU; on CPUs without bf16 units it is slower than fp32
        dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        self.tokenizer: Any = AutoTokenizer.from_pretrained(str(model_path))
        model: Any = AutoModelForCausalLM.from_pretrained(str(model_path), dtype=dtype)
        self.base: Any = model.to(self.device).eval()
        self.config: Any = self.base.config
        self.max_model_len = int(getattr(self.config, "max_position_embeddings", 2048))
        eos = self.base.generation_config.eos_token_id
        if eos is None:
            eos = self.tokenizer.eos_token_id
        self.eos_ids: frozenset[int] = frozenset(eos if isinstance(eos, list) else [eos])
        self.pad_id = int(self.tokenizer.pad_token_id or next(iter(self.eos_ids)))
        self.peft: Any = None
        self.adapters: dict[str, str] = {}  # name -> path
        log.info("model loaded from %s on %s", model_path, self.device)

    def prompt_ids(self, messages: list[dict[str, str]]) -> list[int]:
        ids = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=True, return_dict=True
        )["input_ids"]
        return list(ids)

    def decode(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=True))

    def forward(
        self, input_ids: Any, mask: Any, positions: Any, cache: Any, adapters: list[str | None]
    ) -> Any:
        """Logits of the last position of every row."""
        import torch

        kwargs: dict[str, Any] = {
            "input_ids": input_ids.to(self.device),
            "attention_mask": mask.to(self.device),
            "position_ids": positions.to(self.device),
            "cache": cache,
            "use_cache": True,
            "logits_to_keep": 1,
        }
        model = self.base
        if self.peft is not None:
            model = self.peft
            kwargs["adapter_names"] = [a or BASE for a in adapters]
        with torch.inference_mode():
            return model(**kwargs).logits[:, -1, :]

    def load_adapter(self, name: str, path: str) -> None:
        if not (Path(path) / "adapter_config.json").is_file():
            raise AdapterError(
                f"Loading lora {name} failed: No adapter found for {path}", 404, "NotFoundError"
            )
        from peft import PeftModel

        try:
            if self.peft is None:
                self.peft = PeftModel.from_pretrained(self.base, path, adapter_name=name)
                self.peft.eval()
            else:
                self.peft.load_adapter(path, adapter_name=name)
        except (ValueError, KeyError, RuntimeError, OSError) as exc:
            raise AdapterError(f"Loading lora {name} failed: {exc}") from exc
        self.adapters[name] = path
        log.info("loaded LoRA adapter %s", name)

    def unload_adapter(self, name: str) -> None:
        self.adapters.pop(name, None)
        if self.peft is None:
            return
        if not self.adapters:
            # removing the LoRA layers entirely gives back the plain, fast base model
            self.base = self.peft.unload()
            self.peft = None
        else:
            self.peft.delete_adapter(name)
        log.info("unloaded LoRA adapter %s", name)
