"""Continuous batching: requests join and leave one shared batch between decode steps.

One engine thread owns the model. Each step runs one forward pass for every running
request (prompts that arrived since the last step are prefilled first and merged into
the batch's KV cache), then samples each row with its own parameters, grammar and
adapter. Callers submit a `Job` and receive its events through the job's `emit`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

from inference.host import ModelHost
from inference.sampling import SamplingParams, penalise_repeats, sample_row

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delta:
    text: str


@dataclass(frozen=True)
class Finished:
    reason: str  # "stop", "length" or "abort"
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Failed:
    message: str


Event = Delta | Finished | Failed


class EngineBusy(Exception):
    """The waiting queue is full."""


class Metrics(Protocol):
    def first_token(self, seconds: float) -> None: ...
    def next_token(self, seconds: float) -> None: ...
    def finished(self, job: Job) -> None: ...


@dataclass(eq=False)
class Job:
    prompt: list[int]
    params: SamplingParams
    emit: Callable[[Event], None]
    adapter: str | None = None
    grammar: Any = None  # a compiled grammar; the engine makes the job's matcher
    created: float = field(default_factory=time.monotonic)
    generated: list[int] = field(default_factory=list)
    completion_tokens: int = 0
    finish_reason: str | None = None
    first_token_at: float | None = None
    last_token_at: float | None = None
    _sent: int = 0
    _matcher: Any = None
    _rng: Any = None
    _cancelled: bool = False

    def cancel(self) -> None:
        """Stop generating for this job (its client went away); safe from any thread."""
        self._cancelled = True

    @property
    def done(self) -> bool:
        return self.finish_reason is not None


class Engine:
    def __init__(
        self,
        host: ModelHost,
        compiler: Any = None,
        max_batch: int = 8,
        max_waiting: int = 64,
        metrics: Metrics | None = None,
    ) -> None:
        self.host = host
        self.compiler = compiler
        self.max_batch = max_batch
        self.max_waiting = max_waiting
        self.metrics = metrics
        self._cv = threading.Condition()
        self._waiting: deque[Job] = deque()
        self._commands: list[tuple[Callable[[], Any], Future[Any]]] = []
        self._stopping = False
        self._rows: list[Job] = []
        self._cache: Any = None
        self._mask: Any = None
        self._last: list[int] = []
        self._retired: set[str] = set()  # adapters unloaded while rows still used them
        self._thread = threading.Thread(target=self._loop, name="engine", daemon=True)

    # -- the caller's side (any thread) ---------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cv:
            self._stopping = True
            self._cv.notify()
        self._thread.join(timeout=30)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def running(self) -> int:
        return len(self._rows)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def submit(self, job: Job) -> None:
        with self._cv:
            if len(self._waiting) >= self.max_waiting:
                raise EngineBusy(f"{len(self._waiting)} requests are already waiting")
            self._waiting.append(job)
            self._cv.notify()

    def call(self, fn: Callable[[], Any]) -> Future[Any]:
        """Run `fn` on the engine thread between steps (adapter loads and unloads)."""
        future: Future[Any] = Future()
        with self._cv:
            self._commands.append((fn, future))
            self._cv.notify()
        return future

    def retire_adapter(self, name: str) -> None:
        """Unload an adapter now, or once the rows that use it have finished."""
        if any(job.adapter == name for job in self._rows):
            self._retired.add(name)
        else:
            self.host.unload_adapter(name)

    # -- the engine thread ----------------------------------------------------------------
    def _loop(self) -> None:
        import torch

        while True:
            with self._cv:
                while not (self._stopping or self._waiting or self._commands or self._rows):
                    self._cv.wait()
                if self._stopping:
                    break
                commands, self._commands = self._commands, []
                room = self.max_batch - len(self._rows)
                admitted = [self._waiting.popleft() for _ in range(min(room, len(self._waiting)))]
            for fn, future in commands:
                try:
                    future.set_result(fn())
                except Exception as exc:  # handed to the caller
                    future.set_exception(exc)
            try:
                with torch.inference_mode():
                    admitted = [job for job in admitted if not self._dropped(job)]
                    if admitted:
                        self._prefill(admitted)
                    if self._rows:
                        self._decode()
            except Exception:
                log.exception("engine step failed; failing the batch")
                for job in self._rows + admitted:
                    if not job.done:
                        job.finish_reason = "error"
                        self._emit(job, Failed("generation failed on the server"))
                self._rows, self._cache, self._mask, self._last = [], None, None, []
            self._purge_adapters()
        for job in self._rows + list(self._waiting):
            self._emit(job, Failed("the server is shutting down"))

    def _dropped(self, job: Job) -> bool:
        if job._cancelled:
            self._finish(job, "abort")
        return job._cancelled

    def _prefill(self, jobs: list[Job]) -> None:
        import torch
        from transformers.cache_utils import DynamicCache

        width = max(len(job.prompt) for job in jobs)
        pad = self.host.pad_id
        ids = torch.tensor([[pad] * (width - len(j.prompt)) + j.prompt for j in jobs])
        mask = torch.tensor([[0] * (width - len(j.prompt)) + [1] * len(j.prompt) for j in jobs])
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache(config=self.host.config)
        for job in jobs:
            job._rng = torch.Generator(device="cpu")
            job._rng.manual_seed(job.params.seed if job.params.seed is not None else _entropy())
            if job.grammar is not None:
                job._matcher = self.compiler.matcher(job.grammar)
        logits = self.host.forward(ids, mask, positions, cache, [j.adapter for j in jobs])
        tokens = self._pick(jobs, logits)
        self._merge(jobs, cache, mask)
        for job, token in zip(jobs, tokens, strict=True):
            self._last.append(token)
            self._accept(job, token)
        self._drop_finished()

    def _decode(self) -> None:
        import torch

        self._mask = torch.cat([self._mask, torch.ones(len(self._rows), 1, dtype=torch.long)], 1)
        positions = self._mask.sum(-1, keepdim=True) - 1
        ids = torch.tensor(self._last)[:, None]
        adapters = [job.adapter for job in self._rows]
        logits = self.host.forward(ids, self._mask, positions, self._cache, adapters)
        tokens = self._pick(self._rows, logits)
        self._last = tokens
        for job, token in zip(self._rows, tokens, strict=True):
            if not job.done and not self._dropped(job):
                self._accept(job, token)
        self._drop_finished()

    def _pick(self, jobs: list[Job], logits: Any) -> list[int]:
        import torch

        # sampling, grammar masks and seeded generators all work on the CPU: (rows x vocab)
        # is small next to a forward pass, and per-request CPU generators stay reproducible
        logits = logits.float().cpu()
        constrained = [i for i, job in enumerate(jobs) if job._matcher is not None and not job.done]
        if constrained:
            bitmask = self.compiler.bitmask(len(jobs))
            for i in constrained:
                jobs[i]._matcher.fill_next_token_bitmask(bitmask, i)
            self.compiler.apply(logits, bitmask, constrained)
        tokens = []
        for i, job in enumerate(jobs):
            if job.params.repetition_penalty != 1.0:
                seen = torch.tensor(sorted(set(job.prompt) | set(job.generated)))
                penalise_repeats(logits, i, seen, job.params.repetition_penalty)
            tokens.append(sample_row(logits[i], job.params, job._rng))
        return tokens

    def _accept(self, job: Job, token: int) -> None:
        now = time.monotonic()
        if self.metrics is not None:
            if job.first_token_at is None:
                self.metrics.first_token(now - job.created)
            else:
                self.metrics.next_token(now - (job.last_token_at or now))
        if job.first_token_at is None:
            job.first_token_at = now
        job.last_token_at = now
        job.completion_tokens += 1
        if job._matcher is not None and not job._matcher.accept_token(token):
            log.warning("grammar rejected token %d; ending the request", token)
            self._finish(job, "stop")
            return
        if token in self.host.eos_ids or (
            job._matcher is not None and job._matcher.is_terminated()
        ):
            self._flush(job)
            self._finish(job, "stop")
            return
        job.generated.append(token)
        if self._emit_text(job):
            self._finish(job, "stop")
        elif job.completion_tokens >= job.params.max_tokens:
            self._flush(job)
            self._finish(job, "length")

    def _emit_text(self, job: Job) -> bool:
        """Send what is new and safe to send; True when a stop string ended the job."""
        text = self.host.decode(job.generated)
        if text.endswith("\ufffd"):  # half a multi-byte character: wait for the rest
            return False
        stops = job.params.stop
        if stops:
            start = max(0, job._sent - max(len(s) for s in stops))
            hits = [i for s in stops if s and (i := text.find(s, start)) >= 0]
            if hits:
                self._send(job, text[job._sent : min(hits)])
                return True
        safe = len(text) - _held_back(text, stops)
        if safe > job._sent:
            self._send(job, text[job._sent : safe])
        return False

    def _flush(self, job: Job) -> None:
        text = self.host.decode(job.generated)
        if len(text) > job._sent:
            self._send(job, text[job._sent :])

    def _send(self, job: Job, piece: str) -> None:
        if piece:
            job._sent += len(piece)
            self._emit(job, Delta(piece))

    def _finish(self, job: Job, reason: str) -> None:
        job.finish_reason = reason
        if self.metrics is not None:
            self.metrics.finished(job)
        self._emit(job, Finished(reason, len(job.prompt), job.completion_tokens))

    def _emit(self, job: Job, event: Event) -> None:
        try:
            job.emit(event)
        except Exception:  # a vanished caller must not stop the batch
            log.debug("could not deliver an event", exc_info=True)

    def _merge(self, jobs: list[Job], cache: Any, mask: Any) -> None:
        import torch
        from transformers.cache_utils import DynamicCache

        if self._cache is None:
            self._rows, self._cache, self._mask = list(jobs), cache, mask
            return
        width = max(self._mask.shape[1], mask.shape[1])

        def left(t: Any, dim: int) -> Any:
            pad = [0, 0] * (t.dim() - 1 - dim) + [width - t.shape[dim], 0]
            return torch.nn.functional.pad(t, pad)

        layers = [
            (
                torch.cat([left(old.keys, 2), left(new.keys, 2)]),
                torch.cat([left(old.values, 2), left(new.values, 2)]),
            )
            for old, new in zip(self._cache.layers, cache.layers, strict=True)
        ]
        self._cache = DynamicCache(layers, config=self.host.config)
        self._mask = torch.cat([left(self._mask, 1), left(mask, 1)])
        self._rows = self._rows + list(jobs)

    def _drop_finished(self) -> None:
        import torch

        keep = [i for i, job in enumerate(self._rows) if not job.done]
        if len(keep) == len(self._rows):
            return
        if not keep:
            self._rows, self._cache, self._mask, self._last = [], None, None, []
            return
        self._cache.batch_select_indices(torch.tensor(keep))
        self._mask = self._mask[keep]
        self._rows = [self._rows[i] for i in keep]
        self._last = [self._last[i] for i in keep]
        # columns that are padding in every remaining row can go
        first = int(self._mask.any(0).nonzero()[0])
        if first > 0:
            self._mask = self._mask[:, first:]
            for layer in self._cache.layers:
                layer.keys = layer.keys[:, :, first:]
                layer.values = layer.values[:, :, first:]

    def _purge_adapters(self) -> None:
        for name in list(self._retired):
            if not any(job.adapter == name for job in self._rows):
                self._retired.discard(name)
                self.host.unload_adapter(name)


def _held_back(text: str, stops: tuple[str, ...]) -> int:
    """How many trailing characters could be the start of a stop string."""
    longest = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:n]):
                longest = n
                break
    return longest


def _entropy() -> int:
    import secrets

    return secrets.randbits(63)
