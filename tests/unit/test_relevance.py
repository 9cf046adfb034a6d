from retrieval.relevance import RelevancePolicy, is_relevant
from retrieval.types import RelevanceSignals

POLICY = RelevancePolicy(strong_similarity=0.6, min_similarity=0.4, max_missing_ratio=0.2)


def signals(sim: float, terms: int, missing: int) -> RelevanceSignals:
    names = tuple(f"t{i}" for i in range(terms))
    return RelevanceSignals(sim, names, names[:missing])


def test_strong_similarity_is_trusted_even_with_unknown_words():
    assert is_relevant(signals(0.65, 3, 3), POLICY)


def test_fair_similarity_needs_the_topic_words_in_the_material():
    assert is_relevant(signals(0.45, 5, 1), POLICY)
    assert not is_relevant(signals(0.45, 5, 2), POLICY)


def test_weak_similarity_is_refused():
    assert not is_relevant(signals(0.39, 4, 0), POLICY)


def test_missing_ratio_of_a_question_without_topic_words_is_zero():
    assert signals(0.5, 0, 0).missing_ratio == 0.0
