"""Split sections into overlapping chunks that follow the document's structure."""

from __future__ import annotations

import re
from collections.abc import Iterable

from retrieval.types import Chunk, ParsedDocument, Piece

# Coarsest separator first: paragraphs, lines, sentences, words.
_SEPARATORS = (
    (r"\n\s*\n", "\n\n"),
    (r"\n", "\n"),
    (r"(?<=[.!?;:])\s+", " "),
    (r"\s+", " "),
)


def chunk_document(doc: ParsedDocument, size: int = 900, overlap: int = 150) -> list[Chunk]:
    """Chunks never straddle two sections; long sections split with `overlap` characters."""
    if overlap >= size:
        raise ValueError("overlap must be smaller than the chunk size")
    chunks: list[Chunk] = []
    for section in doc.sections:
        for text in split_text(section.text, size, overlap):
            chunks.append(Chunk(index=len(chunks), section=section.name, text=text))
    return chunks


def split_pieces(chunks: Iterable[Chunk], size: int = 300) -> list[Piece]:
    """Each chunk cut, without overlap, into pieces of at most `size` characters.

    A chunk is sized for reading (a passage an answer can quote); a piece for matching.
    The embedding model was trained on sentences and short paragraphs (MiniLM: 128
    tokens, ~500 characters): one vector for a whole chunk blurs its several options or
    steps into an average, and truncates a long chunk. Search ranks a chunk also by its
    best piece."""
    return [Piece(c.index, text) for c in chunks for text in split_text(c.text, size, 0)]


def split_text(text: str, size: int, overlap: int) -> list[str]:
    chunks: list[str] = []
    current: list[tuple[str, str]] = []  # (piece, the separator that followed it)
    length = 0
    for piece in _pieces(text.strip(), size, 0):
        if current and length + len(piece[0]) + 1 > size:
            chunks.append(_join(current))
            # carry whole trailing pieces into the next chunk as overlap
            carried: list[tuple[str, str]] = []
            carried_len = 0
            for prev in reversed(current):
                if carried_len + len(prev[0]) + 1 > overlap:
                    break
                carried.insert(0, prev)
                carried_len += len(prev[0]) + 1
            current, length = carried, carried_len
        current.append(piece)
        length += len(piece[0]) + 1
    if current:
        chunks.append(_join(current))
    return [c for c in chunks if c]


def _pieces(text: str, size: int, level: int, sep: str = "") -> Iterable[tuple[str, str]]:
    """Break text at the coarsest separator that gets every piece under `size`."""
    if len(text) <= size:
        yield text, sep
        return
    if level >= len(_SEPARATORS):  # a single unbroken token longer than a chunk: hard cut
        cuts = [text[i : i + size] for i in range(0, len(text), size)]
        yield from ((cut, sep if n == len(cuts) - 1 else "") for n, cut in enumerate(cuts))
        return
    pattern, joiner = _SEPARATORS[level]
    parts = [p.strip() for p in re.split(pattern, text)]
    parts = [p for p in parts if p]
    for n, part in enumerate(parts):
        yield from _pieces(part, size, level + 1, sep if n == len(parts) - 1 else joiner)


def _join(pieces: list[tuple[str, str]]) -> str:
    out = "".join(piece + (sep or " ") for piece, sep in pieces)
    return re.sub(r"[ \t]+", " ", out).strip()
