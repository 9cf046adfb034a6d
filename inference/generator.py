"""Text generation with transformers on CPU (CUDA when present), one request at a time."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerationRequest:
    messages: list[dict[str, str]]
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    repetition_penalty: float = 1.0
    stop: tuple[str, ...] = ()


@dataclass
class GenerationResult:
    """Filled in as a stream is consumed; complete once the stream ends."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"


class Generator:
    def __init__(self, model_path: Path, device: str | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        # bf16 halves memory on a GPU; on CPUs without bf16 units it is slower than fp32
        # (SmolLM2-135M on two cores: 12 vs 17 tokens/s), and the model is small
        dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        self.tokenizer: Any = AutoTokenizer.from_pretrained(str(model_path))
        model: Any = AutoModelForCausalLM.from_pretrained(str(model_path), dtype=dtype)
        self.model: Any = model.to(self.device)
        self.model.eval()
        self._lock = threading.Lock()  # one generation at a time: the CPU is the limit
        log.info("generation model loaded from %s on %s", model_path, self.device)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text)["input_ids"])

    def stream(self, request: GenerationRequest, result: GenerationResult) -> Iterator[str]:
        """Yield text pieces as they are generated; `result` holds usage at the end."""
        import torch
        from transformers import TextIteratorStreamer

        inputs: Any = self.tokenizer.apply_chat_template(
            request.messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(self.device)
        result.prompt_tokens = int(inputs["input_ids"].shape[1])
        streamer = TextIteratorStreamer(
            self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=300
        )
        kwargs: dict[str, Any] = {
            **inputs,
            "max_new_tokens": request.max_tokens,
            "streamer": streamer,
            "pad_token_id": self.tokenizer.eos_token_id,
            "repetition_penalty": request.repetition_penalty,
        }
        if request.temperature > 0:
            kwargs.update(do_sample=True, temperature=request.temperature, top_p=request.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if request.stop:
            kwargs.update(stop_strings=list(request.stop), tokenizer=self.tokenizer)
        outputs: dict[str, Any] = {}

        def run() -> None:
            with self._lock, torch.inference_mode():
                if request.seed is not None:
                    torch.manual_seed(request.seed)
                try:
                    outputs["ids"] = self.model.generate(**kwargs)
                except Exception as exc:  # surfaced to the caller below
                    outputs["error"] = exc
                    streamer.end()

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        text = ""
        for piece in streamer:
            text += piece
            cut = _stop_at(text, request.stop)
            if cut is not None:  # the model is stopped by stop_strings; trim the marker
                yield piece[: len(piece) - (len(text) - cut)]
                break
            yield piece
        worker.join()
        if "error" in outputs:
            raise outputs["error"]
        generated = int(outputs["ids"].shape[1]) - result.prompt_tokens
        result.completion_tokens = generated
        hit_eos = int(outputs["ids"][0, -1]) == self.tokenizer.eos_token_id
        stopped = _stop_at(text, request.stop) is not None
        done = hit_eos or stopped or generated < request.max_tokens
        result.finish_reason = "stop" if done else "length"


def _stop_at(text: str, stops: tuple[str, ...]) -> int | None:
    found = [text.find(s) for s in stops if s and s in text]
    return min(found) if found else None
