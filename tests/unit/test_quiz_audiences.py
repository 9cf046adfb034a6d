"""Restricted material never reaches a learner outside its audience through quizzes: items
are built only from material their whole audience may see, and every item is checked against
the current catalog and the viewer's groups each time it is shown."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.adapters.store.access import AccessRepository
from bot.adapters.store.models import QuizItemRow
from bot.adapters.store.quiz import QuizRepository
from bot.domain.conversation import Actor
from bot.domain.errors import NoMaterial, StaleQuestion
from bot.domain.quiz import (
    Live,
    Origin,
    Passage,
    QuizItem,
    cloze_items,
    covers,
    provenance,
    servable,
    vocabulary_of,
)
from bot.services.learning import LearningService
from tests.fakes import FakeMaterial
from tests.unit.test_learning import Clock

# The closest look-alikes of the public passage's option are hr's: a distractor pool drawn
# from everything an hr learner sees picks exactly those.
PUBLIC = Passage(
    "Run the deploy with --dry-run first to preview every change it would make.",
    "deploy.md",
    "Deploy › Preview",
    "v1",
)
TOOLS = Passage(
    "Builds accept --keep-going, --no-cache and --verbose on the command line.",
    "build.md",
    "Build › Flags",
    "v1",
)
HR = Passage(
    "Payroll exports take --dry-zorblax, --dry-quindle or --dry-vexmoor as the format.",
    "hr.md",
    "Payroll › Exports",
    "v1",
    ("hr",),
)
HR_TOKENS = ("zorblax", "quindle", "vexmoor", "payroll", "exports")
OUTSIDER = Actor("slack", "UOUT")
HR_LEARNER = Actor("slack", "UHR")


def shown(*things) -> str:
    """Every piece of text a learner sees of these questions or outcomes."""
    parts: list[str] = []
    for thing in things:
        item = thing.item
        parts += [item.question, *item.options, item.explanation, item.passage.text]
        parts += [item.passage.source, item.passage.section]
    return "\n".join(parts).lower()


class _Shown:
    def __init__(self, item: QuizItem) -> None:
        self.item = item


def leaked(text: str) -> list[str]:
    return [t for t in HR_TOKENS if re.search(t, text)]


@pytest.fixture
def world(store):
    material = FakeMaterial([PUBLIC, TOOLS, HR])
    access = AccessRepository(store)
    access.grant("slack", "UHR", "hr")
    clock = Clock()
    service = LearningService(QuizRepository(store), access, material, questions=3, clock=clock)
    return service, material, clock


def run(coro):
    return asyncio.run(coro)


def take_quiz(service, actor, topic=""):
    """Answer every question of a new quiz (each right); what was shown to the learner."""
    seen = []
    question = run(service.start(actor, topic))
    while question is not None:
        seen.append(question)
        outcome = run(service.answer(actor, question.session_id, question.item.id, 0))
        seen.append(outcome)
        question = outcome.next
    return seen


# -- the rules ------------------------------------------------------------------------------
def test_distractors_come_only_from_material_the_passages_audience_may_see():
    assert cloze_items(PUBLIC, vocabulary_of([PUBLIC, HR])) == []  # only hr's would fit
    public_items = cloze_items(PUBLIC, vocabulary_of([PUBLIC, HR, TOOLS]))
    assert public_items and leaked(shown(*[_Shown(i) for i in public_items])) == []
    assert public_items[0].audiences == (("everyone",),)
    hr_items = cloze_items(HR, vocabulary_of([HR, PUBLIC, TOOLS]))
    assert hr_items  # hr's passage may borrow public options: everyone in hr sees them
    assert hr_items[0].audiences == (("hr",), ("everyone",))
    assert covers(("everyone",), ("hr",)) and not covers(("hr",), ("everyone",))
    assert covers(("hr", "eng"), ("hr",)) and not covers(("hr",), ("hr", "eng"))


def test_an_item_made_from_two_audiences_is_shown_only_to_those_in_both():
    hr_doc, eng_doc = Origin("hr", "v1", ("hr",)), Origin("eng", "v1", ("eng",))
    item = QuizItem("q", ("a", "b", "c", "d"), 0, "e", HR, sources=(hr_doc, eng_doc))
    live = {"hr": Live("v1", ("hr",)), "eng": Live("v1", ("eng",))}
    assert servable(item, {"hr", "eng"}, live, lambda p: True)
    assert not servable(item, {"hr"}, live, lambda p: True)
    assert not servable(item, {"eng"}, live, lambda p: True)


# -- path 1: distractors drawn from the first learner's material ------------------------------
def test_an_hr_learners_quiz_leaves_nothing_in_the_bank_that_leaks_to_others(world):
    service, _, _ = world
    hr_seen = take_quiz(service, HR_LEARNER)
    assert any("zorblax" in shown(s) for s in hr_seen)  # hr material is asked about, to hr
    try:
        outsider_seen = take_quiz(service, OUTSIDER)
    except NoMaterial:
        outsider_seen = []
    assert leaked(shown(*outsider_seen)) == []
    for item in service.repo.bank(("everyone",)):  # nothing public was built from hr terms
        assert not any(re.search(t, " ".join(item.options).lower()) for t in HR_TOKENS)


# -- path 2: a topic quiz banks its passages with their real audience -------------------------
def test_a_topic_quiz_banks_restricted_questions_for_their_audience_only(world):
    service, _, _ = world
    hr_seen = take_quiz(service, HR_LEARNER, topic="payroll")
    assert hr_seen and all(s.item.passage.audience == ("hr",) for s in hr_seen)
    with pytest.raises(NoMaterial):
        run(service.start(OUTSIDER, "payroll"))
    outsider_seen = take_quiz(service, OUTSIDER)
    assert outsider_seen and leaked(shown(*outsider_seen)) == []


# -- path 3: banked items and reviews follow the catalog -------------------------------------
@pytest.fixture
def reviewed(world):
    """An hr learner answered every question about hr's passage wrongly: all due soon."""
    service, material, clock = world
    question = run(service.start(HR_LEARNER))
    items = []
    while question is not None:
        items.append(question.item)
        wrong = (question.item.correct + 1) % 4
        question = run(service.answer(HR_LEARNER, question.session_id, question.item.id, wrong))
        question = question.next
    clock.now += timedelta(hours=1)
    hr_items = [i for i in items if i.passage.source == "hr.md"]
    assert hr_items
    return service, material, hr_items


def due_reviews(service, actor):
    learner = service.learners.learner_id(actor.platform, actor.user_id)
    return service.repo.due(learner, service.clock())


def test_a_deleted_document_is_no_longer_asked_reviewed_or_listed(reviewed):
    service, material, hr_items = reviewed
    material.all = [p for p in material.all if p.source != "hr.md"]
    before = len(due_reviews(service, HR_LEARNER))
    try:
        seen = take_quiz(service, HR_LEARNER)
    except NoMaterial:
        seen = []
    assert all(s.item.passage.source != "hr.md" for s in seen)
    assert len(due_reviews(service, HR_LEARNER)) < before  # dropped from the schedule
    assert not {i.id for i in hr_items} & set(due_reviews(service, HR_LEARNER))
    progress = run(service.progress(HR_LEARNER))
    assert all(t.source != "hr.md" for t in progress.topics + progress.plan)


def test_a_new_version_that_changed_the_passage_retires_its_items(reviewed):
    service, material, hr_items = reviewed
    changed = replace(HR, text=HR.text.replace("format", "export format"), version="v2")
    material.all = [p if p.source != "hr.md" else changed for p in material.all]
    question = run(service.start(HR_LEARNER))
    assert question.item.id not in {i.id for i in hr_items}


def test_a_new_version_that_kept_the_passage_keeps_its_reviews(reviewed):
    service, material, hr_items = reviewed
    material.all = [p if p.source != "hr.md" else replace(p, version="v2") for p in material.all]
    due = set(due_reviews(service, HR_LEARNER))
    assert {i.id for i in hr_items} <= due
    assert {i.id for i in hr_items} <= {s.item.id for s in take_quiz(service, HR_LEARNER)}


def test_a_narrowed_document_is_shown_only_to_its_new_audience(world):
    service, material, _ = world
    material.all = [PUBLIC, replace(PUBLIC, text="Use --force-push rarely.", source="git.md")]
    material.all.append(replace(PUBLIC, text="Use --no-verify never.", source="hooks.md"))
    material.all.append(replace(PUBLIC, text="Run with --timeout-secs set.", source="ci.md"))
    first = run(service.start(OUTSIDER))
    assert first.item.passage.source
    narrowed = [
        replace(p, audience=("hr",), version="v9") if p.source == "deploy.md" else p
        for p in material.all
    ]
    material.all = narrowed
    seen = []
    question = run(service.current(OUTSIDER))
    while question is not None:
        seen.append(question)
        question = run(service.answer(OUTSIDER, question.session_id, question.item.id, 0)).next
    assert all(s.item.passage.source != "deploy.md" for s in seen)
    progress = run(service.progress(OUTSIDER))
    assert all(t.source != "deploy.md" for t in progress.topics)


def test_an_answer_to_an_item_whose_document_went_is_stale_not_explained(world):
    service, material, _ = world
    question = run(service.start(HR_LEARNER, "payroll"))
    material.all = [PUBLIC]
    with pytest.raises(StaleQuestion):
        run(service.answer(HR_LEARNER, question.session_id, question.item.id, 0))


# -- items banked before the fix ---------------------------------------------------------------
def bank_legacy(store, item: QuizItem, audience: str) -> None:
    """A row as the code before provenance wrote it (sources NULL)."""
    with store.begin() as db:
        db.add(
            QuizItemRow(
                id=item.id,
                source=item.passage.source,
                section=item.passage.section,
                question=item.question,
                choices=list(item.options),
                answer=item.options[item.correct],
                explanation=item.explanation,
                audience=audience,
                passage=item.passage.text,
                doc_version=item.passage.version,
                origin=item.origin,
            )
        )


def test_legacy_items_are_rechecked_before_they_are_shown(world, store):
    service, _, _ = world
    leaky = QuizItem(  # a public cloze item whose distractors are hr's options
        "Fill in the blank: Run the deploy with _____ first.",
        ("--dry-run", "--dry-zorblax", "--dry-quindle", "--dry-vexmoor"),
        0,
        "The material says so.",
        PUBLIC,
    )
    public_hr = QuizItem(  # an hr question banked as public by the old topic quiz
        "Which format do payroll exports take?",
        ("--dry-zorblax", "--dry-run", "--keep", "--none"),
        0,
        "The material says so.",
        replace(HR, audience=("everyone",), version=""),
        origin="model",
    )
    fair = QuizItem(
        "What should the deploy be run with first?",
        ("--dry-run", "--fast", "--keep", "--none"),
        0,
        "The material says so.",
        PUBLIC,
        origin="model",
    )
    for item in (leaky, public_hr, fair):
        bank_legacy(store, item, "everyone")
    seen = take_quiz(service, OUTSIDER)
    assert {s.item.id for s in seen} == {fair.id}
    assert leaked(shown(*seen)) == []
    checked = service.repo.items([leaky.id, public_hr.id, fair.id])
    assert checked[leaky.id].sources == ()  # could not be placed: never shown again
    assert checked[public_hr.id].sources[0].audience == ("hr",)  # its real audience now
    assert checked[fair.id].sources == (PUBLIC.origin,)
    assert service.repo.unchecked([leaky.id, public_hr.id, fair.id]) == set()
    hr_seen = take_quiz(service, HR_LEARNER, "payroll")
    assert public_hr.id in {s.item.id for s in hr_seen}


def test_provenance_places_each_distractor_in_material_the_passage_audience_sees():
    item = QuizItem("q _____", ("--dry-run", "--a-b", "--c-d", "--e-f"), 0, "e", PUBLIC)
    public = Passage("Flags --a-b, --c-d and --e-f exist.", "flags.md", "Flags", "v3")
    assert provenance(item, [PUBLIC, public]) == (PUBLIC.origin, public.origin)
    restricted = replace(public, audience=("hr",))
    assert provenance(item, [PUBLIC, restricted]) == ()
