import numpy as np

from retrieval.keyword import (
    KeywordIndex,
    TermCounts,
    Vocabulary,
    content_terms,
    named_terms,
    tokenize,
)


def test_exact_identifiers_survive_whole_with_their_parts():
    tokens = tokenize("Call json.dumps, pass --verbose, then os.path.join; see __init__")
    for whole in ("json.dumps", "--verbose", "os.path.join", "__init__"):
        assert whole in tokens
    assert "dump" in tokens and "json" in tokens and "join" in tokens


def test_short_options_and_hyphenated_names():
    tokens = tokenize("Use -n with git cherry-pick or --force-with-lease")
    assert {"-n", "cherry-pick", "--force-with-lease"} <= set(tokens)


TEXTS = [
    "Serialize objects with json.dumps and read them back with json.loads.",
    "The dumps of the old database are kept for a month.",
    "Run the tool with --verbose to see every step it takes.",
    "A verbose explanation of how the tool works, step by step.",
    "Build paths portably with os.path.join instead of string concatenation.",
    "Join the team channel and follow the path to onboarding.",
]


def test_exact_name_queries_rank_the_exact_passage_first():
    index = KeywordIndex(TEXTS, [["everyone"]] * len(TEXTS))
    everyone = index.mask(["everyone"])
    assert index.search("json.dumps", 3, everyone)[0][0] == 0
    assert index.search("--verbose", 3, everyone)[0][0] == 2
    assert index.search("os.path.join", 3, everyone)[0][0] == 4
    # the bare word still finds both passages that use it
    assert {row for row, _ in index.search("dumps", 5, everyone)} == {0, 1}


def test_audience_mask_hides_rows_and_their_words():
    index = KeywordIndex(["salary bands for engineers", "holiday calendar"], [["hr"], ["everyone"]])
    everyone = index.mask(["everyone"])
    assert index.search("salary bands", 5, everyone) == []
    assert index.search("salary bands", 5, index.mask(["everyone", "hr"]))[0][0] == 0
    assert index.missing(["salari"], everyone) == ["salari"]
    assert index.missing(["salari"], index.mask(["hr"])) == []
    assert np.array_equal(index.mask(None), np.array([True, True]))


def test_content_terms_drop_question_words_and_stem():
    assert content_terms("How do I use the --amend option to change commits?") == {
        "--amend": "--amend",
        "amend": "amend",
        "chang": "change",
        "commit": "commits",
    }


def test_named_terms_are_names_not_sentence_starts():
    assert named_terms("How do I open a pull request on GitHub? Does it work with VPN?") == {
        "github": "GitHub",
        "vpn": "VPN",
    }
    assert named_terms("Where is our Docker registry") == {"docker": "Docker"}
    assert named_terms("Stash my changes. Then pop them.") == {}


def test_exact_ranks_rows_by_identifiers_matched():
    index = KeywordIndex(TEXTS, [["everyone"]] * len(TEXTS))
    assert set(index.exact("json.dumps or os.path.join?", 5, index.mask(None))) == {0, 4}
    both = KeywordIndex(["json.dumps here", "json.dumps and os.path.join here"], [["a"], ["a"]])
    assert both.exact("json.dumps with os.path.join", 5, both.mask(None)) == [1, 0]
    assert index.exact("plain words only", 5, index.mask(None)) == []


def test_an_index_stacked_from_kept_counts_scores_as_one_built_afresh():
    """A refresh stacks each document's counted terms, including counts made when other,
    since deleted, documents were in the vocabulary: the scores must not notice."""
    vocab = Vocabulary()
    gone = TermCounts.of([tokenize("a retired page about fax machines")], vocab)
    parts = [TermCounts.of([tokenize(t)], vocab) for t in TEXTS]
    assert len(vocab) > 0 and gone.terms.size
    stacked = KeywordIndex.from_counts(parts[::-1], [["everyone"]] * len(TEXTS), vocab)
    fresh = KeywordIndex(TEXTS[::-1], [["everyone"]] * len(TEXTS))
    for query in ("json.dumps", "verbose step", "path join", "fax"):
        a, b = stacked.scores(query, stacked.mask(None)), fresh.scores(query, fresh.mask(None))
        assert (a is None) == (b is None) == (query == "fax")
        if a is not None:
            assert np.allclose(a, b) and a.max() > 0


def test_bm25_prefers_the_rarer_term_and_the_shorter_row():
    index = KeywordIndex(
        ["rebase rebase merge", "merge merge merge", "merge", "merge " + "filler " * 30],
        [["everyone"]] * 4,
    )
    scores = index.scores("rebase merge", index.mask(None))
    assert scores is not None
    assert scores.argmax() == 0  # the only row with the rare term
    assert scores[2] > scores[3] > 0  # the same term once: the shorter row scores higher


def test_a_term_newer_than_the_index_is_not_in_it():
    vocab = Vocabulary()
    index = KeywordIndex.from_counts([TermCounts.of([["merg"]], vocab)], [["everyone"]], vocab)
    TermCounts.of([["rebas"]], vocab)  # a later snapshot counts a new document's terms
    assert index.scores("rebase", index.mask(None)) is None
    assert index.missing(["rebas", "merg"], index.mask(None)) == ["rebas"]
