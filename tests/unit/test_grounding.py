"""The grounding rules on crafted passages: splitting, quoting and the sentence checker."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.domain.grounding import (
    GroundingPolicy,
    RememberingEmbedder,
    check_answer,
    check_sentences,
    passage_texts,
    pick_quotes,
    supported_text,
)
from bot.domain.sentences import (
    missing_units,
    name_units,
    names,
    negated,
    numbers,
    split_units,
    word_forms,
)
from tests.fakes import FakeEmbedder


@dataclass(frozen=True)
class Passage:
    source: str
    section: str
    text: str


REVERT = Passage(
    "git-revert.html",
    "Description",
    "git revert records a new commit that reverses the changes of an earlier commit. "
    "It is the safe way to undo a commit that is already pushed, because history is not "
    "rewritten.\n\nTo revert the last commit, run:\n\n```\ngit revert HEAD\n```",
)
HOOKS = Passage(
    "git-commit.html",
    "Options",
    "--no-verify\nThis option bypasses the pre-commit and commit-msg hooks.\n\n"
    "Unreachable commits are kept in the reflog for 30 days.",
)
EXPENSES = Passage(
    "expenses.md",
    "Claims",
    "Submit each claim within 30 days of the purchase. Receipts are required for every "
    "item over 25 EUR.\n\n- Meals with clients: attach the names of the guests.\n"
    "- Taxis: only after 22:00 or when carrying equipment.",
)
PASSAGES = (REVERT, HOOKS, EXPENSES)


def check(sentence: str, passages=PASSAGES):
    return check_sentences([sentence], passages, FakeEmbedder(dimension=512))[0]


# ---- splitting -----------------------------------------------------------------------


def test_code_blocks_are_never_split():
    text = (
        "Run this:\n\n```bash\ngit push --force-with-lease\necho done. Next step\n```\nThen stop."
    )
    units = split_units(text)
    assert "```bash\ngit push --force-with-lease\necho done. Next step\n```" in units
    assert units[0] == "Run this:" and units[-1] == "Then stop."


def test_command_lines_and_indented_code_stay_whole():
    units = split_units(
        "To revert:\n\n    git revert HEAD~3\n    git push\n\ngit log --oneline -n 5"
    )
    assert units == ["To revert:", "    git revert HEAD~3\n    git push", "git log --oneline -n 5"]


def test_list_items_are_kept_whole_even_across_lines():
    units = split_units("Rules:\n\n- One item spans\n  two lines. Still the item.\n- Second.")
    assert units == ["Rules:", "- One item spans two lines. Still the item.", "- Second."]


def test_sentences_split_but_not_at_abbreviations_inline_code_or_versions():
    units = split_units("Use `os.path.join` e.g. for paths. It needs v2.3 or later. Done!")
    assert units == ["Use `os.path.join` e.g. for paths.", "It needs v2.3 or later.", "Done!"]


def test_a_citation_after_the_full_stop_stays_with_its_sentence():
    assert split_units("First claim. [1] Second claim [2].") == [
        "First claim.[1]",
        "Second claim [2].",
    ]


# ---- the facts a sentence states ----------------------------------------------------


def test_numbers_are_normalised_and_citations_are_not_numbers():
    assert numbers("Keep three receipts for 30 days [2]") == {"3", "30"}


def test_ordinals_are_positions_not_counts():
    assert numbers("From the fourth day on") == {"4th"} == numbers("from the 4th day on")
    assert numbers("the first 3 days, then the 3rd week") == {"3", "3rd"}
    assert numbers("the 11th, 22nd and 13th") == {"11th", "22nd", "13th"}


SICK = Passage(
    "leave-policy.md",
    "Sick leave",
    "You do not need a doctor's note for the first 3 days of an illness. From the fourth "
    "day on, upload a doctor's note to HR Hub.",
)


def test_an_ordinal_the_passage_does_not_give_is_not_supported():
    # "third" is not backed by "3 days" nearby: the passage says the fourth day
    verdict = check("You need a doctor's note from the third day on.", (SICK,))
    assert not verdict.supported and verdict.reason == "number"
    assert check("Upload a doctor's note to HR Hub from the fourth day on.", (SICK,)).supported


def test_negation_ignores_asides_in_brackets():
    assert negated("You cannot push.") and negated("It doesn't rewrite history.")
    assert not negated("The tree must be clean (no modifications).")


def test_names_are_options_commands_identifiers_and_proper_names():
    found = names("Run git reset --hard, then set core.excludesFile in GitHub and ask Okta.")
    assert {"git reset", "--hard", "core.excludesfile", "github", "okta"} <= found
    assert "run" not in found  # a capital that only starts the sentence


def test_multi_word_names_are_units():
    assert name_units('How does the Git Sync Daemon treat "travel desk" bookings?') == [
        "travel desk",
        "Git Sync Daemon",
    ]
    material = ["git can sync a branch. A daemon runs in the background."]
    assert missing_units("What does the Git Sync Daemon do?", material) == ["Git Sync Daemon"]
    assert missing_units("How do Expense Portals work?", ["Log in to the Expense Portal."]) == []


def test_word_forms_match_a_prefix_or_suffix_away():
    assert "instal" in word_forms("reinstalling")
    assert "stage" in word_forms("unstaged")


# ---- the checker: the crafted cases of the issue -------------------------------------


def test_a_paraphrase_is_supported_and_cites_its_passage():
    verdict = check("Commits that are unreachable stay in the reflog for 30 days.")
    assert verdict.supported and verdict.passage == 1


def test_a_changed_number_is_not_supported():
    verdict = check("Unreachable commits are kept in the reflog for 60 days.")
    assert not verdict.supported and verdict.reason == "number"


def test_a_number_word_matches_its_digits():
    assert check("Submit each claim within thirty days of the purchase.").supported
    assert not check("Submit each claim within sixty days of the purchase.").supported


def test_a_negation_is_not_supported():
    verdict = check("Receipts are not required for items over 25 EUR.")
    assert not verdict.supported and verdict.reason == "negation"


def test_a_wrong_option_name_is_not_supported():
    verdict = check("The --skip-hooks option bypasses the pre-commit and commit-msg hooks.")
    assert not verdict.supported and verdict.reason == "name"
    assert check("The --no-verify option bypasses the pre-commit and commit-msg hooks.").supported


def test_a_wrong_command_is_not_supported():
    verdict = check(
        "git reset records a new commit that reverses the changes of an earlier commit."
    )
    assert not verdict.supported and verdict.reason == "name"


def test_a_sentence_about_something_else_is_dropped():
    verdict = check("Git was written by Linus Torvalds in 2005.")
    assert not verdict.supported and verdict.passage is None


def test_code_is_supported_only_verbatim():
    assert check("```\ngit revert HEAD\n```").supported
    assert not check("```\ngit revert HEAD~2\n```").supported


def test_a_wrong_citation_is_moved_to_the_passage_that_backs_the_sentence():
    verdicts = check_answer(
        "Unreachable commits are kept in the reflog for 30 days [1]. Bananas are yellow [2].",
        PASSAGES,
        FakeEmbedder(dimension=512),
    )
    assert [v.cited for v in verdicts] == [(1,), (2,)]
    assert supported_text(verdicts) == "Unreachable commits are kept in the reflog for 30 days. [2]"


def test_thresholds_decide_the_borderline():
    sentence = "Unreachable commits stay for 30 days."  # "stay" is in no passage
    loose = GroundingPolicy(min_overlap=0.4, min_similarity=0.4)
    assert check_sentences([sentence], PASSAGES, FakeEmbedder(512), loose)[0].supported
    strict = GroundingPolicy(min_overlap=0.9, min_similarity=0.4)
    verdict = check_sentences([sentence], PASSAGES, FakeEmbedder(512), strict)[0]
    assert not verdict.supported and verdict.reason == "overlap"


def test_short_options_are_whole_names_and_keep_their_case():
    clean = Passage("git-clean.html", "Options", "-X\nRemove only files ignored by Git.")
    assert check("With -X, git clean removes only files ignored by Git.", (clean,)).supported
    assert not check("With -x, git clean removes only files ignored by Git.", (clean,)).supported
    # -n is not inside --no-verify
    assert check("--no-verify bypasses the pre-commit and commit-msg hooks.").supported
    assert check("-n bypasses the pre-commit and commit-msg hooks.").reason == "name"


def test_an_option_spelled_in_its_name_is_not_a_negation():
    hooks = Passage("git-commit.html", "Options", "--[no-]verify\nThe hooks are run by default.")
    assert check("The hooks are run by default.", (hooks,)).supported


def test_one_embedding_call_per_answer():
    embedder = FakeEmbedder(dimension=512)
    check_answer(
        "Receipts are required. Taxis need equipment. Hooks are bypassed.", PASSAGES, embedder
    )
    assert embedder.calls == 1


# ---- quotes -------------------------------------------------------------------------


def test_quotes_answer_the_question_with_source_and_section():
    quotes = pick_quotes(
        "how do I undo a commit that is already pushed?", PASSAGES, FakeEmbedder(512)
    )
    assert 1 <= len(quotes) <= 3
    assert quotes[0].source == "git-revert.html" and quotes[0].section == "Description"
    assert "already pushed" in quotes[0].text


def test_quotes_are_whole_list_items_and_carry_the_command_they_introduce():
    quotes = pick_quotes("can I take a taxi after 22:00?", PASSAGES, FakeEmbedder(512))
    assert quotes[0].text == "- Taxis: only after 22:00 or when carrying equipment."
    run = pick_quotes("what do I run to revert the last commit?", PASSAGES, FakeEmbedder(512))
    assert any(q.text == "To revert the last commit, run:\n```\ngit revert HEAD\n```" for q in run)


def test_quotes_are_diverse():
    twice = Passage("a.md", "", "Receipts are required for every item.")
    quotes = pick_quotes("are receipts required?", (twice, twice), FakeEmbedder(512))
    assert len({q.text for q in quotes}) == len(quotes) == 1


@pytest.mark.parametrize("passages", [(), (Passage("a.md", "", "   "),)])
def test_no_material_gives_no_quotes(passages):
    assert pick_quotes("anything?", passages, FakeEmbedder(512)) == ()


# ---- remembering passage vectors ----------------------------------------------------


class RecordingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__(dimension=512)
        self.texts: list[str] = []

    def embed(self, texts):
        self.texts += texts
        return super().embed(texts)


def test_remembering_embeds_only_the_model_sentences_once_warmed():
    inner = RecordingEmbedder()
    remembering = RememberingEmbedder(inner, size=100, learn=False)
    remembering.warm(passage_texts(PASSAGES))
    inner.texts.clear()
    answer = "Commits that are unreachable stay in the reflog for 30 days."
    verdicts = check_answer(answer, PASSAGES, remembering)
    assert verdicts == check_answer(answer, PASSAGES, FakeEmbedder(dimension=512))
    assert inner.texts == [answer]
    check_answer(answer, PASSAGES, remembering)
    assert inner.texts == [answer, answer]  # learn=False: the model's text is not kept


def test_remembering_is_bounded():
    remembering = RememberingEmbedder(FakeEmbedder(dimension=8), size=2)
    remembering.embed(["a", "b", "c"])
    remembering.warm(["d"])
    assert len(remembering._vectors) == 2
