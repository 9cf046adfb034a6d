"""Training sets: grounded in the material, in the service's prompt, safe to share."""

from __future__ import annotations

import json
import re

from bot.domain.answering import SYSTEM_PROMPT, Source, build_messages, cited_numbers, refusal
from training.dataset import BuildOptions, build_dataset, export_jsonl
from training.examples import FeedbackItem, Passage
from training.material import question_answers
from training.prompt import REFUSAL
from training.prompt import SYSTEM_PROMPT as TRAINING_PROMPT
from training.prompt import build_messages as training_messages
from training.scrub import Identities, scrubber_for

STASH = Passage(
    source="git-stash.html",
    title="git-stash(1)",
    section="OPTIONS",
    text=(
        "--include-untracked\n"
        "All untracked files are also stashed and then cleaned up with git clean.\n\n"
        "--keep-index\n"
        "All changes already added to the index are left intact."
    ),
)
BRANCH = Passage(
    source="git-branch.html",
    title="git-branch(1)",
    section="DESCRIPTION",
    text="A branch is a movable pointer to a commit. Use `git branch -d` to delete a merged one.",
)
SECRET = Passage(
    source="payroll.md",
    title="Payroll",
    section="Bonus pool",
    text="The executive bonus pool for this year is four point two million euros in total.",
    audiences=("finance",),
)
IDS = Identities(
    names=("Grace Hopper", "Linus Torvalds"),
    emails=("grace@corp.example",),
    user_ids=("U07GRACE01",),
)


def public_up(**changes) -> FeedbackItem:
    fields = dict(
        question="How do I stash untracked files? Ask Grace Hopper (grace@corp.example).",
        answer="Use --include-untracked [1]. Call Grace on +1 415-555-2671 or U07GRACE01.",
        rating="up",
        passages=(STASH,),
        asker_audiences=("everyone",),
        place_public=True,
        learner="U07GRACE01",
    )
    fields.update(changes)
    return FeedbackItem(**fields)


def number_of(passage: Passage, user: str) -> int:
    """The [n] the prompt gave `passage` (blocks are "[n] title › section\ntext")."""
    blocks = re.split(r"\n\n(?=\[\d+\] )", user.removeprefix("Passages:\n"))
    return next(int(b[1 : b.index("]")]) for b in blocks if passage.text in b)


def all_text(dataset) -> str:
    return "\n".join(json.dumps(ex.to_json(), ensure_ascii=False) for ex in dataset.examples)


def test_training_prompt_is_the_services_prompt():
    sources = [
        Source(n=i, source=p.source, title=p.title, section=p.section, text=p.text)
        for i, p in enumerate([STASH, BRANCH], start=1)
    ]
    assert TRAINING_PROMPT == SYSTEM_PROMPT
    assert training_messages("Why?", [STASH, BRANCH]) == build_messages("Why?", sources)
    assert REFUSAL == refusal(()).text


def test_grounded_answers_are_the_passages_own_sentences_citing_its_number():
    dataset = build_dataset([STASH, BRANCH], options=BuildOptions(per_prompt=2, refusal_share=0))
    grounded = [ex for ex in dataset.examples if ex.origin == "material"]
    assert {ex.source for ex in grounded} == {"git-stash.html", "git-branch.html"}
    for ex in grounded:
        passage = STASH if ex.source == STASH.source else BRANCH
        n = number_of(passage, ex.prompt[-1][1])
        assert cited_numbers(ex.completion) == [n]
        words = ex.completion.replace(f" [{n}]", "")
        assert all(part.strip(". ") in passage.text for part in words.split(". ") if part)


def test_questions_come_from_terms_definitions_and_headings():
    questions = [q for q, _ in question_answers(STASH)] + [q for q, _ in question_answers(BRANCH)]
    assert "What does the --include-untracked option do in git-stash(1)?" in questions
    assert "What is a branch?" in questions
    assert "What does the material say about git branch -d?" in questions
    assert not any("All untracked" in q for q in questions)  # not a definition


def test_out_of_material_questions_get_the_refusal():
    dataset = build_dataset([STASH, BRANCH], options=BuildOptions(refusal_share=1.0))
    refusals = [ex for ex in dataset.examples if ex.origin == "refusal"]
    assert refusals
    assert all(ex.completion == REFUSAL for ex in refusals)
    assert all("Passages:\n[1]" in ex.prompt[-1][1] for ex in refusals)


def test_a_restricted_passage_never_appears_in_any_dataset(tmp_path):
    leaked = public_up(answer=f"{SECRET.text} [1]")  # a thumbs-up that quotes finance material
    quoted = public_up(
        rating="correction",
        correction="Note: the executive bonus pool for this year is four point two million "
        "euros in total [2]. Ask finance.",
    )
    via_dm = public_up(place_public=False, passages=(SECRET,), answer="x")
    dataset = build_dataset(
        [STASH, SECRET, BRANCH],
        feedback=[
            leaked,
            quoted,
            via_dm,
            public_up(passages=(SECRET,), answer="Four point two [1]."),
        ],
        options=BuildOptions(refusal_share=1.0),
    )
    text = all_text(dataset)
    assert dataset.examples
    assert "bonus pool" not in text.lower() and "four point two" not in text.lower()
    assert "bonus pool" not in export_jsonl(dataset, tmp_path).read_text().lower()


def test_restricted_material_is_used_only_when_its_audience_is_allowed():
    dataset = build_dataset(
        [SECRET, STASH], options=BuildOptions(allowed_audiences=("everyone", "finance"))
    )
    assert "bonus pool" in all_text(dataset)


def test_feedback_becomes_examples_with_identities_scrubbed():
    correction = public_up(rating="correction", correction="Run git stash -u, says Linus Torvalds.")
    dataset = build_dataset([STASH, BRANCH], feedback=[public_up(), correction], identities=IDS)
    text = all_text(dataset)
    assert dataset.counts()["thumbs_up"] == 1 and dataset.counts()["correction"] == 1
    for identity in ("Grace", "grace@corp.example", "U07GRACE01", "415-555-2671", "Linus"):
        assert identity not in text
    assert "[email]" in text and "[phone]" in text and "[name]" in text


def test_a_name_the_material_mentions_is_kept():
    scrub = scrubber_for(IDS, ["Git was started by Linus Torvalds in 2005."])
    assert scrub("Linus Torvalds and Grace Hopper") == "Linus Torvalds and [name]"
    assert scrub("mail ops@x.example or +44 20 7946 0958") == "mail [email] or [phone]"


def test_feedback_recorded_before_audiences_were_kept_is_not_used():
    old = public_up(asker_audiences=())
    down = public_up(rating="down")
    dataset = build_dataset([STASH], feedback=[old, down])
    assert "thumbs_up" not in dataset.counts()


def test_version_is_a_content_hash_and_export_is_jsonl(tmp_path):
    first = build_dataset([STASH, BRANCH])
    again = build_dataset([STASH, BRANCH])
    other = build_dataset([STASH])
    assert first.version == again.version != other.version
    path = export_jsonl(first, tmp_path)
    assert path.name == f"dataset-{first.version}.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == len(first.examples)
    assert rows[0]["prompt"][0]["role"] == "system"
    assert rows[0]["completion"][0]["role"] == "assistant"
