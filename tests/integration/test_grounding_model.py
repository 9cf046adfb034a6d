"""The grounding rules with the real MiniLM embedder and the calibrated thresholds."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.domain.grounding import RememberingEmbedder, check_answer, pick_quotes

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Passage:
    source: str
    section: str
    text: str


WORKFLOW = Passage(
    "git-workflow.md",
    "Undoing things",
    "If a change has already been merged into `main`, do not rewrite history. Open a new "
    "merge request that reverts it with `git revert <commit>`.\n\nTo undo your last local "
    "commit but keep its changes in your working tree, use\n`git reset --soft HEAD~1`.",
)
EXPENSES = Passage(
    "expense-policy.md",
    "Filing a claim",
    "Submit every claim in the Expense Portal within 30 days of the purchase. Claims filed "
    "later than that are only paid with written approval from your department head.\n\n"
    "Attach a receipt for every item over 25 EUR.",
)
PASSAGES = (WORKFLOW, EXPENSES)


def verdicts(embedder, text):
    return check_answer(text, PASSAGES, embedder)


def test_crafted_answer_keeps_the_backed_sentences_and_drops_the_changed_ones(embedder):
    answer = (
        "Claims must be submitted in the Expense Portal within 30 days of the purchase. "
        "Claims must be submitted in the Expense Portal within 60 days of the purchase. "
        "You do not need a receipt for items over 25 EUR. "
        "To undo your last local commit and keep its changes, use git reset --hard HEAD~1. "
        "To undo your last local commit and keep its changes, use git reset --soft HEAD~1 [1]."
    )
    found = verdicts(embedder, answer)
    assert [v.supported for v in found] == [True, False, False, False, True]
    assert [v.reason for v in found[1:4]] == ["number", "negation", "name"]
    assert found[0].passage == 1 and found[4].passage == 0  # [1] kept: passage 0 backs it


def test_quotes_answer_the_question_verbatim(embedder):
    quotes = pick_quotes("how do I undo something already merged to main?", PASSAGES, embedder)
    assert quotes[0].source == "git-workflow.md"
    assert any("git revert <commit>" in q.text for q in quotes)
    # the two sentences that answer it follow each other: one quote, in the page's order
    assert any(q.text.startswith("If a change has already been merged") for q in quotes)
    squeeze = " ".join  # line breaks inside a paragraph are not part of a quote
    for q in quotes:
        page = next(p for p in PASSAGES if p.source == q.source)
        assert squeeze(q.text.split()) in squeeze(page.text.split())


def test_remembering_gives_the_same_verdicts(embedder):
    answer = "Attach a receipt for every item over 25 EUR. Receipts are optional."
    plain = verdicts(embedder, answer)
    remembering = RememberingEmbedder(embedder, size=4)
    assert verdicts(remembering, answer) == plain == verdicts(remembering, answer)
