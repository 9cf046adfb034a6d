"""An admin's "model status": which adapter answers, how it scored, what the loop did last."""

from __future__ import annotations

from collections.abc import Callable

from training.registry import AdapterRecord, AdapterRegistry


def model_status(registry: AdapterRegistry, base: str) -> Callable[[], str]:
    """The status text, read from the adapter registry each time it is asked."""
    return lambda: status_text(registry.records(), base)


def status_text(records: list[AdapterRecord], base: str) -> str:
    active = next((r for r in records if r.status == "active"), None)
    lines = [
        f"Answering with {active.name} on {base}{_scores(active)}."
        if active
        else f"Answering with the base model {base}: no trained adapter is active."
    ]
    latest = max(records, key=lambda r: r.version, default=None)
    if latest is not None and latest is not active:
        reasons = "; ".join(latest.report.get("reasons", [])) or "not scored yet"
        lines.append(f"Latest candidate: {latest.name} ({latest.status}): {reasons}.")
    if not records:
        lines.append("Nothing trained yet: `learnloop train` queues a run.")
    return "\n".join(lines)


def _scores(record: AdapterRecord) -> str:
    m = record.metrics
    if "citation_rate" not in m:
        return ""
    return (
        f" (held-out citation rate {m['citation_rate']:.2f}, key accuracy "
        f"{m.get('key_accuracy', 0):.2f}, refusals {m.get('refusal_correct', 0):.2f} "
        f"on {m.get('questions', 0)} questions)"
    )
