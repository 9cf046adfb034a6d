"""What makes a quiz item fair, and the cloze generator that always yields fair items."""

from __future__ import annotations

import asyncio

from bot.domain.quiz import Passage, QuizItem, cloze_items, problems, rating_for, vocabulary_of
from bot.services.quiz_writing import generate

PASSAGE = Passage(
    "Use git-stash to set aside local changes. The --keep-index option leaves staged "
    "changes in place. Run git-clean to remove untracked files from the working tree.",
    "git.md",
    "Git › Cleaning up",
)
OTHERS = [
    Passage("Run git-commit to record changes, or git-reset to undo them.", "b.md", "B"),
    Passage(
        "git-rebase and git-merge join histories; --no-ff and --squash change how.", "c.md", "C"
    ),
    Passage("Use git-bisect to find a bug; --first-parent follows merges.", "d.md", "D"),
]


def item(options, correct=0, question="Which command removes untracked files?") -> QuizItem:
    return QuizItem(question, tuple(options), correct, "Because.", PASSAGE, origin="model")


def test_a_fair_item_has_no_problems():
    assert problems(item(["git-clean", "git-commit", "git-rebase", "git-bisect"])) == []


def test_unfair_items_are_named_for_what_is_wrong():
    assert "options repeat" in problems(item(["git-clean", "git-clean", "git-rebase", "x y"]))
    assert "an empty option" in problems(item(["git-clean", "", "git-rebase", "git-merge"]))
    assert "3 options, not 4" in problems(item(["git-clean", "git-rebase", "git-merge"]))
    unsupported = problems(item(["git-rebase", "git-clean", "git-commit", "git-bisect"]))
    assert "the passage does not support the correct option" in unsupported
    assert "the passage also supports option 2" in unsupported
    giveaway = item(
        ["git-clean", "git-commit", "git-rebase", "git-bisect"],
        question="Does git-clean remove untracked files?",
    )
    assert "the question gives the answer away" in problems(giveaway)
    assert problems(item(["a", "b", "c", "d"], correct=7)) == ["the correct index is out of range"]


def test_cloze_items_blank_a_key_term_with_look_alike_distractors():
    vocabulary = vocabulary_of([PASSAGE, *OTHERS])
    items = cloze_items(PASSAGE, vocabulary, limit=3)
    assert items and all(problems(i) == [] for i in items)
    first = items[0]
    answer = first.options[first.correct]
    assert "_____" in first.question and answer not in first.question
    assert answer in PASSAGE.text
    others = [o for i, o in enumerate(first.options) if i != first.correct]
    assert all(o not in PASSAGE.text for o in others)
    assert all(o.startswith("git-") for o in others) == answer.startswith("git-")
    assert cloze_items(PASSAGE, vocabulary, limit=3) == items  # deterministic


def test_no_item_when_the_material_has_too_few_look_alikes():
    assert cloze_items(PASSAGE, vocabulary_of([PASSAGE])) == []


class ScriptedWriter:
    def __init__(self, items):
        self.items = list(items)

    async def write(self, passage):
        return self.items.pop(0) if self.items else None


def test_model_items_are_kept_when_fair_else_replaced_by_cloze():
    fair = item(["git-clean", "git-commit", "git-rebase", "git-bisect"])
    unfair = item(["git-rebase", "git-clean", "git-commit", "git-bisect"])
    passages = [PASSAGE, PASSAGE, PASSAGE]
    items, report = asyncio.run(
        generate(
            passages, 3, ScriptedWriter([fair, unfair, None]), vocabulary_of([PASSAGE, *OTHERS])
        )
    )
    assert [i.origin for i in items] == ["model", "cloze", "cloze"]
    assert (report.model_tried, report.model_kept, report.cloze_kept) == (3, 1, 2)
    assert report.reasons["the passage does not support the correct option"] == 1
    assert report.reasons["no valid JSON item"] == 1


def test_ratings_follow_correctness_and_time():
    assert rating_for(False, 3) == "again"
    assert rating_for(True, 3) == "easy"
    assert rating_for(True, 20) == "good"
    assert rating_for(True, 90) == "hard"


# -- items that must not pass: the three an independent check found, and some of our own -----
GIVEAWAYS = [
    # the section label holds the missing word, in another form
    QuizItem(
        "Fill in the blank (Rebasing › Interactive): Use git _____ -i to reorder commits.",
        ("rebase", "commit", "revert", "bisect"),
        0,
        "The material says so.",
        Passage("Use git rebase -i to reorder commits.", "r.md", "Rebasing › Interactive"),
    ),
    # the sentence repeats the missing word later
    QuizItem(
        "Fill in the blank (Worktree): Run git _____ add to check out a branch in new worktrees.",
        ("worktree", "checkout", "stash", "switch"),
        0,
        "The material says so.",
        Passage("Run git worktree add to check out a branch in new worktrees.", "w.md", "W"),
    ),
]
NONSENSE = [
    # a model-written item with options like "on" and a long nonsense hyphen chain
    QuizItem(
        "Which setting keeps the branch after a merge?",
        ("on", "keep-merge-branch-after-ff-no-squash-rebase-pull-fetch", "off", "in"),
        1,
        "Because.",
        Passage("The keep-merge-branch-after-ff-no-squash-rebase-pull-fetch is on.", "n.md", "N"),
        origin="model",
    ),
    # options of different kinds: the odd one out is the answer
    QuizItem(
        "How many days do you have to file a receipt?",
        ("45", "the finance desk", "Zephyr", "a receipt form"),
        0,
        "The material says 45 days.",
        Passage("File receipts within 45 days at the finance desk.", "e.md", "E"),
        origin="model",
    ),
    # phrases of very different lengths: the long one is the answer
    QuizItem(
        "What should you do before a deploy?",
        (
            "run the deploy with a dry run to preview every change",
            "sleep late",
            "eat lunch",
            "go home",
        ),
        0,
        "The material says so.",
        Passage(
            "Before a deploy, run the deploy with a dry run to preview every change.", "d", "D"
        ),
        origin="model",
    ),
    # the correct option is a stop word
    QuizItem(
        "Fill in the blank: Tags are pushed _____ request.",
        ("on", "at", "by", "to"),
        0,
        "The material says so.",
        Passage("Tags are pushed on request.", "t.md", "T"),
    ),
]


def test_items_that_give_the_answer_away_by_a_word_or_stem_are_rejected():
    for bad in GIVEAWAYS:
        assert any("gives the answer away" in p for p in problems(bad)), bad.question


def test_nonsense_and_odd_one_out_options_are_rejected():
    reasons = [problems(bad) for bad in NONSENSE]
    assert all(reasons), reasons
    assert "an option is nonsense" in reasons[0]
    assert "an option is not a content phrase" in reasons[0]
    assert "options are not of one kind" in reasons[1]
    assert "options differ too much in length" in reasons[2]
    assert "an option is not a content phrase" in reasons[3]


def test_fair_items_of_each_kind_still_pass():
    numbers = QuizItem(
        "Within how many days must receipts be filed?",
        ("45", "30", "60", "90"),
        0,
        "The material says 45 days.",
        Passage("File receipts within 45 days.", "e.md", "E"),
        origin="model",
    )
    phrases = QuizItem(
        "What does the dry run do?",
        ("previews every change", "deletes old images", "restarts every host", "tags a release"),
        0,
        "The material says so.",
        Passage("A dry run previews every change before it is made.", "d.md", "D"),
        origin="model",
    )
    assert problems(numbers) == [] and problems(phrases) == []
