"""Training settings (LEARNLOOP_TRAIN_*, LEARNLOOP_GATE_*), turned into plain plans once."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from training.cycle import CyclePlan
from training.dataset import BuildOptions
from training.gate import GateRule
from training.train import TrainConfig


class TrainingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEARNLOOP_", extra="ignore")

    train_device: Literal["auto", "cpu", "cuda"] = "auto"
    train_max_steps: int = 300
    train_max_seconds: float = 3 * 3600.0
    train_batch_size: int = 4
    train_learning_rate: float = 2e-4
    train_lora_rank: int = 16
    train_max_length: int = 1024
    train_min_examples: int = 20
    train_heldout_share: float = 0.2
    train_audiences: str = "everyone"  # material (and answers) an adapter may learn from
    train_auto_promote: bool = True
    train_period_seconds: int = 24 * 3600  # for the beat job: how often to look
    train_new_examples: int = 50  # for the beat job: new feedback examples that start a run
    gate_min_citation_gain: float = 0.10
    gate_max_key_loss: float = 0.05
    gate_max_refusal_loss: float = 0.05
    train_heldout_limit: int = 200  # held-out questions the gate asks (two replies each)
    train_gate_max_tokens: int = 160  # the longest reply the gate waits for
    # every inference server that must serve the active adapter (comma-separated URLs);
    # empty: LEARNLOOP_INFERENCE_URL, or the embedded server's
    adapter_servers: str = ""
    adapter_reconcile_seconds: float = 60.0  # the beat's reconcile pass
    # every adapter's files (the registry of them is in the database): a volume every
    # inference server can read (/adapters in deploy/); empty: <data dir>/training/adapters
    adapter_dir: str = ""

    def allowed_audiences(self) -> tuple[str, ...]:
        groups = tuple(a.strip() for a in self.train_audiences.split(",") if a.strip())
        return groups or ("everyone",)


def adapter_server_urls(
    settings: TrainingSettings, inference_url: str, inference_port: int
) -> tuple[str, ...]:
    """Every server that must serve the active adapter: LEARNLOOP_ADAPTER_SERVERS, else the
    one inference server (LEARNLOOP_INFERENCE_URL, or the embedded server's port)."""
    listed = tuple(u.strip() for u in settings.adapter_servers.split(",") if u.strip())
    return listed or (inference_url or f"http://127.0.0.1:{inference_port}/v1",)


def registry_root(settings: TrainingSettings, data_dir: Path) -> Path:
    if settings.adapter_dir:
        return Path(settings.adapter_dir)
    return data_dir / "training" / "adapters"


def cycle_plan(
    settings: TrainingSettings, base_model: Path, served_base: str, data_dir: Path, run: str
) -> CyclePlan:
    """Plain values for one cycle: runs under <data dir>/training/runs/<run>."""
    return CyclePlan(
        train=TrainConfig(
            base_model=base_model,
            run_dir=data_dir / "training" / "runs" / run,
            max_steps=settings.train_max_steps,
            max_seconds=settings.train_max_seconds,
            learning_rate=settings.train_learning_rate,
            rank=settings.train_lora_rank,
            alpha=2 * settings.train_lora_rank,
            batch_size=settings.train_batch_size,
            max_length=settings.train_max_length,
            device=settings.train_device,
        ),
        served_base=served_base,
        export_dir=data_dir / "training" / "datasets",
        options=BuildOptions(allowed_audiences=settings.allowed_audiences()),
        rule=GateRule(
            settings.gate_min_citation_gain,
            settings.gate_max_key_loss,
            settings.gate_max_refusal_loss,
        ),
        heldout_share=settings.train_heldout_share,
        min_examples=settings.train_min_examples,
        heldout_limit=settings.train_heldout_limit,
        promote=settings.train_auto_promote,
    )
