"""The graph extractor the settings ask for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from retrieval.graph.extract import StructuralExtractor
from retrieval.graph.llm import CombinedExtractor, LLMExtractor
from retrieval.graph.model import DocumentGraph
from retrieval.settings import RetrievalSettings
from retrieval.types import Chunk, ParsedDocument


class Extractor(Protocol):
    def extract(self, doc: ParsedDocument, chunks: Sequence[Chunk]) -> DocumentGraph: ...


def extractor_from_settings(rs: RetrievalSettings) -> Extractor | None:
    """None when the graph is off; the structural extractor, with the LLM's merged in
    when LEARNLOOP_GRAPH_LLM_URL names a model server."""
    if getattr(rs, "graph", "structural") == "off":
        return None
    structural = StructuralExtractor()
    url = getattr(rs, "graph_llm_url", "")
    if not url:
        return structural
    import openai

    client = openai.OpenAI(base_url=url, api_key="unused", timeout=60.0, max_retries=1)
    return CombinedExtractor(structural, LLMExtractor(client, rs.graph_llm_model or "default"))
