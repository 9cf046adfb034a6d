"""Running one training job: claim its lease, run a learning cycle (dataset, LoRA
training, the gate, the registry) with progress in the job row, put the active adapter on
every inference server, record the result. A job run again after its worker died resumes
its training from the last checkpoint (its run folder is named after the job)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai

from bot.adapters.store.jobs import JobRepository
from bot.adapters.store.models import utcnow
from bot.adapters.store.training import TrainingRecords
from bot.domain.jobs import Job, JobStatus
from bot.services.training import TRAIN_KIND, feedback_items
from training.corpus import catalog_passages
from training.cycle import CycleResult, run_cycle
from training.registry import AdapterRecord, AdapterRegistry
from training.scrub import Identities
from training.serving import HttpAdapterServer, Reconciled, reconcile_urls
from training.settings import TrainingSettings, adapter_server_urls, cycle_plan
from training.train import Progress
from worker.ingest import LeaseKeeper, LeaseLost

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoint:
    """The inference server the gate asks, and every server that must serve the adapter."""

    url: str  # OpenAI-compatible base URL (…/v1)
    served_base: str  # the model id it serves: adapters are trained on it
    base_model: Path  # that model's Hugging Face folder, which training loads
    api_key: str = ""
    servers: tuple[str, ...] = ()

    def all_servers(self) -> tuple[str, ...]:
        return self.servers or (self.url,)


def endpoint_from(settings: TrainingSettings, data_dir: Path) -> Endpoint:
    """From LEARNLOOP_INFERENCE_*, LEARNLOOP_GENERATION_MODEL and LEARNLOOP_ADAPTER_SERVERS."""
    from inference.models import generation_model_path, served_base
    from inference.settings import InferenceSettings

    inf = InferenceSettings()
    urls = adapter_server_urls(settings, inf.inference_url, inf.inference_port)
    return Endpoint(
        url=inf.inference_url or urls[0],
        served_base=served_base(inf.generation_model, inf.inference_url, inf.inference_model),
        base_model=generation_model_path(inf.generation_model, data_dir),
        api_key=inf.inference_api_key.get_secret_value(),
        servers=urls,
    )


def run_training(
    jobs: JobRepository,
    records: TrainingRecords,
    registry: AdapterRegistry,
    store: Any,  # retrieval.store.ChunkStore: the indexed material
    endpoint: Endpoint,
    settings: TrainingSettings,
    data_dir: Path,
    job_id: str,
    worker: str,
    lease_seconds: float,
) -> Job | None:
    """Run the job if we can claim it; None when it is done or held by a live worker."""
    job = jobs.claim(job_id, worker, lease_seconds)
    if job is None:
        log.info("job=%s not claimed (finished, or another worker holds it)", job_id)
        return None
    if (other := _live_training(jobs, job_id)) is not None:
        # one training job at a time, whatever queued a second one
        jobs.finish(job_id, worker, JobStatus.DONE, {"skipped": f"job {other} is training"})
        return jobs.get(job_id)
    log.info("training job=%s claimed by %s attempt=%d", job_id, worker, job.attempts)
    plan = cycle_plan(settings, endpoint.base_model, endpoint.served_base, data_dir, job_id)
    chat = openai.OpenAI(base_url=endpoint.url, api_key=endpoint.api_key or "not-needed")

    def complete(messages: list[dict[str, str]], model: str) -> str:
        out = chat.chat.completions.create(
            model=model,
            messages=messages,  # type: ignore[arg-type]
            max_tokens=settings.train_gate_max_tokens,
            temperature=0,
        )
        return out.choices[0].message.content or "" if out.choices else ""

    def load_candidate(record: AdapterRecord) -> None:
        asyncio.run(_load(endpoint, record))

    def progress(p: Progress) -> None:
        state = {"step": p.step, "steps": p.total, "loss": p.loss, "tokens": p.tokens}
        if not jobs.progress(job_id, worker, p.step, {"training": state}, lease_seconds):
            raise LeaseLost(job_id)

    names, emails, ids = records.identities()
    with LeaseKeeper(jobs, job_id, worker, lease_seconds) as keeper:
        result = run_cycle(
            plan,
            catalog_passages(store),
            feedback_items(records.rated()),
            registry=registry,
            load_candidate=load_candidate,
            complete=complete,
            identities=Identities(tuple(names), tuple(emails), tuple(ids)),
            on_progress=progress,
        )
        keeper.check()
        served = reconcile_all(endpoint, registry.active())
    chat.close()
    if not jobs.finish(job_id, worker, JobStatus.DONE, summary(result, served)):
        raise LeaseLost(job_id)
    return jobs.get(job_id)


def _live_training(jobs: JobRepository, job_id: str) -> str | None:
    """Another training job whose worker holds a live lease."""
    now = utcnow()
    for job in jobs.recent(kind=TRAIN_KIND, statuses=[JobStatus.RUNNING]):
        if job.id != job_id and job.lease_expires is not None and job.lease_expires > now:
            return job.id
    return None


def reconcile_all(endpoint: Endpoint, active: AdapterRecord | None) -> list[Reconciled]:
    """The active adapter (or none) on every inference server; failures are reported."""
    return reconcile_urls(endpoint.all_servers(), active, endpoint.api_key)


async def _load(endpoint: Endpoint, record: AdapterRecord) -> None:
    """The candidate on the server the gate asks (it is not served to anyone by name)."""
    async with httpx.AsyncClient() as http:
        server = HttpAdapterServer(endpoint.url, http, endpoint.api_key)
        if record.name not in await server.loaded():
            await server.load(record.name, record.path)


def summary(result: CycleResult, served: list[Reconciled]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "dataset": result.dataset_version,
        "dataset_file": str(result.dataset_file),
        "examples": result.examples,
        "servers": [{"url": s.url, "loaded": list(s.loaded), "error": s.error} for s in served],
    }
    if result.skipped:
        out["skipped"] = result.skipped
    if result.adapter is not None:
        out["adapter"] = result.adapter.name
        out["status"] = result.adapter.status
    if result.verdict is not None:
        out["verdict"] = result.verdict.report()
    if result.training is not None:
        t = result.training
        out["training"] = {
            "steps": t.steps,
            "tokens": t.tokens,
            "seconds": round(t.seconds, 1),
            "stopped_by": t.stopped_by,
            "resumed_from": t.resumed_from,
            "device": t.device,
        }
    return out
