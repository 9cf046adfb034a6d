"""One learning cycle: dataset -> LoRA adapter -> gate on held-out questions -> registry."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from training.dataset import DEFAULTS, NOBODY, BuildOptions, build_dataset, export_jsonl, split
from training.evaluate import HeldOut, evaluate, held_out
from training.examples import Example, FeedbackItem, Passage
from training.gate import DEFAULT_RULE, GateRule, Metrics, Verdict, judge
from training.prompt import PROMPT_VERSION
from training.registry import AdapterRecord, AdapterRegistry
from training.scrub import Identities
from training.train import Progress, TrainConfig, TrainResult, train_adapter

log = logging.getLogger(__name__)

Complete = Callable[[list[dict[str, str]], str], str]  # (messages, model name) -> reply
Trainer = Callable[[Sequence[Example], TrainConfig, Callable[[Progress], None] | None], TrainResult]


@dataclass(frozen=True)
class CyclePlan:
    train: TrainConfig
    served_base: str  # the model id the servers serve: adapters are trained on it
    export_dir: Path
    options: BuildOptions = DEFAULTS
    rule: GateRule = DEFAULT_RULE
    heldout_share: float = 0.2
    min_examples: int = 20
    heldout_limit: int = 200  # bounds the gate's time: two replies per held-out item
    promote: bool = True  # False: register and score only; an admin promotes


@dataclass(frozen=True)
class CycleResult:
    dataset_version: str
    dataset_file: Path
    examples: int
    skipped: str = ""  # why nothing was trained, if so
    adapter: AdapterRecord | None = None
    verdict: Verdict | None = None
    training: TrainResult | None = None


def run_cycle(
    plan: CyclePlan,
    passages: Sequence[Passage],
    feedback: Sequence[FeedbackItem],
    *,
    registry: AdapterRegistry,
    load_candidate: Callable[[AdapterRecord], None],
    complete: Complete,
    identities: Identities = NOBODY,
    on_progress: Callable[[Progress], None] | None = None,
    trainer: Trainer = train_adapter,
) -> CycleResult:
    """Train a candidate, score it and the serving model alike, store the verdict, maybe promote.

    `load_candidate` makes the new adapter askable by name on the server `complete` talks to.
    """
    dataset = build_dataset(passages, feedback, identities, plan.options)
    path = export_jsonl(dataset, plan.export_dir)
    train, heldout = split(dataset.examples, plan.heldout_share)
    base = CycleResult(dataset.version, path, len(dataset.examples))
    if len(train) < plan.min_examples or not heldout:
        why = (
            f"{len(train)} training and {len(heldout)} held-out examples; need {plan.min_examples}"
        )
        return replace(base, skipped=why)
    result = trainer(train, plan.train, on_progress)
    record = registry.register(result.adapter, plan.served_base, PROMPT_VERSION, dataset.version)
    load_candidate(record)
    serving = registry.active()
    step = max(1, -(-len(heldout) // plan.heldout_limit))  # every k-th: refusals stay in
    items = held_out(heldout[::step])
    verdict = judge(
        _score(items, complete, record.name),
        _score(items, complete, serving.name if serving else plan.served_base),
        plan.rule,
    )
    record = registry.set_report(record.name, verdict.candidate.as_dict(), verdict.report())
    if verdict.promote and plan.promote:
        record = registry.promote(record.name)
    log.info("cycle %s: %s promote=%s", dataset.version, record.name, verdict.promote)
    return replace(base, adapter=record, verdict=verdict, training=result)


def _score(items: Sequence[HeldOut], complete: Complete, model: str) -> Metrics:
    return evaluate(items, lambda messages: complete(messages, model))
