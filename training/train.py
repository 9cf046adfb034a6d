"""LoRA fine-tuning with trl's SFTTrainer: bounded, resumable, saved in the PEFT format."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from training.errors import EmptyDataset, TrainingError
from training.examples import Example

log = logging.getLogger(__name__)

ADAPTER_META = "learnloop-adapter.json"


@dataclass(frozen=True)
class TrainConfig:
    base_model: Path  # the Hugging Face folder the inference server serves
    run_dir: Path  # checkpoints/ and adapter/ of this run; rerunning resumes it
    max_steps: int = 300
    max_seconds: float = 3 * 3600
    learning_rate: float = 2e-4
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 1024
    save_steps: int = 25
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass(frozen=True)
class Progress:
    step: int
    total: int
    loss: float | None
    tokens: int
    elapsed_s: float


@dataclass(frozen=True)
class TrainResult:
    adapter: Path  # a PEFT folder: adapter_config.json + adapter_model.safetensors
    steps: int
    tokens: int  # non-padding tokens the model was trained on, this run
    seconds: float
    stopped_by: str  # steps | time
    resumed_from: int  # the step the run continued from (0: a fresh start)
    device: str


def pick_device(setting: str) -> str:
    import torch

    if setting == "cuda" and not torch.cuda.is_available():
        raise TrainingError("LEARNLOOP_TRAIN_DEVICE is cuda but no CUDA device is visible")
    if setting in ("cpu", "cuda"):
        return setting
    return "cuda" if torch.cuda.is_available() else "cpu"


def train_adapter(
    examples: Sequence[Example],
    config: TrainConfig,
    on_progress: Callable[[Progress], None] | None = None,
) -> TrainResult:
    """Train (or resume) a LoRA adapter on `examples`; the loss is on the reply only."""
    if not examples:
        raise EmptyDataset("there are no training examples: ingest material or collect feedback")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from datasets import Dataset, disable_progress_bars
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback
    from transformers.trainer_utils import get_last_checkpoint
    from trl import SFTConfig, SFTTrainer

    device = pick_device(config.device)
    cuda = device == "cuda"
    checkpoints = config.run_dir / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    last = get_last_checkpoint(str(checkpoints))
    resumed_from = int(Path(last).name.rsplit("-", 1)[-1]) if last else 0

    tokenizer: Any = AutoTokenizer.from_pretrained(str(config.base_model))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    # fp32 on the CPU: bf16 there is emulated (slow) on most x86 parts
    model: Any = AutoModelForCausalLM.from_pretrained(
        str(config.base_model), dtype=torch.bfloat16 if cuda else torch.float32
    )
    rows = [{"prompt": ex.messages(), "completion": _reply(ex)} for ex in examples]
    args = SFTConfig(
        output_dir=str(checkpoints),
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        lr_scheduler_type="constant_with_warmup",
        warmup_steps=min(10, config.max_steps // 10),
        logging_steps=1,
        save_steps=config.save_steps,
        save_total_limit=2,
        max_length=config.max_length,
        seed=config.seed,
        use_cpu=not cuda,
        bf16=cuda,
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        include_num_input_tokens_seen="non_padding",
        # set by its new name: trl still defaults the deprecated alias, which warns
        activation_checkpointing=False,
    )
    lora = LoraConfig(
        r=config.rank,
        lora_alpha=config.alpha,
        lora_dropout=config.dropout,
        target_modules=list(config.target_modules),
        task_type="CAUSAL_LM",
    )
    disable_progress_bars()  # dataset preparation happens in SFTTrainer's constructor
    bounds = _Clock(config.max_seconds, config.max_steps, on_progress)
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=lora,
        callbacks=[_bounds_callback(bounds)],
    )
    # progress goes to on_progress and the log, not to stdout in a worker
    trainer.remove_callback(PrinterCallback)
    log.info("training %d examples on %s from step %d", len(rows), device, resumed_from)
    trainer.train(resume_from_checkpoint=last)
    adapter = _save(trainer, config, device)
    state = trainer.state
    return TrainResult(
        adapter=adapter,
        steps=int(state.global_step),
        tokens=int(state.num_input_tokens_seen) - bounds.tokens_at_start,
        seconds=bounds.elapsed(),
        stopped_by="time" if bounds.timed_out else "steps",
        resumed_from=resumed_from,
        device=device,
    )


def _reply(ex: Example) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": ex.completion}]


def _save(trainer: Any, config: TrainConfig, device: str) -> Path:
    """Write the adapter into run_dir/adapter atomically (a half-written one is never seen)."""
    target = config.run_dir / "adapter"
    staging = config.run_dir / "adapter.partial"
    shutil.rmtree(staging, ignore_errors=True)
    trainer.model.save_pretrained(str(staging))
    meta = {"base_model": str(config.base_model), "device": device, **_plain(config)}
    (staging / ADAPTER_META).write_text(json.dumps(meta, indent=2))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def _plain(config: TrainConfig) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}


class _Clock:
    """What the bounds callback shares with train_adapter: time, tokens, last loss."""

    def __init__(
        self, max_seconds: float, total: int, on_progress: Callable[[Progress], None] | None
    ) -> None:
        self.max_seconds = max_seconds
        self.total = total
        self.on_progress = on_progress
        self.started = time.monotonic()
        self.timed_out = False
        self.tokens_at_start = 0
        self.loss: float | None = None

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def _bounds_callback(clock: _Clock) -> Any:
    """Stops (and checkpoints) at the wall-time bound; reports progress every step.

    Built here, not at import, so importing training/ does not load transformers."""
    from transformers import TrainerCallback

    class Bounds(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            clock.started = time.monotonic()
            clock.tokens_at_start = int(state.num_input_tokens_seen)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if logs and "loss" in logs:
                clock.loss = float(logs["loss"])

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if clock.elapsed() > clock.max_seconds and state.global_step < clock.total:
                clock.timed_out = True
                control.should_training_stop = True
                control.should_save = True  # so the next run resumes from here
            if clock.on_progress is not None:
                clock.on_progress(
                    Progress(
                        step=int(state.global_step),
                        total=clock.total,
                        loss=clock.loss,
                        tokens=int(state.num_input_tokens_seen) - clock.tokens_at_start,
                        elapsed_s=clock.elapsed(),
                    )
                )

    return Bounds()
