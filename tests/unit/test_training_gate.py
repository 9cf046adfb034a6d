"""The promotion gate's rules and the held-out scoring they read."""

from __future__ import annotations

import pytest

from training.evaluate import HeldOut, evaluate, held_out, score
from training.examples import Passage
from training.gate import GateRule, Metrics, judge
from training.material import grounded_examples, refusal_examples
from training.prompt import REFUSAL

SERVING = Metrics(citation_rate=0.05, key_accuracy=0.40, refusal_correct=0.80, questions=30)


def test_a_citation_gain_with_nothing_lost_is_promoted():
    verdict = judge(Metrics(0.85, 0.40, 0.80), SERVING)
    assert verdict.promote
    assert verdict.report()["candidate"]["citation_rate"] == 0.85


@pytest.mark.parametrize(
    ("candidate", "why"),
    [
        (Metrics(0.14, 0.40, 0.80), "citation rate gained +0.09"),
        (Metrics(0.90, 0.34, 0.80), "key-string accuracy lost 0.06"),
        (Metrics(0.90, 0.40, 0.74), "refusal correctness lost 0.06"),
    ],
)
def test_too_small_a_gain_or_too_large_a_loss_is_rejected(candidate, why):
    verdict = judge(candidate, SERVING)
    assert not verdict.promote
    assert any(r.startswith(why) for r in verdict.reasons)


def test_the_bounds_themselves_pass():
    # exactly +0.10 and exactly -0.05 are allowed, despite floating-point rounding
    assert judge(Metrics(0.15, 0.35, 0.75), SERVING).promote


def test_the_rule_is_a_setting():
    assert not judge(Metrics(0.85, 0.40, 0.80), SERVING, GateRule(min_citation_gain=0.9)).promote


ITEMS = [
    HeldOut((("user", "q1"),), passages=3, answerable=True, keys=("export-ignore",)),
    HeldOut((("user", "q2"),), passages=2, answerable=True, keys=("--update",)),
    HeldOut((("user", "q3"),), passages=3, answerable=False),
]


def test_scores_count_valid_citations_keys_and_refusals():
    metrics = score(
        ITEMS,
        [
            "Mark them export-ignore [2].",  # cites, holds the key
            "Use -u [3].",  # [3] names no given passage; key missing
            REFUSAL,  # the right refusal
        ],
    )
    assert metrics == Metrics(0.5, 0.5, 1.0, questions=3)


def test_a_model_that_refuses_everything_scores_low():
    metrics = evaluate(ITEMS, lambda messages: REFUSAL)
    assert metrics.citation_rate == 0 and metrics.key_accuracy == 0
    assert metrics.refusal_correct == pytest.approx(1 / 3)


def test_the_grounded_replies_themselves_score_full_marks():
    passages = [
        Passage("a.md", "Deploys", "", "A freeze is a window when only hotfixes ship."),
        Passage("b.md", "Expenses", "", "A receipt is the proof of a purchase you upload."),
    ]
    examples = grounded_examples(passages, per_prompt=2) + refusal_examples(passages, 2)
    items = held_out(examples)
    assert [i.passages for i in items] == [2] * len(items)
    assert score(items, [ex.completion for ex in examples]) == Metrics(
        1.0, 1.0, 1.0, questions=len(items)
    )
