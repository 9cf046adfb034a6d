from itertools import pairwise

from retrieval.chunking import chunk_document, split_pieces, split_text
from retrieval.snapshot import _join_overlapping
from retrieval.types import Chunk, ParsedDocument, Section


def words(n: int, prefix: str = "w") -> str:
    return " ".join(f"{prefix}{i}." for i in range(n))


def test_short_sections_stay_whole_and_never_merge():
    doc = ParsedDocument("t", (Section(("A",), "alpha text"), Section(("A", "B"), "beta")))
    chunks = chunk_document(doc, size=100, overlap=20)
    assert [(c.section, c.text) for c in chunks] == [("A", "alpha text"), ("A › B", "beta")]
    assert [c.index for c in chunks] == [0, 1]


def test_long_text_respects_size_and_overlaps():
    text = words(300)
    parts = split_text(text, size=200, overlap=40)
    assert len(parts) > 5
    assert all(len(p) <= 200 for p in parts)
    for first, second in pairwise(parts):
        # the start of each chunk repeats the end of the previous one
        assert second.split()[0] in first.split()
    covered = set(" ".join(parts).split())
    assert covered == set(text.split())


def test_paragraphs_are_preferred_split_points():
    para_a, para_b = "a " * 60, "b " * 60
    parts = split_text(f"{para_a}\n\n{para_b}", size=150, overlap=0)
    assert parts == [para_a.strip(), para_b.strip()]


def test_unbroken_token_is_hard_cut():
    parts = split_text("x" * 250, size=100, overlap=10)
    assert [len(p) for p in parts] == [100, 100, 50]


def test_pieces_cut_each_chunk_without_overlap():
    chunks = [Chunk(0, "A", words(120)), Chunk(1, "B", "short")]
    pieces = split_pieces(chunks, size=100)
    assert {p.chunk for p in pieces} == {0, 1}
    assert all(len(p.text) <= 100 for p in pieces)
    assert " ".join(p.text for p in pieces if p.chunk == 0) == chunks[0].text
    assert [p.text for p in pieces if p.chunk == 1] == ["short"]


def test_a_passage_joins_overlapping_chunks_once():
    first, second = "alpha beta gamma delta epsilon zeta", "delta epsilon zeta eta theta"
    assert _join_overlapping(first, second) == "alpha beta gamma delta epsilon zeta eta theta"
    assert _join_overlapping("alpha beta", "gamma delta") == "alpha beta\ngamma delta"
    # a shared end shorter than 16 characters is a coincidence, not an overlap
    assert _join_overlapping("one two zeta", "zeta three") == "one two zeta\nzeta three"
