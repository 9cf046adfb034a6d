"""The promotion gate: a candidate adapter against the serving model on held-out questions."""

from __future__ import annotations

from dataclasses import asdict, dataclass

_EPS = 1e-9  # 0.3 - 0.2 is 0.09999999999999998 in floating point


@dataclass(frozen=True)
class Metrics:
    """The raw model's scores (no citation repair, no retrieval refusal) on held-out items."""

    citation_rate: float  # answerable items whose reply cites a given passage
    key_accuracy: float  # answerable items whose reply holds every key string
    refusal_correct: float  # items refused exactly when the material does not answer them
    questions: int = 0

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True)
class GateRule:
    min_citation_gain: float = 0.10
    max_key_loss: float = 0.05
    max_refusal_loss: float = 0.05


@dataclass(frozen=True)
class Verdict:
    promote: bool
    reasons: tuple[str, ...]  # why not, or why yes: one sentence each
    candidate: Metrics
    serving: Metrics

    def report(self) -> dict[str, object]:
        return {
            "promote": self.promote,
            "reasons": list(self.reasons),
            "candidate": self.candidate.as_dict(),
            "serving": self.serving.as_dict(),
        }


DEFAULT_RULE = GateRule()


def judge(candidate: Metrics, serving: Metrics, rule: GateRule = DEFAULT_RULE) -> Verdict:
    """Promote only on a real citation gain with no more than the allowed losses elsewhere."""
    gain = candidate.citation_rate - serving.citation_rate
    key_loss = serving.key_accuracy - candidate.key_accuracy
    refusal_loss = serving.refusal_correct - candidate.refusal_correct
    problems = []
    if gain + _EPS < rule.min_citation_gain:
        problems.append(f"citation rate gained {gain:+.2f}, needs +{rule.min_citation_gain:.2f}")
    if key_loss - _EPS > rule.max_key_loss:
        problems.append(f"key-string accuracy lost {key_loss:.2f}, allowed {rule.max_key_loss:.2f}")
    if refusal_loss - _EPS > rule.max_refusal_loss:
        problems.append(
            f"refusal correctness lost {refusal_loss:.2f}, allowed {rule.max_refusal_loss:.2f}"
        )
    if problems:
        return Verdict(False, tuple(problems), candidate, serving)
    reason = f"citation rate {serving.citation_rate:.2f} -> {candidate.citation_rate:.2f}"
    return Verdict(True, (reason,), candidate, serving)
