from retrieval.relevance import RelevancePolicy, is_relevant
from retrieval.types import RelevanceSignals

POLICY = RelevancePolicy(strong_similarity=0.6, min_similarity=0.4, max_rare_missing=0)


def signals(sim: float, rare: int = 0, names: int = 0) -> RelevanceSignals:
    words = tuple(f"w{i}" for i in range(rare))
    return RelevanceSignals(sim, words, words, words, tuple(f"Name{i}" for i in range(names)))


def test_strong_similarity_is_trusted_even_with_rare_unknown_words():
    assert is_relevant(signals(0.65, rare=2), POLICY)


def test_fair_similarity_needs_every_rare_word_in_the_material():
    assert is_relevant(signals(0.45), POLICY)
    assert not is_relevant(signals(0.45, rare=1), POLICY)
    assert is_relevant(signals(0.45, rare=1), RelevancePolicy(0.6, 0.4, max_rare_missing=1))


def test_weak_similarity_is_refused():
    assert not is_relevant(signals(0.39), POLICY)


def test_a_name_the_material_never_mentions_is_refused_however_similar():
    assert not is_relevant(signals(0.9, names=1), POLICY)
