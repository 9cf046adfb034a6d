"""Prometheus metrics under vLLM's names, so one dashboard serves vLLM and the embedded server."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from inference.engine import Job

# vLLM's buckets for these histograms
TTFT_BUCKETS = (
    0.001,
    0.005,
    0.01,
    0.02,
    0.04,
    0.06,
    0.08,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
    20.0,
    40.0,
    80.0,
    160.0,
    640.0,
    2560.0,
)
ITL_BUCKETS = (
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.4,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
    20.0,
    40.0,
    80.0,
)


class ServerMetrics:
    def __init__(self, model_name: str) -> None:
        self.registry = CollectorRegistry()
        self.model = model_name
        labels = ["model_name"]
        r = self.registry
        self.prompt_tokens = Counter(
            "vllm:prompt_tokens", "Prompt tokens processed.", labels, registry=r
        )
        self.generation_tokens = Counter(
            "vllm:generation_tokens", "Generation tokens produced.", labels, registry=r
        )
        self.requests = Counter(
            "vllm:request_success",
            "Finished requests by finish reason.",
            [*labels, "finished_reason"],
            registry=r,
        )
        self.ttft = Histogram(
            "vllm:time_to_first_token_seconds",
            "Time to first token.",
            labels,
            buckets=TTFT_BUCKETS,
            registry=r,
        )
        self.itl = Histogram(
            "vllm:inter_token_latency_seconds",
            "Time between consecutive output tokens.",
            labels,
            buckets=ITL_BUCKETS,
            registry=r,
        )
        self.e2e = Histogram(
            "vllm:e2e_request_latency_seconds",
            "Time from arrival to the last token.",
            labels,
            buckets=TTFT_BUCKETS,
            registry=r,
        )
        self.running = Gauge(
            "vllm:num_requests_running", "Requests in the batch.", labels, registry=r
        )
        self.waiting = Gauge("vllm:num_requests_waiting", "Requests queued.", labels, registry=r)

    def track(self, running: Callable[[], int], waiting: Callable[[], int]) -> None:
        self.running.labels(self.model).set_function(running)
        self.waiting.labels(self.model).set_function(waiting)

    def first_token(self, seconds: float) -> None:
        self.ttft.labels(self.model).observe(seconds)

    def next_token(self, seconds: float) -> None:
        self.itl.labels(self.model).observe(seconds)

    def finished(self, job: Job) -> None:
        self.prompt_tokens.labels(self.model).inc(len(job.prompt))
        self.generation_tokens.labels(self.model).inc(job.completion_tokens)
        self.requests.labels(self.model, job.finish_reason or "unknown").inc()
        if job.last_token_at is not None:
            self.e2e.labels(self.model).observe(job.last_token_at - job.created)

    def render(self) -> bytes:
        return generate_latest(self.registry)
